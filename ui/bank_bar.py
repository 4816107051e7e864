"""The add-to-bank bar: B opens it for the item just decided, Enter adds its hashes, Esc cancels."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from moderator.domain import Bank
from ui.fields import BarField


class AddToBankBar(QWidget):
    submitted = Signal(str, str, str)  # item id, bank name, label
    closed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("bankBar")
        self.what = QLabel()
        self.banks = QComboBox()
        self.label = BarField()
        self.label.setPlaceholderText("label (Enter adds, Esc cancels)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.what)
        layout.addWidget(self.banks)
        layout.addWidget(self.label, 1)
        self.label.returnPressed.connect(self._on_label_return)
        self.label.cancelled.connect(self.close_bar)
        self._item_id = ""
        self.hide()

    def open_bar(self, item_id: str, title: str, label: str, banks: list[Bank]) -> None:
        self._item_id = item_id
        self.what.setText(f"Add {title} to bank:")
        self.banks.clear()
        block_first = sorted(banks, key=lambda b: (b.kind.value != "block", b.name))
        for bank in block_first:
            self.banks.addItem(f"{bank.name} ({bank.kind.value}, {bank.signal_type}, {bank.entries})", bank.name)
        self.label.setText(label)
        self.show()
        self.label.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def close_bar(self) -> None:
        self.hide()
        self.closed.emit()

    def _on_label_return(self) -> None:
        bank = self.banks.currentData()
        if bank:
            self.hide()
            self.submitted.emit(self._item_id, bank, self.label.text().strip())
            self.closed.emit()
