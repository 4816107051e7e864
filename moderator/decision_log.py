"""The decision log's rules, pure (no SQLite, no Qt): which row is an item's standing decision, what one
undo covers, and what a new row must be before it is appended. Storage, the desk and the hub replay
with these same functions; docs/DECISIONS.md states the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from moderator.domain import (
    Action,
    Changes,
    Decision,
    DecisionSource,
    ItemChange,
    ItemField,
    ItemStatus,
)

STATUS_FOR_ACTION = {
    Action.ALLOW: ItemStatus.DECIDED,
    Action.REMOVE: ItemStatus.DECIDED,
    Action.AGE_RESTRICT: ItemStatus.DECIDED,
    Action.ESCALATE: ItemStatus.ESCALATED,
}
OPEN = frozenset({ItemStatus.PENDING, ItemStatus.SKIPPED})


class DecisionLogError(ValueError):
    """A row the log refuses (nothing of its batch is written)."""


# -- the replay -------------------------------------------------------------------------------------
def is_resolution(d: Decision) -> bool:
    """A QA row that explicitly replaces the decision standing when it was written (it `supersedes` it)."""
    return d.source is DecisionSource.QA and d.action is not Action.UNDO and d.supersedes is not None


def can_stand(d: Decision) -> bool:
    """Whether a row may be an item's standing decision: never an undo, never a QA judgement; a QA
    resolution may."""
    if d.action is Action.UNDO:
        return False
    return d.source is not DecisionSource.QA or is_resolution(d)


def standing(history: Iterable[Decision]) -> Decision | None:
    """One item's rows in log order -> its standing decision: the latest row that can stand and that
    no later undo supersedes (the same as a stack where a decision pushes and an undo removes its
    target). None when nothing stands."""
    undone: set[str] = set()
    for d in reversed(list(history)):
        if d.action is Action.UNDO:
            if d.supersedes:
                undone.add(d.supersedes)
        elif can_stand(d) and d.uuid not in undone:
            return d
    return None


def standing_by_item(history: Iterable[Decision]) -> dict[str, Decision]:
    """Every item's standing decision, from rows of many items in log order (items with none left out)."""
    per_item: dict[str, list[Decision]] = {}
    for d in history:
        per_item.setdefault(d.item_id, []).append(d)
    found = {item_id: standing(rows) for item_id, rows in per_item.items()}
    return {item_id: d for item_id, d in found.items() if d is not None}


def undone(history: Iterable[Decision]) -> set[str]:
    """The uuids an undo row supersedes."""
    return {d.supersedes for d in history if d.action is Action.UNDO and d.supersedes}


def last_undoable(history: Sequence[Decision], actor: str) -> Decision | None:
    """The actor's latest row that is not an undo and that no undo has superseded yet (QA judgements
    included: an analyst undoes their own). `history` must hold the undo rows of the actor's rows."""
    gone = undone(history)
    return next((d for d in reversed(history)
                 if d.actor == actor and d.action is not Action.UNDO and d.uuid not in gone), None)


def undo_set(history: Sequence[Decision], target: Decision) -> list[Decision]:
    """What undoing `target` supersedes: the target alone, or, for a batch, every member of its batch
    (same batch id and actor) not undone yet, in log order."""
    if target.batch_id is None:
        return [target]
    gone = undone(history)
    return [d for d in history if d.batch_id == target.batch_id and d.actor == target.actor
            and d.action is not Action.UNDO and d.uuid not in gone]


def undo_of(target: Decision, *, uuid: str, actor: str, decided_at: str, policy_version: str,
            batch_id: str | None = None) -> Decision:
    """The row that supersedes `target`: same item, source and qa_of, no labels."""
    return Decision(uuid=uuid, item_id=target.item_id, labels=(), action=Action.UNDO, actor=actor,
                    decided_at=decided_at, policy_version=policy_version, source=target.source,
                    batch_id=batch_id, supersedes=target.uuid, qa_of=target.qa_of)


def status_for(current: Decision | None) -> ItemStatus:
    """The status an item's standing decision gives it (pending when nothing stands)."""
    return STATUS_FOR_ACTION[current.action] if current is not None else ItemStatus.PENDING


