"""What the grid shows of the open queue: a filter, a sort, near-duplicate families folded into one
tile each, and the row steps that turn one such list into the next. Pure functions, no Qt, no I/O.

The rows are item ids in display order; a family's tile is its first member in that order. The grid
model (ui/grid_model.py) recomputes the rows from the shared QueueState after the reviewer applied a
write's Changes and replays `row_steps` onto the view, so selections and scroll survive a batch.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from moderator.clock import parse_iso, utc_now
from moderator.decision_log import OPEN
from moderator.domain import Item, ItemStatus

ANY, NONE = "any", "none"
SOON_S = 3600  # "due soon": within the hour (the queue list colours the same rows)

# Status: ANY is every open item (pending or skipped). The two last choices show the items labelled
# in this grid too, dimmed, in their queue place: with the open ones, or alone.
WITH_DECIDED, DECIDED = "open + decided", "decided"
STATUS_CHOICES = (ANY, "pending", "skipped", WITH_DECIDED, DECIDED)
MATCH_CHOICES = (ANY, "matched", "unmatched")
SLA_CHOICES = (ANY, "overdue", "due soon", "on time", "no SLA")
SORTS = ("queue", "SLA", "category", "label", "match", "status")


def sla_state(sla_due_at: str | None, now: datetime | None = None) -> str:
    """"overdue", "due soon" (within the hour), "on time", or "no SLA"."""
    if not sla_due_at:
        return "no SLA"
    seconds = (parse_iso(sla_due_at) - (now or utc_now())).total_seconds()
    return "overdue" if seconds < 0 else "due soon" if seconds < SOON_S else "on time"


@dataclass(frozen=True)
class GridView:
    """The grid's filter (each field: ANY, or a value the item must have) and its sort."""

    status: str = ANY
    label: str = ANY  # the label a bank match suggests; NONE: no suggestion
    match: str = ANY
    category: str = ANY  # NONE: no category hint
    sla: str = ANY
    sort: str = "queue"
    families: bool = False  # fold near-duplicates into one tile

    @property
    def filtered(self) -> bool:
        return any(v != ANY for v in (self.status, self.label, self.match, self.category, self.sla))

    @property
    def shows_decided(self) -> bool:
        return self.status in (WITH_DECIDED, DECIDED)

    def accepts(self, item: Item, now: datetime) -> bool:
        return (_status_is(self.status, item.status)
                and _is(self.label, item.suggested_label)
                and _is(self.match, "matched" if item.match_badges else "unmatched")
                and _is(self.category, item.category)
                and _is(self.sla, sla_state(item.sla_due_at, now)))


def _is(wanted: str, value: str | None) -> bool:
    return wanted == ANY or (value or NONE) == wanted


def _status_is(wanted: str, status: ItemStatus) -> bool:
    if wanted == ANY:
        return status in OPEN
    if wanted == WITH_DECIDED:
        return True
    if wanted == DECIDED:
        return status not in OPEN
    return status.value == wanted


def with_decided(open_items: Sequence[Item], decided: Sequence[Item], key: Callable[[Item], tuple]) -> list[Item]:
    """The open items (in queue order, sorted by `key`) with the decided ones each in the place its
    queue key gives it, as if it had stayed in the queue."""
    return list(heapq.merge(open_items, sorted(decided, key=key), key=key))


def _sort_key(sort: str) -> Callable[[Item], tuple]:
    """A key that sorts on `sort` first; ties keep the queue's own order (the sort is stable)."""
    if sort == "SLA":
        return lambda i: (i.sla_due_at is None, i.sla_due_at or "")
    if sort == "category":
        return lambda i: (i.category is None, i.category or "")
    if sort == "label":
        return lambda i: (i.suggested_label is None, i.suggested_label or "")
    if sort == "match":
        return lambda i: (not i.match_badges,)
    if sort == "status":
        return lambda i: (i.status is not ItemStatus.PENDING,)
    if sort == "queue":
        return lambda i: ()
    raise ValueError(f"unknown sort {sort!r} (known: {', '.join(SORTS)})")


