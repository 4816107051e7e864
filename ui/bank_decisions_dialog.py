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

from moderator.clock import parse_iso


def local_time(stamp: str) -> str:
    """A stored UTC time in the moderator's own zone, to the second: what a person compares with a clock."""
    try:
        return parse_iso(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


COLUMNS = ("Item", "Closed by", "Label", "Action", "When", "Evidence")
# Names can be any length (a bank called after its source, a 200-character external id): the name
# columns start at these widths and elide in the middle, the evidence takes the rest and elides at its
# end; every cell's full text is on hover. Action and the (local) time fit their contents.
WIDTHS = {0: 170, 1: 170, 2: 110}


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
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for col in range(len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive if col in WIDTHS else
                                        QHeaderView.ResizeMode.ResizeToContents)
        for col, width in WIDTHS.items():
            header.resizeSection(col, width)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.reopen_button = QPushButton("Reopen selected")
        self.reopen_button.clicked.connect(self._on_reopen_clicked)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.table)
        layout.addWidget(self.reopen_button, 0, Qt.AlignmentFlag.AlignRight)
        self.resize(960, 420)

    def show_rows(self, rows: list[dict]) -> None:
        self.table.setRowCount(len(rows))
        for n, r in enumerate(rows):
            values = (r["item_title"], r["actor"], ", ".join(json.loads(r["labels"])), r["action"],
                      local_time(r["decided_at"]), r["note"] or "")
            tips = (f"{r['item_title']}\nitem {r['item_id']}", r["actor"], values[2], values[3],
                    f"{values[4]} (your time)\n{r['decided_at']} (UTC, as stored)", r["note"] or "no evidence recorded")
            for col, value in enumerate(values):
                cell = QTableWidgetItem(" ".join(value.split()) if col == len(COLUMNS) - 1 else value)
                cell.setData(Qt.ItemDataRole.UserRole, r["item_id"])
                cell.setToolTip(tips[col])
                self.table.setItem(n, col, cell)
        self.reopen_button.setEnabled(bool(rows))
        if rows:
            self.table.selectRow(0)

    def cell_text(self, row: int, col: int) -> tuple[str, str]:
        """(shown text, hover text) of a cell, for tests and screen readers alike."""
        cell = self.table.item(row, col)
        return cell.text(), cell.toolTip()

    def _on_reopen_clicked(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.reopen_requested.emit(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole))
