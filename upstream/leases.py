"""Leasing: handing items to desks in review order so that no item is ever held by two desks at once.

An item is leasable when it is pending and its row holds no live lease (`items.lease_expires_at` is
empty or past). On PostgreSQL candidates are taken `FOR UPDATE SKIP LOCKED`: concurrent leasers skip
each other's rows, and a row locked after another transaction leased it is re-checked against its
new `lease_expires_at`, so it is dropped rather than handed out twice. On SQLite the whole lease is
one `BEGIN IMMEDIATE` transaction. Expiry needs no sweeper: it is a comparison at lease time, and
the expired lease row is marked ended when its item is taken over.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Column, Connection, Table, func, or_, select, update

from moderator.clock import iso, utc_now
from upstream.db import advisory_lock
from upstream.schema import banks, decisions, golden_items, items, leases, matches, media

MAX_PER_CALL = 100
MAX_PER_DESK = 200
REVIEW_ORDER = (items.c.priority.desc(), items.c.sla_due_at.asc().nulls_last(), items.c.imported_at.asc(),
                items.c.id.asc())
ITEM_FIELDS = ("id", "sha256", "category", "priority", "sla_due_at", "reason", "report_count",
               "external_id", "source_name", "reporter", "reported_account", "post_text", "source_url",
               "original_name")


class LeaseError(Exception):
    """A lease request refused: `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Holder:
    actor: str
    desk: str


def lease_items(conn: Connection, holder: Holder, count: int, lease_seconds: int, golden_rate: float = 0.0,
                rng: random.Random | None = None) -> list[dict]:
    """Lease up to `count` items to `holder` (fewer when the queue or the desk's allowance runs out).
    Golden items (`hub qa golden import`) are held out of the review order: each place is a golden one
    with probability `golden_rate` (while any is pending), the rest come from the queue; a lease looks
    the same either way. When the queue is empty, what golden items are left fill the places."""
    now = utc_now()
    now_s, expires = iso(now), iso(now + timedelta(seconds=lease_seconds))
    advisory_lock(conn, f"desk:{holder.desk}")  # one desk's concurrent calls cannot overrun its allowance
    room = min(count, MAX_PER_DESK - _live_count(conn, holder.desk, now_s))
    draw = rng or random
    wanted_golden = sum(draw.random() < golden_rate for _ in range(max(room, 0)))
    taken = _take(conn, wanted_golden, now_s, holder, expires, golden=True)
    for golden in (False, True):  # the queue first; golden items only for places it cannot fill
        taken += _take(conn, room - len(taken), now_s, holder, expires, golden=golden)
    return _with_items(conn, taken)


def _take(conn: Connection, n: int, now_s: str, holder: Holder, expires: str, *, golden: bool) -> list[dict]:
    taken: list[dict] = []
    while len(taken) < n:
        batch = _claim(conn, n - len(taken), now_s, golden)
        if not batch:
            break
        taken.extend(_grant(conn, row, holder, now_s, expires) for row in batch)
    return taken


def _live_count(conn: Connection, desk: str, now_s: str) -> int:
    query = select(func.count()).select_from(leases).where(
        leases.c.desk == desk, leases.c.ended_at.is_(None), leases.c.expires_at > now_s)
    return conn.execute(query).scalar_one()


def _claim(conn: Connection, n: int, now_s: str, golden: bool = False) -> list:
    is_golden = items.c.id.in_(select(golden_items.c.item_id))
    query = (select(items.c.id, items.c.lease_id)
             .where(items.c.status == "pending", is_golden if golden else ~is_golden,
                    or_(items.c.lease_expires_at.is_(None), items.c.lease_expires_at <= now_s))
             .order_by(*REVIEW_ORDER).limit(n)
             .with_for_update(skip_locked=True, of=items))
    return list(conn.execute(query))


def _grant(conn: Connection, row, holder: Holder, now_s: str, expires: str) -> dict:
    if row.lease_id is not None:  # the item's previous lease ran out: record it as expired now
        conn.execute(update(leases).where(leases.c.lease_id == row.lease_id, leases.c.ended_at.is_(None))
                     .values(ended_at=now_s, end_reason="expired"))
    lease_id = str(uuid.uuid4())
    conn.execute(leases.insert().values(lease_id=lease_id, item_id=row.id, actor=holder.actor, desk=holder.desk,
                                        acquired_at=now_s, expires_at=expires))
    conn.execute(update(items).where(items.c.id == row.id).values(lease_id=lease_id, lease_expires_at=expires))
    return {"lease_id": lease_id, "expires_at": expires, "item_id": row.id}


def _with_items(conn: Connection, taken: list[dict]) -> list[dict]:
    if not taken:
        return []
    ids = [t["item_id"] for t in taken]
    cols = [items.c[name] for name in ITEM_FIELDS] + [media.c.kind, media.c.mime, media.c.bytes]
    rows = {r.id: r._mapping for r in conn.execute(select(*cols).join(media, media.c.sha256 == items.c.sha256)
                                                   .where(items.c.id.in_(ids)))}
    found = item_matches(conn, ids)
    return [{"lease_id": t["lease_id"], "expires_at": t["expires_at"],
             "item": {**dict(rows[t["item_id"]]), "matches": found.get(t["item_id"], [])}} for t in taken]


def item_matches(conn: Connection, item_ids: list[str]) -> dict[str, list[dict]]:
    """Each item's bank matches, strongest (smallest distance) first."""
    query = (select(matches.c.item_id, matches.c.bank, matches.c.signal_type, matches.c.distance,
                    matches.c.label, banks.c.action)
             .join(banks, banks.c.name == matches.c.bank)
             .where(matches.c.item_id.in_(item_ids)).order_by(matches.c.distance, matches.c.id))
    found: dict[str, list[dict]] = {}
    for r in conn.execute(query):
        found.setdefault(r.item_id, []).append({"bank": r.bank, "signal_type": r.signal_type,
                                                "distance": r.distance, "label": r.label, "action": r.action})
    return found


def _owned(conn: Connection, lease_id: str, holder: Holder):
    return owned_lease(conn, leases, leases.c.item_id, items, lease_id, holder, "lease")


def owned_lease(conn: Connection, lease_table: Table, parent_key: Column, parent: Table, lease_id: str,
                holder: Holder, noun: str):
    """The lease row `lease_id` of `lease_table`, `holder`'s, locked; 404 when there is none, 403 when
    another person holds it. Locks in the order leasing takes them, the parent row (item or QA task,
    `parent_key` names it in the lease) then the lease row, so the two never deadlock."""
    parent_id = conn.execute(select(parent_key).where(lease_table.c.lease_id == lease_id)).scalar()
    if parent_id is not None:
        conn.execute(select(parent.c.id).where(parent.c.id == parent_id).with_for_update()).first()
    row = conn.execute(select(lease_table).where(lease_table.c.lease_id == lease_id).with_for_update()).first()
    if row is None:
        raise LeaseError(404, f"no {noun} {lease_id}")
    if row.actor != holder.actor:
        raise LeaseError(403, f"{noun} {lease_id} is not yours")
    return row


def renew(conn: Connection, lease_id: str, holder: Holder, lease_seconds: int) -> dict:
    """Extend a live lease of `holder`'s by `lease_seconds` from now; 409 when it is no longer held."""
    return renew_owned(conn, leases, leases.c.item_id, items, lease_id, holder, lease_seconds, "lease")


def renew_owned(conn: Connection, lease_table: Table, parent_key: Column, parent: Table, lease_id: str,
                holder: Holder, lease_seconds: int, noun: str) -> dict:
    """Extend a live lease (an item's or a QA task's) and its parent row's copy of the expiry; 409 when
    the lease ended or ran out (owned_lease's 404/403 first)."""
    row = owned_lease(conn, lease_table, parent_key, parent, lease_id, holder, noun)
    now = utc_now()
    if row.ended_at is not None:
        raise LeaseError(409, f"{noun} {lease_id} was {row.end_reason} at {row.ended_at}")
    if row.expires_at <= iso(now):
        raise LeaseError(409, f"{noun} {lease_id} expired at {row.expires_at}")
    expires = iso(now + timedelta(seconds=lease_seconds))
    conn.execute(update(lease_table).where(lease_table.c.lease_id == lease_id).values(expires_at=expires))
    conn.execute(update(parent).where(parent.c.id == row._mapping[parent_key.name], parent.c.lease_id == lease_id)
                 .values(lease_expires_at=expires))
    return {"lease_id": lease_id, "expires_at": expires}


def return_lease(conn: Connection, lease_id: str, holder: Holder) -> dict:
    """End `holder`'s lease now; its item is leasable again at once. Returning a lease that already
    ended or expired changes nothing and answers the same (a desk returns what it holds on quit)."""
    row = _owned(conn, lease_id, holder)
    if row.ended_at is None:
        now_s = iso(utc_now())
        decided = conn.execute(select(decisions.c.seq).where(
            decisions.c.lease_id == lease_id, decisions.c.status == "accepted").limit(1)).first()
        reason = "expired" if row.expires_at <= now_s else ("decided" if decided else "returned")
        conn.execute(update(leases).where(leases.c.lease_id == lease_id)
                     .values(ended_at=now_s, end_reason=reason))
        conn.execute(update(items).where(items.c.id == row.item_id, items.c.lease_id == lease_id)
                     .values(lease_id=None, lease_expires_at=None))
    return {"lease_id": lease_id, "returned": True}


def holds_media(conn: Connection, actor: str, sha256: str) -> bool:
    """Whether `actor` holds a live lease on an item with media `sha256`."""
    now_s = iso(utc_now())
    query = (select(leases.c.lease_id).join(items, items.c.id == leases.c.item_id)
             .where(items.c.sha256 == sha256, leases.c.actor == actor, leases.c.ended_at.is_(None),
                    leases.c.expires_at > now_s, items.c.lease_id == leases.c.lease_id).limit(1))
    return conn.execute(query).first() is not None


def live_lease(conn: Connection, item_id: str) -> tuple[str | None, str | None]:
    """(lease_id, expires_at) of the live lease on an item, or (None, None)."""
    row = conn.execute(select(items.c.lease_id, items.c.lease_expires_at).where(items.c.id == item_id)).first()
    if row is None or row.lease_id is None or row.lease_expires_at <= iso(utc_now()):
        return None, None
    return row.lease_id, row.lease_expires_at

