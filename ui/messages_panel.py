"""The messages panel (M): what imports and bank runs did, item by item, newest run first. A row per bad
file with its reason, per duplicate by name, per item a bank closed on its own; the reason wraps in
full, the full path or id is on hover. It only shows what moderator.result_messages built on a worker."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from moderator.clock import parse_iso
from moderator.result_messages import MessageKind, ResultMessage

COLUMNS = ("What", "Item", "Why")  # when: the run's summary row says, every row's hover too
KIND_WORDS = {MessageKind.BAD: "not imported", MessageKind.DUPLICATE: "duplicate",
              MessageKind.BANK_CLOSED: "closed by a bank", MessageKind.SUMMARY: "summary"}
KIND_COLOURS = {MessageKind.BAD: "#ff8a7a", MessageKind.DUPLICATE: "#e0b050",
                MessageKind.BANK_CLOSED: "#7fd3f0", MessageKind.SUMMARY: "#aab2bc"}
MAX_ROWS = 5_000  # the oldest runs' rows go first; a shift's imports fit many times over


class MessagesPanel(QWidget):
    def __init__(self, key: str = "M", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messagesPanel")
        self.title = QLabel(f"Messages · import and bank results ({key} hides)")
        self.title.setObjectName("panelTitle")
        self.title.setWordWrap(True)  # never widens the window (1024 px)
        self.title.setMinimumWidth(120)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.clear_button)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        for col, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Interactive,
                                    QHeaderView.ResizeMode.Stretch)):
            header.setSectionResizeMode(col, mode)
        header.resizeSection(1, 150)  # a long name elides in the middle (full on hover); the reason wraps
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.empty = QLabel("No messages yet: an import or a bank run lists its results here.")
        self.empty.setObjectName("hint")
        self.empty.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addLayout(head)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self.table.hide()
        self.setMinimumHeight(160)
        self.hide()

    def add(self, messages: Sequence[ResultMessage]) -> None:
        """A run's messages, on top (newest run first, in the run's order within it)."""
        if not messages:
            return
        self.table.setUpdatesEnabled(False)
        try:
            for n, m in enumerate(messages):
                self.table.insertRow(n)
                self._fill(n, m)
            while self.table.rowCount() > MAX_ROWS:
                self.table.removeRow(self.table.rowCount() - 1)
        finally:
            self.table.setUpdatesEnabled(True)
        self.table.show()
        self.empty.hide()

    def clear(self) -> None:
        self.table.setRowCount(0)
        self.table.hide()
        self.empty.show()

    def toggle(self) -> None:
        self.setVisible(not self.isVisible())

    def rows(self) -> list[tuple[str, ...]]:
        """Every row's cells as shown (what a test or a copy reads)."""
        return [tuple(self.table.item(r, c).text() for c in range(len(COLUMNS))) for r in range(self.table.rowCount())]

    def _fill(self, row: int, m: ResultMessage) -> None:
        when = parse_iso(m.at).astimezone().strftime("%H:%M:%S")
        text = f"{m.text} (at {when})" if m.kind is MessageKind.SUMMARY else m.text
        cells = (KIND_WORDS[m.kind], m.subject, text)
        for col, value in enumerate(cells):
            cell = QTableWidgetItem(value)
            cell.setToolTip(f"{m.detail or m.subject}\n{when}" if col == 1 else f"{value}\n{when}")
            cell.setData(Qt.ItemDataRole.UserRole, m.kind.value)
            if col == 0:
                cell.setForeground(_brush(KIND_COLOURS[m.kind]))
            self.table.setItem(row, col, cell)


def _brush(colour: str) -> QBrush:
    return QBrush(QColor(colour))
