"""Pushing the outbox to the hub: undelivered decision rows of hub items, oldest first, in batches, each
with the desk's audit head. Exactly once: the hub is idempotent by uuid, and a row is marked sent only
after the hub's answer for it is committed here, so a push cut off anywhere (hub or desk killed,
network gone) is simply sent again and answered `duplicate` for what had arrived.

Results: accepted/duplicate → sent; conflict → sent (the hub keeps it as evidence), the conflict
recorded and the item marked decided elsewhere; rejected → kept unsent with the hub's reason and not
pushed again. A batch refused whole (a 4xx other than 401/403) is split until the row the hub
refuses is found, so one bad row never holds up the rest, and none is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.clock import now_iso
from moderator.domain import ItemChange, ItemField, ItemStatus
from moderator.outbox import MessageError, decision_message, parse_message
from storage import audit
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage import sync as sync_repo
from storage.hub_client import HubClient, HubRefused, HubUnreachable
from storage.store import Store

BATCH = 500
OUTCOMES = ("accepted", "duplicate", "conflict", "rejected")
_WHOLE_CALL = (401, 403)  # refusals of the caller, not of a row: splitting the batch would not help


@dataclass
class PushOutcome:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    conflicts: list[ItemChange] = field(default_factory=list)

    def add(self, other: PushOutcome) -> None:
        for k, v in other.counts.items():
            self.counts[k] += v
        self.conflicts += other.conflicts


def api_decision(db: Db, row: sync_repo.OutboxRow) -> dict[str, Any]:
    """The API's decision object for an outbox row: the v1 message without type, version, sha256, actor
    and external_id (the hub takes the actor from the token), plus the item's lease. MessageError when
    the row holds no readable message (a pre-0006 payload is rebuilt from its decisions row)."""
    try:
        message = parse_message(row.payload)
    except MessageError:
        stored = decisions_repo.decision_by_uuid(db, row.ref)
        media = items_repo.get_item(db, row.item_id) if stored else None
        if stored is None or media is None:
            raise
        message = parse_message(decision_message(stored, sha256=media.sha256, external_id=media.external_id))
    d = message.decision
    out: dict[str, Any] = {
        "uuid": d.uuid, "item_id": d.item_id, "lease_id": row.lease_id, "labels": list(d.labels),
        "action": d.action.value, "decided_at": d.decided_at, "handle_ms": d.handle_ms,
        "exposure_ms": d.exposure_ms, "batch_id": d.batch_id, "supersedes": d.supersedes,
        "policy_version": d.policy_version, "source": d.source.value, "note": d.note,
    }
    if d.qa_of is not None:
        out["qa_of"] = d.qa_of
    if d.escalation_target is not None:  # sent only when set: other pushes are what they were
        out["escalation_target"] = d.escalation_target
        out["escalation_reason"] = d.escalation_reason
    return out


def push_batch(store: Store, client: HubClient, rows: Sequence[sync_repo.OutboxRow], actor: str) -> PushOutcome:
    """Send `rows` (in order) and commit what the hub said about each. HubUnreachable (rows counted as
    attempted, still unsent) and HubRefused for the caller (401/403) propagate."""
    decisions, ready = [], []
    outcome = PushOutcome()
    for row in rows:
        try:
            decisions.append(api_decision(store.db, row))
            ready.append(row)
        except (MessageError, KeyError) as exc:
            store.write(sync_repo.mark_rejected, row.seq, f"unreadable outbox row: {exc}", now_iso())
            outcome.counts["rejected"] += 1
    if not ready:
        return outcome
    head = audit.head(store.db)
    try:
        results = client.push(decisions, {"hash": head.head, "count": head.count})
    except HubUnreachable as exc:
        store.write(sync_repo.mark_failed, [r.seq for r in ready], str(exc))
        raise
    except HubRefused as exc:
        if exc.status in _WHOLE_CALL:
            store.write(sync_repo.mark_failed, [r.seq for r in ready], str(exc))
            raise
        outcome.add(_split(store, client, ready, actor, exc))
        return outcome
    outcome.add(store.write(_apply_results, ready, results, actor))
    return outcome


def _split(store: Store, client: HubClient, rows: list[sync_repo.OutboxRow], actor: str,
           exc: HubRefused) -> PushOutcome:
    if len(rows) == 1:
        store.write(sync_repo.mark_rejected, rows[0].seq, exc.detail, now_iso())
        outcome = PushOutcome()
        outcome.counts["rejected"] += 1
        return outcome
    half = len(rows) // 2
    outcome = push_batch(store, client, rows[:half], actor)
    outcome.add(push_batch(store, client, rows[half:], actor))
    return outcome


def _apply_results(db: Db, rows: Sequence[sync_repo.OutboxRow], results: Sequence[dict[str, Any]],
                   actor: str) -> PushOutcome:
    outcome, at = PushOutcome(), now_iso()
    sent = []
    for row, result in zip(rows, results, strict=True):
        status = result.get("status")
        reason = " ".join(str(result.get("reason") or status).split())[:300]
        if status in ("accepted", "duplicate"):
            sent.append(row.seq)
        elif status == "conflict":
            sent.append(row.seq)
            if change := _mark_conflict(db, row, reason, at, actor):
                outcome.conflicts.append(change)
        else:  # rejected, or a status this desk does not know: kept, with the hub's word for it
            status = "rejected"
            sync_repo.mark_rejected(db, row.seq, reason if result.get("status") == "rejected"
                                    else f"unknown result {result.get('status')!r}", at)
        outcome.counts[status] += 1
    sync_repo.mark_sent(db, sent, at)
    return outcome


def _mark_conflict(db: Db, row: sync_repo.OutboxRow, reason: str, at: str, actor: str) -> ItemChange | None:
    """Record the conflict and mark the item decided elsewhere (audited); None if already recorded."""
    if not sync_repo.add_conflict(db, row.ref, row.item_id, reason, at):
        return None
    items_repo.set_status(db, row.item_id, ItemStatus.CONFLICT)
    audit.append(db, actor, "sync_conflict", row.item_id, {"decision": row.ref, "reason": reason},
                 [("item_state", row.item_id)])
    return ItemChange(row.item_id, frozenset({ItemField.STATUS}), ItemStatus.CONFLICT)
