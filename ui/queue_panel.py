"""The queue: a table model over the ordered pending items, and the panel that shows it."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from moderator.clock import parse_iso, utc_now
from moderator.domain import Item

ItemRole = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Due", "P", "Kind", "Category", "Match", "Item")
MATCH_COLUMN = 4
OVERDUE = QColor("#e74c3c")
MATCHED = QColor("#ff6b6b")
SOON = QColor("#f39c12")


def due_text(sla_due_at: str | None, now: datetime | None = None) -> str:
    if not sla_due_at:
        return "—"
    seconds = (parse_iso(sla_due_at) - (now or utc_now())).total_seconds()
    span = _span(abs(seconds))
    return f"overdue {span}" if seconds < 0 else f"in {span}"


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h{minutes % 60:02d}"
    return f"{minutes // 1440}d"


def _short(text: str, width: int = 14) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class QueueModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._items: list[Item] = []

    def set_items(self, items: list[Item]) -> bool:
        """Show `items`; when they are the current rows less a few, remove just those rows.

        Returns True when the model was reset (so views re-measure their columns).
        """
        keep = {i.id for i in items}
        if len(items) < len(self._items) and [i for i in self._items if i.id in keep] == list(items):
            for row in reversed(range(len(self._items))):
                if self._items[row].id not in keep:
                    self.beginRemoveRows(QModelIndex(), row, row)
                    del self._items[row]
                    self.endRemoveRows()
            return False
        self.beginResetModel()
        self._items = list(items)
        self.endResetModel()
        return True

    def item_at(self, row: int) -> Item:
        return self._items[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0 and item.sla_due_at:
            return self._due_colour(item.sla_due_at)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == MATCH_COLUMN:
            return MATCHED
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == MATCH_COLUMN and item.match_badges:
            return "\n".join(item.match_badges)
        if role == ItemRole:
            return item
        return None

    @staticmethod
    def _display(item: Item, column: int) -> str:
        values = (
            due_text(item.sla_due_at),
            str(item.priority),
            item.kind.value + (" ·skipped" if item.status.value == "skipped" else ""),
            item.category or "",
            _short(f"● {item.match_badges[0].split(':')[0]}") if item.match_badges else "",
            item.external_id or item.source_name or item.id[:8],
        )
        return values[column]

    @staticmethod
    def _due_colour(sla_due_at: str) -> QColor | None:
        seconds = (parse_iso(sla_due_at) - utc_now()).total_seconds()
        if seconds < 0:
            return OVERDUE
        return SOON if seconds < 3600 else None


class QueuePanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = QueueModel(self)
        self.title = QLabel("Queue")
        self.title.setObjectName("panelTitle")
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        header = self.view.horizontalHeader()
        # Measured once per reset, not on every change: ResizeToContents re-reads every row.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setWordWrap(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view)

    def show_items(self, items: list[Item], current: int) -> None:
        if self.model.set_items(items) and len(items) <= 2000:
            self.view.resizeColumnsToContents()
            header = self.view.horizontalHeader()
            for col in range(self.model.columnCount() - 1):  # the last column takes what is left
                header.resizeSection(col, min(header.sectionSize(col), 104))
        self.title.setText(f"Queue · {len(items)} open")
        self.select(current)

    def select(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.view.selectRow(row)
            self.view.scrollTo(self.model.index(row, 0))
        else:
            self.view.clearSelection()
