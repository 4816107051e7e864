"""QA leases: handing sampled decisions (upstream.qa's tasks) to `qa` users for a blind re-review.

A task is leasable by analyst A when it is pending, is A's or nobody's (a batch drawn without
--analyst), its row holds no live lease, the decision it re-reviews is not A's own, and A has not
judged that decision already. As with items (upstream.leases), the live lease lives on the task row,
taken `FOR UPDATE SKIP LOCKED` on PostgreSQL, and expiry is a comparison at lease time.

What a lease hands out is the item alone, the fields of POST /v1/leases without its matches: nothing
of the original decision, its actor or any bank suggestion; only the filter floor the suggestion
gives (`filter_floor`), so the analyst sees the item filtered as its moderator did. The judgement comes back through POST
/v1/decisions (upstream.decisions calls `refusal` and `finish` here). A live QA lease is renewed
(`renew_task`) and returned (`return_task`) as an item's is (upstream.leases.renew, return_lease).
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import Connection, and_, exists, or_, select, update

from moderator.clock import iso, utc_now
from moderator.policy import parse_policy
from upstream.leases import ITEM_FIELDS, Holder, item_matches, owned_lease, renew_owned
from upstream.policy_store import current_policy
from upstream.schema import decisions, items, media, qa_batches, qa_leases, qa_tasks

QA_ORDER = (qa_batches.c.created_at, qa_batches.c.id, qa_tasks.c.position)


def lease_tasks(conn: Connection, holder: Holder, count: int, lease_seconds: int) -> list[dict]:
    """Lease up to `count` QA tasks to `holder`, oldest batch first, at most one per decision."""
    now = utc_now()
    now_s, expires = iso(now), iso(now + timedelta(seconds=lease_seconds))
    granted, decided_on = [], set()
    for row in _claim(conn, holder.actor, count, now_s):
        if row.decision_uuid in decided_on:
            continue  # the same decision drawn in two batches is one re-review
        decided_on.add(row.decision_uuid)
        granted.append(_grant(conn, row, holder, now_s, expires))
    return _with_items(conn, granted)


def _claim(conn: Connection, analyst: str, n: int, now_s: str) -> list:
    original = decisions.alias("original")
    judged = decisions.alias("judged")
    already = exists().where(judged.c.qa_of == qa_tasks.c.decision_uuid, judged.c.actor == analyst,
                             judged.c.status == "accepted")
    query = (select(qa_tasks.c.id, qa_tasks.c.lease_id, qa_tasks.c.decision_uuid, original.c.item_id)
             .join(qa_batches, qa_batches.c.id == qa_tasks.c.batch_id)
             .join(original, original.c.uuid == qa_tasks.c.decision_uuid)
             .where(qa_tasks.c.state == "pending",
                    or_(qa_tasks.c.analyst.is_(None), qa_tasks.c.analyst == analyst),
                    or_(qa_tasks.c.lease_expires_at.is_(None), qa_tasks.c.lease_expires_at <= now_s),
                    original.c.actor != analyst, ~already)
             .order_by(*QA_ORDER).limit(n)
             .with_for_update(skip_locked=True, of=qa_tasks))
    return list(conn.execute(query))


def _grant(conn: Connection, row, holder: Holder, now_s: str, expires: str) -> dict:
    if row.lease_id is not None:  # the task's previous lease ran out
        conn.execute(update(qa_leases).where(qa_leases.c.lease_id == row.lease_id, qa_leases.c.ended_at.is_(None))
                     .values(ended_at=now_s, end_reason="expired"))
    lease_id = str(uuid.uuid4())
    conn.execute(qa_leases.insert().values(lease_id=lease_id, task_id=row.id, actor=holder.actor, desk=holder.desk,
                                           acquired_at=now_s, expires_at=expires))
    conn.execute(update(qa_tasks).where(qa_tasks.c.id == row.id).values(lease_id=lease_id, lease_expires_at=expires))
    return {"lease_id": lease_id, "expires_at": expires, "task_id": row.id, "decision_uuid": row.decision_uuid,
            "item_id": row.item_id}


def _with_items(conn: Connection, granted: list[dict]) -> list[dict]:
    if not granted:
        return []
    cols = [items.c[name] for name in ITEM_FIELDS] + [media.c.kind, media.c.mime, media.c.bytes]
    rows = {r.id: dict(r._mapping) for r in conn.execute(
        select(*cols).join(media, media.c.sha256 == items.c.sha256)
        .where(items.c.id.in_([g["item_id"] for g in granted])))}
    floors = _floors(conn, [g["item_id"] for g in granted])
    return [{"lease_id": g["lease_id"], "expires_at": g["expires_at"], "task_id": g["task_id"],
             "decision_uuid": g["decision_uuid"], "item": rows[g["item_id"]], "filter_floor": floors[g["item_id"]]}
            for g in granted]


def _floors(conn: Connection, item_ids: list[str]) -> dict[str, dict]:
    """Per item, the filter the hub's policy gives its bank suggestion (the nearest match's policy label,
    as the desk's routing picks it): the moderator's filter floor, so a known-CSAM match stays
    unrevealable on the QA desk too. Only the filter is sent, never the match or the label."""
    policy = _policy(**current_policy(conn))
    names = {lb.name for lb in policy.labels}
    found = item_matches(conn, item_ids)
    out = {}
    for item_id in item_ids:
        label = next((m["label"] for m in found.get(item_id, []) if m["label"] in names), None)
        spec = policy.filter_for(None, label)
        out[item_id] = {"blur": spec.blur, "grayscale": spec.grayscale, "pixelate": spec.pixelate,
                        "style": spec.style, "reveal": spec.reveal.value}
    return out


@lru_cache(maxsize=8)
def _policy(version: str, text: str):
    return parse_policy(tomllib.loads(text))


def holds_qa_media(conn: Connection, actor: str, sha256: str) -> bool:
    """Whether `actor` holds a live QA lease on a task whose decision is on an item with media `sha256`."""
    query = (select(qa_leases.c.lease_id)
             .join(qa_tasks, and_(qa_tasks.c.id == qa_leases.c.task_id, qa_tasks.c.lease_id == qa_leases.c.lease_id))
             .join(decisions, decisions.c.uuid == qa_tasks.c.decision_uuid)
             .join(items, items.c.id == decisions.c.item_id)
             .where(items.c.sha256 == sha256, qa_leases.c.actor == actor, qa_leases.c.ended_at.is_(None),
                    qa_leases.c.expires_at > iso(utc_now())).limit(1))
    return conn.execute(query).first() is not None


def leases_for_push(conn: Connection, lease_ids: Iterable[str]) -> dict[str, dict]:
    """The QA leases a push names, with their task's decision and state, locked until the push commits."""
    ids = sorted(set(lease_ids))
    if not ids:
        return {}
    query = (select(qa_leases.c.lease_id, qa_leases.c.actor, qa_leases.c.expires_at, qa_leases.c.ended_at,
                    qa_tasks.c.id.label("task_id"), qa_tasks.c.decision_uuid, qa_tasks.c.state,
                    qa_tasks.c.lease_id.label("task_lease_id"))
             .join(qa_tasks, qa_tasks.c.id == qa_leases.c.task_id)
             .where(qa_leases.c.lease_id.in_(ids)).order_by(qa_tasks.c.id).with_for_update(of=qa_tasks))
    return {r.lease_id: dict(r._mapping) for r in conn.execute(query)}


