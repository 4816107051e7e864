"""The review service: decide (one item or a batch), escalate, QA re-review, skip and undo. Each write
returns what it changed: a DecisionResult (the rows and their Changes), or Changes for a skip.

Every call blocks until the store's writer has committed, so it runs on a worker thread in the desk
and inline in the CLI and tests. Rows are appended only by storage.decisions.append_decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

from moderator import decision_log, exposure, history, undo_rules
from moderator.clock import iso, now_iso, parse_iso, plus_minutes, utc_now
from moderator.domain import (
    Action,
    Changes,
    Decision,
    DecisionResult,
    DecisionSource,
    Item,
    ItemChange,
    ItemField,
    ItemStatus,
    Label,
    Policy,
)
from moderator.escalation import Escalation, EscalationError
from moderator.queue_state import queue_key
from moderator.settings import load_settings
from storage import audit
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage.store import Store


class ReviewError(ValueError):
    pass


class UndoRefused(ReviewError):
    """Ctrl+Z may not undo this one without asking (moderator.undo_rules): nothing was written."""


@dataclass(frozen=True)
class UndoOutcome:
    """An undo's rows, the decisions they supersede and how the moderator knows the item."""

    result: DecisionResult
    undone: tuple[Decision, ...]
    title: str

    @property
    def changes(self) -> Changes:
        return self.result.changes

    @property
    def decision(self) -> Decision | None:
        return self.result.decision

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return self.result.decisions


@dataclass(frozen=True)
class _Draft:
    """A decision before the log has seen it: what the moderator chose for one item."""

    item_id: str
    labels: tuple[str, ...]
    action: Action
    handle_ms: int = 0
    note: str | None = None
    escalation_target: str | None = None
    escalation_reason: str | None = None


