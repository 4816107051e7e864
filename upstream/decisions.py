"""Receiving a desk's decisions: each one accepted, a duplicate, a conflict or rejected, in order, in
one transaction, by the same pure replay the desk uses (moderator.decision_log).

- duplicate: its uuid is on the hub already (accepted or conflict); nothing is written again.
- conflict: its lease is no longer the item's and another lease holds the item now, or the item's
  standing decision came through another lease. Stored as evidence (status `conflict`), not applied.
- rejected: not a decision this hub can take (unknown item or lease, someone else's lease, an undo of
  another desk's decision, a label the policy does not know, what decision_log.plan refuses).
  Nothing is stored, so the same push is rejected the same way again.
An undo is accepted from the desk and actor that made the decision it supersedes, leased or not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, select, update

from moderator.clock import now_iso
from moderator.decision_log import DecisionLogError, plan, standing
from moderator.domain import Action, Decision, DecisionSource, ItemStatus
from upstream import qa_leases
from upstream.auth import User
from upstream.schema import decisions, desk_heads, items, leases

MAX_PER_PUSH = 1_000
QA_ROLES = frozenset({"qa", "lead", "admin"})
MODERATION_ROLES = frozenset({"moderator", "lead", "admin"})


@dataclass(frozen=True)
class Meta:
    """What the hub knows of a stored decision beyond the Decision itself."""

    lease_id: str | None
    actor: str
    desk: str


class Refused(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class Push:
    """One request's view of the items it touches, kept up to date as its rows are taken."""

    user: User
    desk: str
    labels: frozenset[str]
    items: dict[str, dict]
    leases: dict[str, dict]
    history: dict[str, list[Decision]]
    meta: dict[str, Meta]
    known: set[str]
    now: str
    statuses: dict[str, ItemStatus] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    qa_leases: dict[str, dict] = field(default_factory=dict)  # upstream.qa_leases.leases_for_push


def receive(conn: Connection, user: User, desk: str, incoming: Sequence[dict], policy_labels: frozenset[str],
            audit_head: dict | None = None) -> list[dict]:
    """Take a push of decisions (dicts with the wire keys); one result per decision, in order."""
    push = _load(conn, user, desk, incoming, policy_labels)
    results = [_take(push, raw) for raw in incoming]
    if push.rows:
        conn.execute(decisions.insert(), push.rows)
    judged = [r for r in push.rows if r["source"] == DecisionSource.QA.value and r["status"] == "accepted"
              and r["action"] != Action.UNDO.value]
    if judged:
        qa_leases.finish(conn, judged, push.now)
    changed = [{"item": item_id, "to": status.value} for item_id, status in push.statuses.items()
               if push.items[item_id]["status"] != status.value]
    if changed:  # one executemany: a statement per item was most of a 1,000-decision push (bench_hub)
        conn.execute(update(items).where(items.c.id == bindparam("item")).values(status=bindparam("to")), changed)
    if audit_head is not None:
        conn.execute(desk_heads.insert().values(desk=desk, actor=user.name, audit_hash=audit_head["hash"],
                                                audit_count=audit_head["count"], received_at=push.now))
    return results


def _load(conn: Connection, user: User, desk: str, incoming: Sequence[dict], labels: frozenset[str]) -> Push:
    item_ids = sorted({d["item_id"] for d in incoming})
    # Lock the items first (in one order, so two pushes cannot deadlock) and only then read what is
    # stored: a concurrent push of the same items, or of the same uuids, is seen once it commits.
    found = conn.execute(select(items.c.id, items.c.status, items.c.lease_id, items.c.lease_expires_at)
                         .where(items.c.id.in_(item_ids)).order_by(items.c.id).with_for_update()).mappings()
    item_rows = {r["id"]: dict(r) for r in found}
    uuids = [d["uuid"] for d in incoming]
    known = set(conn.execute(select(decisions.c.uuid).where(decisions.c.uuid.in_(uuids))).scalars())
    lease_ids = {d["lease_id"] for d in incoming if d.get("lease_id")}
    lease_rows = {r["lease_id"]: dict(r) for r in conn.execute(
        select(leases).where(leases.c.lease_id.in_(lease_ids))).mappings()} if lease_ids else {}
    history: dict[str, list[Decision]] = {item_id: [] for item_id in item_rows}
    meta: dict[str, Meta] = {}
    for r in conn.execute(select(decisions).where(decisions.c.item_id.in_(list(item_rows)),
                                                  decisions.c.status == "accepted")
                          .order_by(decisions.c.seq)).mappings():
        history[r["item_id"]].append(stored_decision(r))
        meta[r["uuid"]] = Meta(r["lease_id"], r["actor"], r["desk"])
    qa_ids = [d["lease_id"] for d in incoming if d.get("lease_id") and d["source"] == DecisionSource.QA.value]
    return Push(user, desk, labels, item_rows, lease_rows, history, meta, known, now_iso(),
                statuses={i: ItemStatus(r["status"]) for i, r in item_rows.items()},
                qa_leases=qa_leases.leases_for_push(conn, qa_ids))


def stored_decision(r) -> Decision:
    """A decisions row as the domain's Decision."""
    return Decision(uuid=r["uuid"], item_id=r["item_id"], labels=tuple(json.loads(r["labels"])),
                    action=Action(r["action"]), actor=r["actor"], decided_at=r["decided_at"],
                    policy_version=r["policy_version"], source=DecisionSource(r["source"]),
                    handle_ms=r["handle_ms"], exposure_ms=r["exposure_ms"], batch_id=r["batch_id"],
                    supersedes=r["supersedes"], note=r["note"], qa_of=r["qa_of"],
                    escalation_target=r["escalation_target"], escalation_reason=r["escalation_reason"])


