"""The open queue in memory: the ordered items every view shows, kept in step by applying Changes.

`queue_key` is the order storage.items.QUEUE_ORDER gives in SQL, as a pure function (a test checks
they agree). A write's Changes move, insert or remove only the rows they name; a full re-read
(import, bank routing, an explicit refresh) is a Snapshot carrying the version it was read at, and a
snapshot older than changes applied since is refused, so a stale read never undoes a newer decision.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from moderator.domain import Changes, Item, ItemChange, ItemField, ItemStatus

OPEN = frozenset({ItemStatus.PENDING, ItemStatus.SKIPPED})
QueueKey = tuple


def queue_key(item: Item) -> QueueKey:
    """Sorts like QUEUE_ORDER: pending before skipped, higher priority, due soonest (undated last),
    reported earliest, imported earliest, then id. SQL sorts NULL first, hence (x is not None, x)."""
    reported = item.reported_at if item.reported_at is not None else item.imported_at
    return (item.status is not ItemStatus.PENDING, -item.priority, item.sla_due_at is None, item.sla_due_at or "",
            reported is not None, reported or "", item.imported_at is not None, item.imported_at or "", item.id)


@dataclass(frozen=True)
class Remove:
    row: int


@dataclass(frozen=True)
class Insert:
    row: int
    item: Item


@dataclass(frozen=True)
class Update:
    """The item stays in its row; `fields` changed (what a view re-renders)."""

    row: int
    item: Item
    fields: frozenset[ItemField]


Step = Remove | Insert | Update


@dataclass(frozen=True)
class QueueDelta:
    """What one apply did, as steps that are valid in order (each row counts the steps before it)."""

    steps: tuple[Step, ...]
    version: int  # the state's version after these steps


@dataclass(frozen=True)
class Snapshot:
    """A full read of the open queue, in queue order, and the state version it was read at."""

    items: tuple[Item, ...]
    keys: tuple[QueueKey, ...]
    version: int


class QueueState:
    """The ordered open items and a version bumped by every apply and every accepted snapshot.

    Mutated on one thread (the desk's GUI thread); `read` runs on a worker and only reads `version`.
    """

    def __init__(self, items: Iterable[Item] = ()):
        ordered = sorted(items, key=queue_key)
        self._items: list[Item] = ordered
        self._keys: list[QueueKey] = [queue_key(i) for i in ordered]
        self._by_id: dict[str, Item] = {i.id: i for i in ordered}
        self.version = 0
        self.reads = 0  # full reads of the stored queue, counted: a decision must cause none
        self._reads_lock = threading.Lock()

    # -- reads --------------------------------------------------------------------------------
    @property
    def items(self) -> list[Item]:
        """The open items in queue order (do not mutate: apply Changes instead)."""
        return self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, item_id: str) -> Item | None:
        return self._by_id.get(item_id)

    def row_of(self, item_id: str) -> int | None:
        item = self._by_id.get(item_id)
        return None if item is None else bisect_left(self._keys, queue_key(item))

    def read(self, fetch: Callable[[], list[Item]]) -> Snapshot:
        """Read the whole stored queue with `fetch` (on a worker), tagged with the version it saw first:
        a change applied after that may be missing from the read, so `load` will refuse it."""
        version = self.version
        with self._reads_lock:
            self.reads += 1
        items = tuple(fetch())
        return Snapshot(items, tuple(queue_key(i) for i in items), version)

    # -- writes -------------------------------------------------------------------------------
    def load(self, snapshot: Snapshot) -> bool:
        """Take a full read unless changes were applied since it began; True when taken."""
        if snapshot.version != self.version:
            return False
        self._items, self._keys = list(snapshot.items), list(snapshot.keys)
        self._by_id = {i.id: i for i in snapshot.items}
        self.version += 1
        return True

    @staticmethod
    def rows_to_read(changes: Changes) -> tuple[str, ...]:
        """The items whose stored row `apply` needs: those open after the op (one may have just come
        back, e.g. by undo, or have fields the Changes name without their values)."""
        return tuple(c.item_id for c in changes.item_changes if c.status in OPEN or _needs_row(c))

    def apply(self, changes: Changes, rows: Mapping[str, Item] | None = None) -> QueueDelta:
        """Move, insert or remove the items `changes` name; `rows` holds the stored rows of
        rows_to_read(changes). Idempotent: applying the same Changes twice changes nothing more."""
        rows = rows or {}
        steps: list[Step] = []
        for change in changes.item_changes:
            steps.extend(self._apply_one(change, rows.get(change.item_id)))
        self.version += 1
        return QueueDelta(tuple(steps), self.version)

    def _apply_one(self, change: ItemChange, row: Item | None) -> list[Step]:
        old = self._by_id.get(change.item_id)
        new = self._updated(change, old, row)
        if new is None or new.status not in OPEN:
            return [self._remove(old)] if old is not None else []
        if old is None:
            return [self._insert(new)]
        at, key = self.row_of(old.id), queue_key(new)
        to = bisect_left(self._keys, key)
        to -= to > at  # counted without the item's own row
        if to == at:
            self._items[at], self._keys[at], self._by_id[new.id] = new, key, new
            return [Update(at, new, change.fields)] if new != old else []
        return [self._remove(old), self._insert(new)]

    @staticmethod
    def _updated(change: ItemChange, old: Item | None, row: Item | None) -> Item | None:
        if row is not None:
            return row if change.status is None else replace(row, status=change.status)
        if old is None:
            return None  # not open before, and no row to show it by: it cannot enter the queue
        return old if change.status is None else replace(old, status=change.status)

    def _remove(self, item: Item) -> Remove:
        at = self.row_of(item.id)
        del self._items[at], self._keys[at]
        del self._by_id[item.id]
        return Remove(at)

    def _insert(self, item: Item) -> Insert:
        key = queue_key(item)
        at = bisect_left(self._keys, key)
        self._items.insert(at, item)
        self._keys.insert(at, key)
        self._by_id[item.id] = item
        return Insert(at, item)


def _needs_row(change: ItemChange) -> bool:
    """Priority, suggested label and matches are named without their new values: only the stored row has them."""
    return bool(change.fields & {ItemField.PRIORITY, ItemField.SUGGESTED_LABEL, ItemField.MATCHES})