@dataclass(frozen=True)
class GridRows:
    """The grid's tiles in order, and the members of every tile that stands for a family of several."""

    ids: tuple[str, ...]
    members: Mapping[str, tuple[str, ...]]

    def covered(self, tile_ids: Sequence[str]) -> list[str]:
        """Every item the tiles stand for, in order: a family's tile brings its whole family."""
        out: list[str] = []
        for tile in tile_ids:
            out.extend(self.members.get(tile, (tile,)))
        return out


def grid_rows(items: Sequence[Item], view: GridView, family_of: Mapping[str, str] | None = None,
              now: datetime | None = None) -> GridRows:
    """The tiles for `items` (in queue order) under `view`; with view.families, items sharing a
    family id in `family_of` are one tile (their first in display order), counted in `members`."""
    now = now or utc_now()
    shown = [i for i in items if view.accepts(i, now)] if view.filtered else [i for i in items if i.status in OPEN]
    if view.sort != "queue":
        shown.sort(key=_sort_key(view.sort))
    if not view.families or not family_of:
        return GridRows(tuple(i.id for i in shown), {})
    first_of: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    ids: list[str] = []
    for item in shown:  # a decided item is never folded: its tile shows how it was labelled
        family = family_of.get(item.id, item.id) if item.status in OPEN else item.id
        tile = first_of.setdefault(family, item.id)
        if tile == item.id:
            ids.append(item.id)
        groups.setdefault(tile, []).append(item.id)
    return GridRows(tuple(ids), {t: tuple(m) for t, m in groups.items() if len(m) > 1})


# -- row steps ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemoveRows:
    first: int
    last: int


@dataclass(frozen=True)
class InsertRows:
    row: int
    ids: tuple[str, ...]


def row_steps(old: Sequence[str], new: Sequence[str]) -> list[RemoveRows | InsertRows]:
    """Steps that turn `old` into `new`, valid in order (each row counts the steps before it): runs
    of removals from the bottom up, then runs of insertions from the top down. The rows kept are the
    longest run of `old` already in `new`'s order, so one moved item is one removal and one insert."""
    if list(old) == list(new):
        return []
    at = {item_id: n for n, item_id in enumerate(new)}
    common = [r for r, i in enumerate(old) if i in at]
    positions = [at[old[r]] for r in common]
    if all(a < b for a, b in zip(positions, positions[1:], strict=False)):
        kept = set(common)  # the usual case (a batch left, an undo came back): nothing moved
    else:
        kept = _longest_increasing(common, [at.get(i, -1) for i in old])
    steps: list[RemoveRows | InsertRows] = []
    gone = [r for r in range(len(old)) if r not in kept]  # ascending
    for first, last in reversed(_runs(gone)):
        steps.append(RemoveRows(first, last))
    kept_ids = {old[r] for r in kept}
    added = [n for n, item_id in enumerate(new) if item_id not in kept_ids]
    for first, last in _runs(added):
        steps.append(InsertRows(first, tuple(new[first : last + 1])))
    return steps


def _longest_increasing(candidates: list[int], positions: list[int]) -> set[int]:
    """The rows (of `candidates`) of a longest run whose `positions` increase (patience sorting)."""
    tails: list[int] = []  # positions
    tail_rows: list[int] = []
    back: dict[int, int | None] = {}
    for row in candidates:
        p = positions[row]
        k = bisect_left(tails, p)
        back[row] = tail_rows[k - 1] if k else None
        if k == len(tails):
            tails.append(p)
            tail_rows.append(row)
        else:
            tails[k], tail_rows[k] = p, row
    out: set[int] = set()
    row = tail_rows[-1] if tail_rows else None
    while row is not None:
        out.add(row)
        row = back[row]
    return out


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Ascending rows as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][1] == r - 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs
