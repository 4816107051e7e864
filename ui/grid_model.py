"""The grid's list model: one row per tile, over the same open queue the list shows.

It reads the reviewer's QueueState (the shared queue) and follows the shared QueueModel: when that
model changes (a write's Changes applied, a full read accepted), the tiles are recomputed from the
state in one pass (moderator.grid_view) and replayed as row removals and insertions, so a batch of
1,000 decisions is one resync, not a re-read, and the view keeps its selection and scroll. While the
grid is hidden it only notes that it is stale: the single viewer's keys never pay for it.

Items a grid batch labelled are remembered (the Item, dimmed by its new status, and the label) from
the moment the batch is saved, so a status filter that shows decided items keeps their tiles in
place; an item that is open again (undone) is shown as the open item it is and forgotten here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal

from moderator.domain import Item, ItemStatus
from moderator.grid_view import GridRows, GridView, InsertRows, RemoveRows, grid_rows, row_steps, with_decided
from moderator.queue_state import QueueState
from ui.queue_model import ItemIdRole, ItemRole, QueueModel

MAX_STEPS = 200  # more row steps than this in one resync: a reset instead
MembersRole = Qt.ItemDataRole.UserRole + 20  # the item ids a tile stands for (a family: several)
DecidedRole = Qt.ItemDataRole.UserRole + 21  # the label a decided tile's item was given here, else None

_DISPLAY = Qt.ItemDataRole.DisplayRole
_ANSWERED = frozenset(int(r) for r in (_DISPLAY, Qt.ItemDataRole.ToolTipRole, ItemRole, ItemIdRole, MembersRole,
                                       DecidedRole))


class GridModel(QAbstractListModel):
    resynced = Signal()  # the tiles match the queue again

    def __init__(self, queue: QueueState, source: QueueModel, parent=None):
        super().__init__(parent)
        self._queue = queue
        self.view = GridView()
        self.family_of: Mapping[str, str] = {}
        self._ids: list[str] = []  # the tiles, in order
        self._members: Mapping[str, tuple[str, ...]] = {}
        self._items: dict[str, Item] = {}  # the Item each tile was last shown with
        self._decided: dict[str, tuple[Item, str]] = {}  # labelled here: (the Item as decided, the label)
        self._expected: dict[str, tuple[Item, str]] = {}  # saved, not yet out of the queue
        self.active = False  # resync only while the grid is on screen
        self._stale = True
        self._timer = QTimer(self)  # one resync for all the rows one apply touched
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.resync)
        for signal in (source.rowsInserted, source.rowsRemoved, source.dataChanged, source.modelReset,
                       source.layoutChanged):
            signal.connect(self._on_source_changed)

    # -- what it shows ------------------------------------------------------------------------
    def set_queue(self, queue: QueueState) -> None:
        self._queue = queue
        self._on_source_changed()

    def set_view(self, view: GridView) -> None:
        self.view = view
        self.resync()

    def set_families(self, family_of: Mapping[str, str]) -> None:
        self.family_of = family_of
        if self.view.families:
            self.resync()

    def set_active(self, active: bool) -> None:
        self.active = active
        if active and self._stale:
            self.resync()

    @property
    def rows(self) -> GridRows:
        return GridRows(tuple(self._ids), self._members)

    def item_at(self, row: int) -> Item | None:
        return self._items.get(self._ids[row]) if 0 <= row < len(self._ids) else None

    def note_decided(self, item_ids: Sequence[str], label: str, status: ItemStatus) -> None:
        """A batch labelling these items was saved: those that then leave the queue are decided tiles."""
        for item_id in item_ids:
            item = self._queue.get(item_id)
            if item is not None:
                self._expected[item_id] = (replace(item, status=status), label)

    def decided_count(self) -> int:
        """Decided tiles among those shown."""
        return sum(1 for i in self._ids if i in self._decided)

    def decided_label(self, item_id: str) -> str | None:
        entry = self._decided.get(item_id)
        return entry[1] if entry else None

    def queue_item(self, item_id: str) -> Item | None:
        """Any open item, a tile or a family member."""
        return self._queue.get(item_id)

    def members_at(self, row: int) -> tuple[str, ...]:
        tile = self._ids[row]
        return self._members.get(tile, (tile,))

    def row_of(self, item_id: str) -> int | None:
        """The row of the tile that shows `item_id` (its own, or its family's)."""
        for tile, members in self._members.items():
            if item_id in members:
                item_id = tile
                break
        try:
            return self._ids.index(item_id)
        except ValueError:
            return None

    def covered(self, rows: list[int]) -> list[str]:
        """The open items the tiles at `rows` stand for (families whole), in grid order: only items
        still in the queue (a tile may outlive its item by one event-loop turn)."""
        out: list[str] = []
        for r in sorted(rows):
            if 0 <= r < len(self._ids):
                out.extend(self.members_at(r))
        return [i for i in out if self._queue.get(i) is not None]

    # -- keeping up with the queue --------------------------------------------------------------
    def _on_source_changed(self, *_args) -> None:
        self._stale = True
        if self.active:
            self._timer.start()

    def resync(self) -> None:
        """Recompute the tiles from the queue and replay the difference onto the view."""
        self._timer.stop()
        self._stale = False
        self._settle_decided()
        items = self._queue.items
        if self.view.shows_decided and self._decided:
            items = with_decided(items, [item for item, _ in self._decided.values()], self._queue.key)
        new = grid_rows(items, self.view, self.family_of)
        old_members, self._members = self._members, new.members
        steps = row_steps(self._ids, new.ids)
        if len(steps) > MAX_STEPS:  # scattered changes everywhere: one reset costs less than each step
            self.beginResetModel()
            self._ids = list(new.ids)
            self._items = {i: self._get(i) for i in self._ids}
            self.endResetModel()
        else:
            self._replay(steps)
            self._changed_tiles(old_members)
        self.resynced.emit()

    def _settle_decided(self) -> None:
        """The saved batch's items that left the queue are decided now; items open again are not."""
        for item_id, entry in self._expected.items():
            if self._queue.get(item_id) is None:
                self._decided[item_id] = entry
        self._expected = {}
        for item_id in [i for i in self._decided if self._queue.get(i) is not None]:
            del self._decided[item_id]  # undone: back in the queue as the open item it is

    def _get(self, item_id: str) -> Item | None:
        item = self._queue.get(item_id)
        if item is None and item_id in self._decided:
            return self._decided[item_id][0]
        return item

    def _replay(self, steps) -> None:
        for step in steps:
            if isinstance(step, RemoveRows):
                self.beginRemoveRows(QModelIndex(), step.first, step.last)
                del self._ids[step.first : step.last + 1]
                self.endRemoveRows()
            elif isinstance(step, InsertRows):
                self.beginInsertRows(QModelIndex(), step.row, step.row + len(step.ids) - 1)
                self._ids[step.row : step.row] = step.ids
                for item_id in step.ids:
                    self._items[item_id] = self._get(item_id)
                self.endInsertRows()

    def _changed_tiles(self, old_members) -> None:
        """dataChanged for each run of tiles whose item (or family) changed; forget the rest."""
        items, changed = {}, []
        for row, item_id in enumerate(self._ids):
            now = self._get(item_id)
            items[item_id] = now
            if now is not self._items.get(item_id) or self._members.get(item_id) != old_members.get(item_id):
                changed.append(row)
        self._items = items
        first = last = None
        for row in changed + [None]:
            if row is not None and last is not None and row == last + 1:
                last = row
                continue
            if first is not None:
                self.dataChanged.emit(self.index(first), self.index(last))
            first = last = row

    # -- Qt -----------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY):
        if role not in _ANSWERED or not index.isValid():
            return None
        item = self.item_at(index.row())
        if item is None:
            return None
        if role == ItemRole:
            return item
        if role == ItemIdRole:
            return item.id
        if role == MembersRole:
            return self._members.get(item.id, (item.id,))
        if role == DecidedRole:
            return self.decided_label(item.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            n = len(self._members.get(item.id, ()))
            return f"a family of {n} near-duplicates" if n else None
        return item.external_id or item.source_name or item.id[:8]

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
