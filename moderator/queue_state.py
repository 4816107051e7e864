"""The open queue in memory: the ordered items every view shows, kept in step by applying Changes.

`queue_key` is the order storage.items.QUEUE_ORDER gives in SQL, as a pure function (a test checks
they agree), with one thing SQL leaves to the desk: items overdue at the state's `pinned_before`
are pinned on top (most overdue first), re-pinned as time passes (repin). A skip does not move an
item: it is hidden from this desk for a while (`hidden`) and comes back in its place, never behind
items due later than it. A write's Changes move, insert or remove only the rows they name; a full re-read
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


def queue_key(item: Item, pinned_before: str | None = None) -> QueueKey:
    """Sorts like QUEUE_ORDER: higher priority, due soonest (undated last), reported earliest,
    imported earliest, then id (SQL sorts NULL first, hence (x is not None, x)); pending and skipped
    alike. With `pinned_before` (ISO UTC), items due before it come first, soonest due first."""
    reported = item.reported_at if item.reported_at is not None else item.imported_at
    pinned = is_overdue(item, pinned_before)
    return (not pinned, item.sla_due_at if pinned else "", -item.priority, item.sla_due_at is None,
            item.sla_due_at or "", reported is not None, reported or "", item.imported_at is not None,
            item.imported_at or "", item.id)


def is_overdue(item: Item, at: str | None) -> bool:
    """Due before `at` (ISO UTC, as stored): the item has breached its SLA by then."""
    return at is not None and item.sla_due_at is not None and item.sla_due_at < at


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
    hidden: Mapping[str, str] | None = None  # skipped items hidden now -> until when; None: not read


class QueueState:
    """The ordered open items and a version bumped by every apply and every accepted snapshot.

    Mutated on one thread (the desk's GUI thread); `read` runs on a worker and only reads `version`.
    """

    def __init__(self, items: Iterable[Item] = (), pinned_before: str | None = None):
        self.pinned_before = pinned_before  # overdue at this time (ISO UTC): pinned on top; None: no pins
        ordered = sorted(items, key=self.key)
        self._items: list[Item] = ordered
        self._keys: list[QueueKey] = [self.key(i) for i in ordered]
        self._by_id: dict[str, Item] = {i.id: i for i in ordered}
        self.hidden: dict[str, str] = {}  # skipped: hidden from this desk until (ISO UTC)
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

    def key(self, item: Item) -> QueueKey:
        return queue_key(item, self.pinned_before)

    def row_of(self, item_id: str) -> int | None:
        item = self._by_id.get(item_id)
        return None if item is None else bisect_left(self._keys, self.key(item))

    def top_after(self, item_id: str | None) -> Item | None:
        """The most urgent open item once `item_id` has left: where the desk goes after a decision."""
        return next((i for i in self._items[:2] if i.id != item_id), None)

    def read(self, fetch: Callable[[], list[Item]], fetch_hidden: Callable[[], Mapping[str, str]] | None = None
             ) -> Snapshot:
        """Read the whole stored queue with `fetch` (on a worker), tagged with the version it saw first:
        a change applied after that may be missing from the read, so `load` will refuse it. Sorted
        here: SQL knows the order but not the pins."""
        version = self.version
        with self._reads_lock:
            self.reads += 1
        hidden = dict(fetch_hidden()) if fetch_hidden is not None else None
        items = tuple(i for i in fetch() if hidden is None or i.id not in hidden)
        keys = [self.key(i) for i in items]
        if any(a > b for a, b in zip(keys, keys[1:], strict=False)):  # pins moved some: sort (rare)
            order = sorted(range(len(items)), key=keys.__getitem__)
            items, keys = tuple(items[n] for n in order), [keys[n] for n in order]
        return Snapshot(items, tuple(keys), version, hidden)

    # -- writes -------------------------------------------------------------------------------
    def load(self, snapshot: Snapshot) -> bool:
        """Take a full read unless changes were applied since it began; True when taken."""
        if snapshot.version != self.version:
            return False
        self._items, self._keys = list(snapshot.items), list(snapshot.keys)
        self._by_id = {i.id: i for i in snapshot.items}
        if snapshot.hidden is not None:
            self.hidden = dict(snapshot.hidden)
        self.version += 1
        return True

    def hide(self, item_id: str, until: str) -> QueueDelta:
        """A skip: the item leaves this desk's queue until `until`; its stored place is unchanged."""
        self.hidden[item_id] = until
        item = self._by_id.get(item_id)
        steps = (self._remove(item),) if item is not None else ()
        self.version += 1
        return QueueDelta(steps, self.version)

    def due_back(self, now: str) -> list[str]:
        """The hidden items whose time is up at `now`: no longer hidden; the caller reads their rows
        and applies them (they come back in their place)."""
        back = [i for i, until in self.hidden.items() if until <= now]
        for item_id in back:
            del self.hidden[item_id]
        return back

    def repin(self, now: str) -> QueueDelta | None:
        """Move the items that became overdue by `now` to the top (as time passes, nothing else moves);
        None, and no new version, when none did."""
        moved = [i for i in self._items if is_overdue(i, now) != is_overdue(i, self.pinned_before)]
        if not moved:
            self.pinned_before = now  # the keys of every item are unchanged
            return None
        steps: list[Step] = [self._remove(i) for i in moved]  # found by their old keys
        self.pinned_before = now
        steps += [self._insert(i) for i in moved]
        self.version += 1
        return QueueDelta(tuple(steps), self.version)

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
        if new is None or new.status not in OPEN or change.item_id in self.hidden:
            return [self._remove(old)] if old is not None else []
        if old is None:
            return [self._insert(new)]
        at, key = self.row_of(old.id), self.key(new)
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
        key = self.key(item)
        at = bisect_left(self._keys, key)
        self._items.insert(at, item)
        self._keys.insert(at, key)
        self._by_id[item.id] = item
        return Insert(at, item)


def _needs_row(change: ItemChange) -> bool:
    """Priority, suggested label and matches are named without their new values: only the stored row has them."""
    return bool(change.fields & {ItemField.PRIORITY, ItemField.SUGGESTED_LABEL, ItemField.MATCHES})