def _take(push: Push, raw: dict) -> dict:
    uuid = raw["uuid"]
    if uuid in push.known:
        return {"uuid": uuid, "status": "duplicate"}
    try:
        d = _checked(push, raw)
        conflict = _conflict(push, d, raw.get("lease_id"))
        if conflict:
            push.rows.append(_row(push, d, raw.get("lease_id"), "conflict", conflict))
            push.known.add(uuid)
            return {"uuid": uuid, "status": "conflict", "reason": conflict}
        planned = plan(push.history[d.item_id], [d], push.statuses)
    except Refused as exc:
        return {"uuid": uuid, "status": exc.status, "reason": exc.reason}
    except DecisionLogError as exc:
        return {"uuid": uuid, "status": "rejected", "reason": str(exc)}
    row = planned.rows[0]
    push.history[d.item_id].append(row)
    push.meta[uuid] = Meta(raw.get("lease_id"), push.user.name, push.desk)
    push.statuses.update(planned.statuses)
    push.rows.append(_row(push, row, raw.get("lease_id"), "accepted", None))
    push.known.add(uuid)
    if row.source is DecisionSource.QA and row.action is not Action.UNDO:  # the task is judged: a second row under its lease is refused
        push.qa_leases[raw["lease_id"]]["state"] = "judged"
    return {"uuid": uuid, "status": "accepted"}


def _checked(push: Push, raw: dict) -> Decision:
    d = Decision(uuid=raw["uuid"], item_id=raw["item_id"], labels=tuple(raw["labels"]),
                 action=Action(raw["action"]), actor=push.user.name, decided_at=raw["decided_at"],
                 policy_version=raw["policy_version"], source=DecisionSource(raw["source"]),
                 handle_ms=raw["handle_ms"], exposure_ms=raw["exposure_ms"], batch_id=raw["batch_id"],
                 supersedes=raw["supersedes"], note=raw["note"], qa_of=raw.get("qa_of"),
                 escalation_target=raw.get("escalation_target"), escalation_reason=raw.get("escalation_reason"))
    if d.item_id not in push.items:
        raise Refused("rejected", f"no item {d.item_id} on this hub")
    if (d.escalation_target or d.escalation_reason) and d.action is not Action.ESCALATE:
        raise Refused("rejected", "escalation_target and escalation_reason are only for an escalation")
    allowed = QA_ROLES if d.source is DecisionSource.QA else MODERATION_ROLES
    if push.user.role not in allowed:
        raise Refused("rejected", f"a {push.user.role} may not push {d.source.value} decisions")
    unknown = [label for label in d.labels if label not in push.labels]
    if unknown:
        raise Refused("rejected", f"label {unknown[0]!r} is not in the hub's policy")
    if d.action is Action.UNDO:
        _check_undo(push, d)
    else:
        _check_lease(push, d, raw.get("lease_id"))
    return d


def _check_undo(push: Push, d: Decision) -> None:
    made = push.meta.get(d.supersedes or "")
    if made is not None and (made.actor != push.user.name or made.desk != push.desk):
        raise Refused("rejected", f"undo {d.uuid}: decision {d.supersedes} was made by another desk")


def _check_lease(push: Push, d: Decision, lease_id: str | None) -> None:
    if d.source is DecisionSource.QA:
        why = qa_leases.refusal(push.qa_leases.get(lease_id or ""), actor=push.user.name, lease_id=lease_id,
                                qa_of=d.qa_of, supersedes=d.supersedes, now_s=push.now)
        if why:
            raise Refused("rejected", why)
        return
    if lease_id is None:
        raise Refused("rejected", f"decision {d.uuid} names no lease_id (lease the item first)")
    lease = push.leases.get(lease_id)
    if lease is None or lease["item_id"] != d.item_id:
        raise Refused("rejected", f"no lease {lease_id} on item {d.item_id}")
    if lease["actor"] != push.user.name:
        raise Refused("rejected", f"lease {lease_id} is not yours")


def _conflict(push: Push, d: Decision, lease_id: str | None) -> str | None:
    """Why a decision made under `lease_id` must not apply, or None."""
    if d.action is Action.UNDO or lease_id is None or d.source is DecisionSource.QA:
        return None  # a QA judgement re-reviews the standing decision; it never competes with it
    item = push.items[d.item_id]
    other = item["lease_id"]
    if other not in (None, lease_id) and item["lease_expires_at"] > push.now:
        return f"lease {lease_id} ended; item {d.item_id} is now leased to another desk"
    current = standing(push.history[d.item_id])
    if current is not None and push.meta[current.uuid].lease_id != lease_id:
        return f"item {d.item_id} was decided already ({current.uuid}) under another lease"
    return None


def _row(push: Push, d: Decision, lease_id: str | None, status: str, reason: str | None) -> dict:
    return {"uuid": d.uuid, "item_id": d.item_id, "lease_id": lease_id, "actor": d.actor, "team": push.user.team,
            "desk": push.desk, "labels": json.dumps(list(d.labels)), "action": d.action.value,
            "decided_at": d.decided_at, "received_at": push.now, "handle_ms": d.handle_ms,
            "exposure_ms": d.exposure_ms, "batch_id": d.batch_id, "supersedes": d.supersedes, "qa_of": d.qa_of,
            "policy_version": d.policy_version, "source": d.source.value, "note": d.note, "status": status,
            "reason": reason, "escalation_target": d.escalation_target, "escalation_reason": d.escalation_reason}


__all__ = ["MAX_PER_PUSH", "receive", "stored_decision"]
