"""The `?` sheet: every shortcut of the desk, listed from the DeskAction registry and the same keymap the
shortcuts are made from (moderator.keymap.bindings), so a rebound key shows as bound."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from moderator.keymap import Binding


class HelpDialog(QDialog):
    def __init__(self, bindings: list[Binding], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(bindings), 2, self)
        self.table.setHorizontalHeaderLabels(["Keys", "What it does"])
        self.table.verticalHeader().hide()
        for row, b in enumerate(bindings):
            self.table.setItem(row, 0, QTableWidgetItem(" / ".join(b.keys)))
            self.table.setItem(row, 1, QTableWidgetItem(b.description))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        self.resize(600, 40 + 30 * (len(bindings) + 1))
