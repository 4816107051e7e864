"""Items that banks closed on their own: a moderator sees them here and can reopen any of them."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

COLUMNS = ("Item", "Closed by", "Label", "Action", "When", "Evidence")


class BankDecisionsDialog(QDialog):
    reopen_requested = Signal(str)  # item id

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Closed by banks")
        self.info = QLabel("Items a bank decided without a person. Reopen puts one back in the queue "
                           "(an undo row supersedes the bank's decision).")
        self.info.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.reopen_button = QPushButton("Reopen selected")
        self.reopen_button.clicked.connect(self._on_reopen_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.table)
        layout.addWidget(self.reopen_button, 0, Qt.AlignmentFlag.AlignRight)
        self.resize(820, 420)

    def show_rows(self, rows: list[dict]) -> None:
        self.table.setRowCount(len(rows))
        for n, r in enumerate(rows):
            values = (r["item_title"], r["actor"], ", ".join(json.loads(r["labels"])), r["action"],
                      r["decided_at"], r["note"] or "")
            for col, value in enumerate(values):
                cell = QTableWidgetItem(value)
                cell.setData(Qt.ItemDataRole.UserRole, r["item_id"])
                self.table.setItem(n, col, cell)
        self.reopen_button.setEnabled(bool(rows))
        if rows:
            self.table.selectRow(0)

    def _on_reopen_clicked(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.reopen_requested.emit(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole))
