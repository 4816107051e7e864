"""The one queue model every view shares (the list now, the grid next): a table over the open items.

It holds its own rows and replays the QueueDelta of moderator.queue_state onto them (row removals
and insertions, dataChanged naming the roles that changed), or resets on an accepted full read. The
reviewer applies changes to the state first and to this model a moment later, after the next
picture is on screen: a repaint paints every widget with pending changes, and the list can wait.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from moderator.clock import parse_iso, utc_now
from moderator.domain import Item, ItemField
from moderator.queue_state import Insert, QueueDelta, Remove, Update

ItemRole = Qt.ItemDataRole.UserRole + 1  # the Item
ItemIdRole = Qt.ItemDataRole.UserRole + 2
StatusRole = Qt.ItemDataRole.UserRole + 3  # ItemStatus
SuggestedLabelRole = Qt.ItemDataRole.UserRole + 4

COLUMNS = ("Due", "P", "Kind", "Category", "Match", "Item")
PRIORITY_COLUMN, KIND_COLUMN, MATCH_COLUMN = 1, 2, 4
OVERDUE = QColor("#e74c3c")
MATCHED = QColor("#ff6b6b")
SOON = QColor("#f39c12")
BREACHED_ROW = QColor("#4a1f1f")  # the background of an overdue row: pinned on top, the breach colour

_DISPLAY = Qt.ItemDataRole.DisplayRole
# What a view re-renders when a field changes (the Item itself changes with every field).
ROLES_FOR_FIELD = {
    ItemField.STATUS: (_DISPLAY, StatusRole),  # the Kind column says "·skipped"
    ItemField.STANDING: (),
    ItemField.PRIORITY: (_DISPLAY,),
    ItemField.SUGGESTED_LABEL: (SuggestedLabelRole,),
}


_ANSWERED = frozenset(int(r) for r in (_DISPLAY, Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole,
                                        Qt.ItemDataRole.BackgroundRole, ItemRole, ItemIdRole, StatusRole,
                                        SuggestedLabelRole))


def roles_for(fields) -> list[int]:
    roles = {ItemRole}.union(*(ROLES_FOR_FIELD[f] for f in fields))
    return sorted(int(r) for r in roles)


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
        self.version = 0  # the QueueState version these rows show

    # -- changes ------------------------------------------------------------------------------
    def reset(self, items: list[Item], version: int) -> None:
        """Show a full read (accepted by the QueueState at `version`)."""
        self.beginResetModel()
        self._items = list(items)
        self.version = version
        self.endResetModel()

    def apply(self, delta: QueueDelta) -> None:
        """Replay one apply's steps, in order, each inside its begin/end pair."""
        if delta.version != self.version + 1:  # steps count rows of the state one version back
            raise RuntimeError(f"queue delta {delta.version} does not follow the rows shown ({self.version})")
        for step in delta.steps:
            if isinstance(step, Remove):
                self.beginRemoveRows(QModelIndex(), step.row, step.row)
                del self._items[step.row]
                self.endRemoveRows()
            elif isinstance(step, Insert):
                self.beginInsertRows(QModelIndex(), step.row, step.row)
                self._items.insert(step.row, step.item)
                self.endInsertRows()
            elif isinstance(step, Update):
                self._items[step.row] = step.item
                self.dataChanged.emit(self.index(step.row, 0), self.index(step.row, len(COLUMNS) - 1),
                                      roles_for(step.fields))
        self.version = delta.version

    # -- Qt -----------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY):
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY):
        # A view asks each cell for a dozen roles per paint: the ones never answered return first.
        if role not in _ANSWERED or not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item, column = self._items[index.row()], index.column()
        if role == _DISPLAY:
            return _display(item, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _due_colour(item.sla_due_at) if column == 0 and item.sla_due_at else \
                MATCHED if column == MATCH_COLUMN else None
        if role == Qt.ItemDataRole.BackgroundRole:
            return BREACHED_ROW if item.sla_due_at and is_breached(item.sla_due_at) else None
        if role == Qt.ItemDataRole.ToolTipRole and column == MATCH_COLUMN and item.match_badges:
            return "\n".join(item.match_badges)
        if role == Qt.ItemDataRole.ToolTipRole and column == 0 and item.sla_due_at:
            return f"Due {item.sla_due_at} UTC" + (" — breached: pinned on top" if is_breached(item.sla_due_at) else "")
        return _user_role(item, role)


def _user_role(item: Item, role: int):
    if role == ItemRole:
        return item
    if role == ItemIdRole:
        return item.id
    if role == StatusRole:
        return item.status
    if role == SuggestedLabelRole:
        return item.suggested_label
    return None


def _display(item: Item, column: int) -> str:
    if column == 0:
        return due_text(item.sla_due_at)
    if column == PRIORITY_COLUMN:
        return str(item.priority)
    if column == KIND_COLUMN:
        return item.kind.value + (" ·skipped" if item.status.value == "skipped" else "")
    if column == 3:
        return item.category or ""
    if column == MATCH_COLUMN:
        return _short(f"● {item.match_badges[0].split(':')[0]}") if item.match_badges else ""
    return item.external_id or item.source_name or item.id[:8]


def is_breached(sla_due_at: str) -> bool:
    return parse_iso(sla_due_at) < utc_now()


def _due_colour(sla_due_at: str) -> QColor | None:
    seconds = (parse_iso(sla_due_at) - utc_now()).total_seconds()
    if seconds < 0:
        return OVERDUE
    return SOON if seconds < 3600 else None
