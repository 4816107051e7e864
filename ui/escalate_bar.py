"""The escalation note bar: E opens it, Enter escalates with the note, Esc cancels."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ui.fields import BarField


class EscalateBar(QWidget):
    submitted = Signal(str)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("escalateBar")
        self.edit = BarField(self)
        self.edit.setPlaceholderText("Why escalate? (Enter to escalate, Esc to cancel)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(QLabel("Escalate:"))
        layout.addWidget(self.edit, 1)
        self.edit.returnPressed.connect(self._on_edit_return)
        self.edit.cancelled.connect(self.close_bar)
        self.hide()

    def open_bar(self) -> None:
        self.edit.clear()
        self.show()
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def close_bar(self) -> None:
        self.hide()
        self.closed.emit()

    def _on_edit_return(self) -> None:
        note = self.edit.text().strip()
        if not note:
            self.edit.setPlaceholderText("A note is required to escalate (Esc to cancel)")
            return
        self.hide()
        self.submitted.emit(note)
        self.closed.emit()