@dataclass
class ReviewService:
    store: Store
    policy: Policy
    actor: str
    golden_rate: float | None = None  # golden items mixed into the queue; None: the golden_rate setting

    # -- reads --------------------------------------------------------------------------------
    def queue(self, limit: int | None = None) -> list[Item]:
        """The open items in queue order, without the ones a skip hides for now (hidden_until)."""
        hidden = self.hidden_until()
        items = items_repo.queue(self.store.db, limit=None if hidden else limit, golden_rate=self._golden_rate())
        items = [i for i in items if i.id not in hidden] if hidden else items
        return items[:limit] if limit is not None else items

    def queue_top(self, pinned_before: str | None = None) -> tuple[Item | None, dict[str, str]]:
        """The item a full read puts first (QueueState(pinned_before).read(self.queue, self.hidden_until)),
        without reading the queue, and hidden_until(): the desk's start shows it before the rest is read
        (ui/first_item.py). SQL finds the candidates; the order is queue_key's, as the full read's is."""
        hidden = self.hidden_until()
        heads = items_repo.queue_heads(self.store.db, hidden=hidden, overdue_before=pinned_before,
                                       golden_rate=self._golden_rate())
        return min(heads, key=lambda item: queue_key(item, pinned_before), default=None), hidden

    def _golden_rate(self) -> float:
        return self.golden_rate if self.golden_rate is not None else load_settings().golden_rate

    def hidden_until(self) -> dict[str, str]:
        """Open items a skip hides from this desk now -> when they come back (ISO UTC)."""
        db = self.store.db
        if "skip_until" not in {c[1] for c in db.execute("PRAGMA table_info(items)")}:
            return {}  # a store before migration 0009 (read-only opens): nothing is hidden
        rows = db.execute("SELECT id, skip_until FROM items WHERE skip_until > ? AND status IN ('pending', 'skipped')",
                          (now_iso(),))
        return {r[0]: r[1] for r in rows}

    def item(self, item_id: str) -> Item:
        return items_repo.get_item(self.store.db, item_id)

    # -- writes -------------------------------------------------------------------------------
    def decide(self, item_id: str, label_name: str, *, handle_ms: int = 0, batch_id: str | None = None,
               source: DecisionSource = DecisionSource.MANUAL) -> DecisionResult:
        label = self._label(label_name)
        return self._commit([_Draft(item_id, (label.name,), label.action, handle_ms)], batch_id, source)

    def decide_batch(self, item_ids: Sequence[str], label_name: str, *, handle_ms: int = 0) -> DecisionResult:
        """One label on many items (the grid): one batch (a shared batch_id, source "batch") in one
        transaction, undone by one undo_last. `handle_ms` is the batch's, shared out among its items."""
        label = self._label(label_name)
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            raise ReviewError("a batch needs at least one item")
        share, extra = divmod(int(handle_ms), len(ids))
        drafts = [_Draft(i, (label.name,), label.action, share + (n < extra)) for n, i in enumerate(ids)]
        return self._commit(drafts, str(uuid.uuid4()), DecisionSource.BATCH)

    def escalate(self, item_id: str, note: str | Escalation, *, handle_ms: int = 0) -> DecisionResult:
        """Escalate with a note (a str: to the policy's first target, for its last reason) or an
        Escalation naming the target and reason (moderator.escalation; checked against the policy)."""
        try:
            e = (note if isinstance(note, Escalation) else Escalation(note)).checked(self.policy)
        except EscalationError as exc:
            raise ReviewError(str(exc)) from None
        draft = _Draft(item_id, (), Action.ESCALATE, handle_ms, e.note, e.target, e.reason)
        return self._commit([draft], None, DecisionSource.MANUAL)

    def qa_review(self, decision_uuid: str, label_name: str, *, resolve: bool = False, note: str | None = None,
                  handle_ms: int = 0) -> DecisionResult:
        """A QA judgement of decision `decision_uuid` (source "qa", qa_of): it never changes the item's
        standing decision, unless `resolve`, which makes it supersede the standing one."""
        return self.store.write(self.write_qa, decision_uuid, label_name, resolve=resolve, note=note,
                                handle_ms=handle_ms)

    def write_qa(self, db: Db, decision_uuid: str, label_name: str, *, resolve: bool = False,
                 note: str | None = None, handle_ms: int = 0) -> DecisionResult:
        """qa_review inside the caller's transaction (moderator.qa_service marks its task in the same one)."""
        label = self._label(label_name)
        reviewed = decisions_repo.decision_by_uuid(db, decision_uuid)
        if reviewed is None:
            raise ReviewError(f"no decision {decision_uuid!r}")
        current = decisions_repo.current_for_item(db, reviewed.item_id) if resolve else None
        if resolve and current is None:
            raise ReviewError(f"nothing stands on item {reviewed.item_id} for a QA resolution to replace")
        d = self._new_decision(_Draft(reviewed.item_id, (label.name,), label.action, handle_ms, note),
                               None, DecisionSource.QA, qa_of=reviewed.uuid,
                               supersedes=current.uuid if current else None)
        return self._append(db, [d])

    def skip(self, item_id: str, hide_minutes: float | None = None) -> Changes:
        """Leave the item pending for later: hidden from this desk for `hide_minutes` (None: the
        skip_hide_minutes setting), or until its SLA is due if that comes first. Its place in the
        queue order does not change (moderator.queue_state.queue_key ignores the skip)."""
        minutes = load_settings().skip_hide_minutes if hide_minutes is None else hide_minutes

        def write(db: Db) -> Changes:
            _require_item(db, item_id)
            item = items_repo.get_item(db, item_id)
            before, until = item.status, skip_until(now_iso(), minutes, item.sla_due_at)
            items_repo.set_status(db, item_id, ItemStatus.SKIPPED)
            db.execute("UPDATE items SET skip_until = ? WHERE id = ?", (until, item_id))
            audit.append(db, self.actor, "skip", item_id, {"until": until}, [("item_state", item_id)])
            fields = frozenset({ItemField.STATUS}) if before is not ItemStatus.SKIPPED else frozenset()
            change = ItemChange(item_id, fields, ItemStatus.SKIPPED)
            return Changes(items=(item_id,), queue=True, item_changes=(change,) if fields else ())

        return self.store.write(write)

    def undo_last(self) -> DecisionResult:
        """Supersede this actor's latest standing decision, or every member of its batch (one undo row
        each, sharing a new batch id), in one transaction; no rows when there is nothing to undo."""

        def write(db: Db) -> DecisionResult:
            target = decisions_repo.last_undoable(db, self.actor)
            return DecisionResult((), Changes()) if target is None else self._undo(db, target).result

        return self.store.write(write)

    def undo_recent(self, window_minutes: int) -> UndoOutcome:
        """Ctrl+Z: undo_last, but only a decision within `window_minutes` and never an escalation
        (moderator.undo_rules); UndoRefused, nothing written, otherwise."""

        def write(db: Db) -> UndoOutcome:
            target = decisions_repo.last_undoable(db, self.actor)
            refusal = undo_rules.quick_undo_refusal(target, utc_now(), window_minutes)
            if refusal is not None:
                raise UndoRefused(refusal)
            return UndoOutcome(DecisionResult((), Changes()), (), "") if target is None else self._undo(db, target)

        return self.store.write(write)

    def undo_decision(self, decision_uuid: str) -> UndoOutcome:
        """The history panel's undo: supersede this actor's decision `decision_uuid` (its whole batch
        for a batch member), if it still stands; ReviewError otherwise, nothing written."""

        def write(db: Db) -> UndoOutcome:
            target = decisions_repo.decision_by_uuid(db, decision_uuid)
            if target is None or target.actor != self.actor or target.action is Action.UNDO:
                raise ReviewError(f"no decision of yours {decision_uuid!r} to undo")
            current = decisions_repo.current_for_item(db, target.item_id)
            if current is None or current.uuid != target.uuid:
                raise ReviewError(f"{history.title_of(db, target.item_id)}: that decision no longer stands "
                                  "(undone or decided again since)")
            return self._undo(db, target)

        return self.store.write(write)

    def record_exposure(self, item: Item, kind: str, started_at: str, ms: int, fraction: float = 1.0) -> None:
        row = (item.id, self.actor, item.category, started_at, int(ms), kind, float(fraction))
        self.store.write(lambda db: db.execute(
            "INSERT INTO exposure_events (item_id, actor, category, started_at, ms, kind, fraction) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", row))
        # Then the per-person ledger, so the budget counts this reveal in every store on the machine
        # (moderator.exposure); the store's own row is already safe if the ledger cannot be written.
        exposure.record(self.actor, self.store, item.id, kind, started_at, ms)

    # -- internals ----------------------------------------------------------------------------
    def _undo(self, db: Db, target: Decision) -> UndoOutcome:
        batch_id = str(uuid.uuid4()) if target.batch_id else None
        members = decisions_repo.undo_set(db, target)
        undos = [decision_log.undo_of(m, uuid=str(uuid.uuid4()), actor=self.actor, decided_at=now_iso(),
                                      policy_version=self.policy.version, batch_id=batch_id) for m in members]
        result = self._append(db, undos)
        return UndoOutcome(result, tuple(members), history.title_of(db, target.item_id))

    def _label(self, name: str) -> Label:
        try:
            return self.policy.label(name)
        except KeyError:
            raise ReviewError(f"unknown label {name!r} in policy {self.policy.version}") from None

    def _commit(self, drafts: list[_Draft], batch_id: str | None, source: DecisionSource) -> DecisionResult:
        """Decide each draft's item, with the reveal time not yet counted in any decision."""

        def write(db: Db) -> DecisionResult:
            exposure, rows = [], []
            unassigned = decisions_repo.unassigned_exposure(db, [d.item_id for d in drafts], self.actor)
            for draft in drafts:  # a missing item is refused by the log, before anything is written
                ids, exposure_ms = unassigned.get(draft.item_id, ([], 0))
                rows.append(self._new_decision(draft, batch_id, source, exposure_ms=exposure_ms))
                exposure.append(ids)
            result = self._append(db, rows)
            for d, ids in zip(result.decisions, exposure, strict=True):
                decisions_repo.assign_exposure(db, ids, d.uuid)
            return result

        return self.store.write(write)

    def _append(self, db: Db, rows: list[Decision]) -> DecisionResult:
        try:
            return decisions_repo.append_decisions(db, rows)
        except decision_log.DecisionLogError as exc:
            raise ReviewError(str(exc)) from None

    def _new_decision(self, draft: _Draft, batch_id: str | None, source: DecisionSource, *,
                      supersedes: str | None = None, qa_of: str | None = None, exposure_ms: int = 0) -> Decision:
        return Decision(
            uuid=str(uuid.uuid4()), item_id=draft.item_id, labels=draft.labels, action=draft.action,
            actor=self.actor, decided_at=now_iso(), policy_version=self.policy.version, source=source,
            handle_ms=int(draft.handle_ms), exposure_ms=int(exposure_ms), batch_id=batch_id,
            supersedes=supersedes, note=draft.note, qa_of=qa_of,
            escalation_target=draft.escalation_target, escalation_reason=draft.escalation_reason,
        )


def skip_until(now: str, minutes: float, sla_due_at: str | None) -> str:
    """When a skip made at `now` ends: `minutes` later, or when the item is due if that is sooner
    (a skipped item is back before it breaches, never after)."""
    until = plus_minutes(now, minutes)
    if sla_due_at and parse_iso(now) < parse_iso(sla_due_at) < parse_iso(until):
        return iso(parse_iso(sla_due_at))
    return until  # already overdue: it has breached, hidden the full time so another desk takes it


def _require_item(db: Db, item_id: str) -> None:
    if db.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
        raise ReviewError(f"no item {item_id!r}")