# -- appending --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """What appending `rows` does: the rows as they will be stored (supersedes filled in), the status to
    write for each item whose standing decision changed, and the Changes."""

    rows: tuple[Decision, ...]
    statuses: dict[str, ItemStatus]
    changes: Changes


def plan(history: Sequence[Decision], new: Sequence[Decision], statuses: Mapping[str, ItemStatus]) -> Plan:
    """Check `new` (one row, or a batch sharing a batch_id) against `history` (every row of the items
    concerned, in log order) and fill in what the log decides: a moderation row supersedes the item's
    standing decision. `statuses`: each item's status now. Raises DecisionLogError."""
    if not new:
        raise DecisionLogError("nothing to append")
    if len(new) > 1 and (len({d.batch_id for d in new}) != 1 or new[0].batch_id is None):
        raise DecisionLogError("the rows of one append must share one batch_id")
    per_item: dict[str, list[Decision]] = {d.item_id: [] for d in new}
    for d in history:
        per_item.setdefault(d.item_id, []).append(d)
    before = {item_id: standing(rows) for item_id, rows in per_item.items()}
    seen = {d.uuid for d in history}
    written: list[Decision] = []
    for d in new:
        if d.uuid in seen:
            raise DecisionLogError(f"decision {d.uuid} is already in the log")
        d = _checked(d, per_item[d.item_id])
        per_item[d.item_id].append(d)
        written.append(d)
        seen.add(d.uuid)
    return _outcome(per_item, written, before, statuses)


def _checked(d: Decision, item_rows: list[Decision]) -> Decision:
    if (d.source is DecisionSource.QA) != (d.qa_of is not None):
        raise DecisionLogError(f"decision {d.uuid}: a QA row, and only a QA row, names the decision it "
                               "re-reviews (qa_of)")
    if d.action is Action.UNDO:
        target = _latest_with_uuid(item_rows, d.supersedes)
        if target is None or target.action is Action.UNDO:
            raise DecisionLogError(f"undo {d.uuid}: {d.supersedes!r} is no decision on item {d.item_id}")
        if target.uuid in undone(item_rows):
            raise DecisionLogError(f"undo {d.uuid}: decision {target.uuid} is already undone")
        return d
    current = standing(item_rows)
    if d.source is not DecisionSource.QA:  # replace() only when it changes something (~8 us a row)
        return d if d.supersedes is not None or current is None else replace(d, supersedes=current.uuid)
    reviewed = _latest_with_uuid(item_rows, d.qa_of)
    if reviewed is None or reviewed.action is Action.UNDO or reviewed.source is DecisionSource.QA:
        raise DecisionLogError(f"QA row {d.uuid}: qa_of {d.qa_of!r} is no moderation decision on item {d.item_id}")
    if d.supersedes is not None and (current is None or d.supersedes != current.uuid):
        raise DecisionLogError(f"QA resolution {d.uuid}: it must supersede the standing decision "
                               f"({current.uuid if current else 'none stands'}), not {d.supersedes}")
    return d


def _latest_with_uuid(rows: list[Decision], uuid: str | None) -> Decision | None:
    """The last of `rows` with this uuid (a scan of one item's few rows, not a dict of them per new row)."""
    return next((r for r in reversed(rows) if r.uuid == uuid), None) if uuid else None


def _outcome(per_item: dict[str, list[Decision]], written: list[Decision], before: dict[str, Decision | None],
             statuses: Mapping[str, ItemStatus]) -> Plan:
    items = list(dict.fromkeys(d.item_id for d in written))
    to_write: dict[str, ItemStatus] = {}
    item_changes = []
    for item_id in items:
        old, new = before[item_id], standing(per_item[item_id])
        if (old.uuid if old else None) == (new.uuid if new else None):
            continue  # a QA judgement, or an undo of a row that no longer stood: the item is as it was
        status = to_write[item_id] = status_for(new)
        fields = {ItemField.STANDING} | ({ItemField.STATUS} if statuses.get(item_id) != status else set())
        item_changes.append(ItemChange(item_id, frozenset(fields), status, new))
    queue = any(ItemField.STATUS in c.fields and ((statuses.get(c.item_id) in OPEN) != (c.status in OPEN))
                for c in item_changes)
    changes = Changes(items=tuple(items), decisions=tuple(d.uuid for d in written), queue=queue,
                      item_changes=tuple(item_changes))
    return Plan(tuple(written), to_write, changes)