def refusal(lease: dict | None, *, actor: str, lease_id: str | None, qa_of: str | None,
            supersedes: str | None, now_s: str) -> str | None:
    """Why a QA row pushed under `lease_id` cannot be taken (None: it can). `lease` is its row from
    leases_for_push, updated as the push takes rows."""
    if lease_id is None:
        return "a QA row names its QA lease (lease_id; POST /v1/qa/leases)"
    if lease is None:
        return f"no QA lease {lease_id}"
    if lease["actor"] != actor:
        return f"QA lease {lease_id} is not yours"
    if lease["decision_uuid"] != qa_of:
        return f"QA lease {lease_id} is for decision {lease['decision_uuid']}, not qa_of {qa_of}"
    if lease["state"] != "pending":
        return f"the task of QA lease {lease_id} is judged already"
    if lease["ended_at"] is not None or lease["task_lease_id"] != lease_id or lease["expires_at"] <= now_s:
        return f"QA lease {lease_id} expired at {lease['expires_at']}"
    if supersedes is not None:
        return "a QA resolution (supersedes) is not pushed: POST /v1/qa/tasks/{task_id}/resolve takes it"
    return None


def finish(conn: Connection, judged: list[dict], now_s: str) -> None:
    """Mark each judged task (and the analyst's other pending tasks on the same decision) judged and
    end its lease. `judged`: accepted QA rows as stored, with `lease_id`, `uuid`, `qa_of`, `actor`."""
    for row in judged:
        task_id = conn.execute(select(qa_leases.c.task_id).where(qa_leases.c.lease_id == row["lease_id"])).scalar_one()
        conn.execute(update(qa_leases).where(qa_leases.c.lease_id == row["lease_id"])
                     .values(ended_at=now_s, end_reason="judged"))
        same_decision = and_(qa_tasks.c.decision_uuid == row["qa_of"], qa_tasks.c.state == "pending",
                             qa_tasks.c.analyst == row["actor"])
        conn.execute(update(qa_tasks).where(or_(qa_tasks.c.id == task_id, same_decision))
                     .values(state="judged", qa_uuid=row["uuid"], judged_at=now_s, lease_id=None,
                             lease_expires_at=None))


def _owned(conn: Connection, lease_id: str, holder: Holder):
    return owned_lease(conn, qa_leases, qa_leases.c.task_id, qa_tasks, lease_id, holder, "QA lease")


def renew_task(conn: Connection, lease_id: str, holder: Holder, lease_seconds: int) -> dict:
    """Extend a live QA lease of `holder`'s by `lease_seconds` from now; 409 when it is no longer held
    (judged, returned, expired or taken over)."""
    return renew_owned(conn, qa_leases, qa_leases.c.task_id, qa_tasks, lease_id, holder, lease_seconds, "QA lease")


def return_task(conn: Connection, lease_id: str, holder: Holder) -> dict:
    """End `holder`'s QA lease now: its task is leasable again at once. qa_leases has no `returned` end
    reason (its CHECK is the hub's migration 0002_qa), so a returned lease ends as `expired`, at the
    moment it was returned. Returning one that already ended changes nothing and answers the same."""
    row = _owned(conn, lease_id, holder)
    if row.ended_at is None:
        now_s = iso(utc_now())
        conn.execute(update(qa_leases).where(qa_leases.c.lease_id == lease_id)
                     .values(ended_at=now_s, end_reason="expired", expires_at=min(row.expires_at, now_s)))
        conn.execute(update(qa_tasks).where(qa_tasks.c.id == row.task_id, qa_tasks.c.lease_id == lease_id)
                     .values(lease_id=None, lease_expires_at=None))
    return {"lease_id": lease_id, "returned": True}
