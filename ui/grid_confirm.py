"""The question a large or severe grid batch asks first (the rule: moderator.batch_confirm). Enter
labels, Esc cancels; the window's own keys are asleep while it is open (it is window-modal)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget


class BatchConfirm(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("batchConfirm")
        self.setWindowTitle("Label these items?")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.ok = self.buttons.addButton("Label them", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.ok.setDefault(True)  # Enter; QDialog's Esc is reject
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.buttons)
        self._on_yes: Callable[[], None] | None = None
        self.finished.connect(self._on_finished)

    def ask(self, question: str, reason: str, on_yes: Callable[[], None]) -> None:
        self.text.setText(f"{question}\n\nAsked because: {reason}.\nEnter labels them, Esc cancels.")
        self._on_yes = on_yes
        self.ok.setFocus()
        self.open()

    def _on_finished(self, result: int) -> None:
        on_yes, self._on_yes = self._on_yes, None
        if result == QDialog.DialogCode.Accepted and on_yes is not None:
            on_yes()
