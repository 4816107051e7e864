"""The store's side of the sync with a team hub: leases, the outbox's delivery state, conflicts and the
sync state (desk id, versions seen). Plain SQL: writes run inside the store's writer transaction
(the callers in moderator/sync_*.py audit every change of an item); reads take any connection.

Outbox rows are sent in seq order and only for items that came from the hub (`origin = 'hub'`): a
locally imported item has no lease and no id the hub knows, so its decisions stay local.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.clock import now_iso
from moderator.domain import ItemStatus

FETCHING, HELD, RETURNED, EXPIRED, DECIDED, REFUSED = "fetching", "held", "returned", "expired", "decided", "refused"
OPEN = (ItemStatus.PENDING.value, ItemStatus.SKIPPED.value)
_OPEN_SQL = f"('{OPEN[0]}', '{OPEN[1]}')"
_PENDING_ROWS = "o.sent_at IS NULL AND o.rejected_at IS NULL AND o.kind = 'decision'"
# The item a decision row is about, from its canonical payload (moderator.outbox: item_id is always there).
_ITEM_OF = "json_extract(o.payload, '$.item_id')"


@dataclass(frozen=True)
class Lease:
    lease_id: str
    item_id: str
    sha256: str
    expires_at: str
    state: str
    item: dict[str, Any]  # the lease's item object as the hub sent it
    reason: str | None
    changed_at: str  # when this desk last received, renewed or changed it


_LEASE = "l.lease_id, l.item_id, l.sha256, l.expires_at, l.state, l.item, l.reason, l.changed_at"


def _lease(row: Sequence[Any]) -> Lease:
    return Lease(*row[:5], json.loads(row[5]), row[6], row[7])


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    ref: str
    payload: str
    item_id: str
    lease_id: str | None


# -- sync state ---------------------------------------------------------------------------------
def get_state(db: Db, key: str) -> str | None:
    row = db.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_state(db: Db, key: str, value: str) -> None:
    db.execute("INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               (key, value))


def desk_id(db: Db) -> str | None:
    """The id this desk sends the hub (X-Moderator-Desk), None before it first synced."""
    return get_state(db, "desk_id")


def ensure_desk_id(db: Db) -> str:
    """The desk's id, made once (a uuid4) the first time it is asked for; call on the writer."""
    db.execute("INSERT OR IGNORE INTO sync_state (key, value) VALUES ('desk_id', ?)", (str(uuid.uuid4()),))
    return get_state(db, "desk_id")


# -- leases -------------------------------------------------------------------------------------
def record_leases(db: Db, leases: Iterable[dict[str, Any]]) -> list[str]:
    """Keep every lease the hub handed out (state fetching) before any media is downloaded, so a desk
    killed mid-download resumes, and returns them, from here. Returns the new lease ids."""
    at, new = now_iso(), []
    for lease in leases:
        item = lease["item"]
        cursor = db.execute(
            "INSERT OR IGNORE INTO hub_leases (lease_id, item_id, sha256, expires_at, state, leased_at, changed_at, item) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (lease["lease_id"], item["id"], item["sha256"], lease["expires_at"], FETCHING, at, at, json.dumps(item)))
        if cursor.rowcount:
            new.append(lease["lease_id"])
    return new


def leases(db: Db, state: str) -> list[Lease]:
    sql = f"SELECT {_LEASE} FROM hub_leases l WHERE l.state = ? ORDER BY l.leased_at, l.rowid"
    return [_lease(r) for r in db.execute(sql, (state,))]


def set_lease_state(db: Db, lease_id: str, state: str, *, reason: str | None = None,
                    expires_at: str | None = None) -> None:
    db.execute("UPDATE hub_leases SET state = ?, reason = COALESCE(?, reason), expires_at = COALESCE(?, expires_at), "
               "changed_at = ? WHERE lease_id = ?", (state, reason, expires_at, now_iso(), lease_id))


def in_hand(db: Db) -> int:
    """Held leases whose item is still open here: the work the moderator has in hand."""
    sql = (f"SELECT COUNT(*) FROM hub_leases l JOIN items i ON i.id = l.item_id "
           f"WHERE l.state = '{HELD}' AND i.status IN {_OPEN_SQL}")
    return db.execute(sql).fetchone()[0] + db.execute(
        f"SELECT COUNT(*) FROM hub_leases WHERE state = '{FETCHING}'").fetchone()[0]


def held_count(db: Db) -> int:
    return db.execute(f"SELECT COUNT(*) FROM hub_leases WHERE state = '{HELD}'").fetchone()[0]


def to_renew(db: Db) -> list[Lease]:
    """Held leases worth keeping: the item is open here, or decided here with decisions not yet
    delivered (holding the lease until then keeps the item off other desks)."""
    sql = (f"SELECT {_LEASE}, i.status FROM hub_leases l JOIN items i ON i.id = l.item_id "
           f"WHERE l.state = '{HELD}' ORDER BY l.leased_at")
    unsent = _items_with_unsent(db)
    return [_lease(r) for r in db.execute(sql) if r[8] in OPEN or r[1] in unsent]


def settle_decided(db: Db) -> int:
    """Held leases whose item is closed here with every decision delivered become `decided`: the hub
    has the outcome, nothing is left to hold. Returns how many."""
    unsent = _items_with_unsent(db)
    rows = db.execute(f"SELECT l.lease_id, l.item_id FROM hub_leases l JOIN items i ON i.id = l.item_id "
                      f"WHERE l.state = '{HELD}' AND i.status NOT IN {_OPEN_SQL}").fetchall()
    done = [r[0] for r in rows if r[1] not in unsent]
    for lease_id in done:
        set_lease_state(db, lease_id, DECIDED)
    return len(done)


def to_return(db: Db) -> list[Lease]:
    """Held (or still fetching) leases of items nobody here has decided: what quitting hands back."""
    fetching = leases(db, FETCHING)
    unsent = _items_with_unsent(db)
    sql = (f"SELECT {_LEASE} FROM hub_leases l JOIN items i ON i.id = l.item_id "
           f"WHERE l.state = '{HELD}' AND i.status IN {_OPEN_SQL} ORDER BY l.leased_at")
    held = [_lease(r) for r in db.execute(sql) if r[1] not in unsent]
    return fetching + held


def lease_for_item(db: Db, item_id: str) -> str | None:
    row = db.execute("SELECT lease_id FROM hub_leases WHERE item_id = ? AND state != ? "
                     "ORDER BY leased_at DESC, rowid DESC LIMIT 1", (item_id, REFUSED)).fetchone()
    return row[0] if row else None


def refused_before(db: Db, item_id: str, sha256: str) -> bool:
    """Whether this desk already refused this item's media under an earlier lease."""
    return db.execute("SELECT 1 FROM hub_leases WHERE item_id = ? AND sha256 = ? AND state = ? LIMIT 1",
                      (item_id, sha256, REFUSED)).fetchone() is not None


def refused(db: Db, limit: int = 20) -> list[Lease]:
    sql = f"SELECT {_LEASE} FROM hub_leases l WHERE l.state = ? ORDER BY l.changed_at DESC LIMIT ?"
    return [_lease(r) for r in db.execute(sql, (REFUSED, limit))]


# -- the outbox ----------------------------------------------------------------------------------
def unsent(db: Db, limit: int) -> list[OutboxRow]:
    """The oldest undelivered decision rows of hub items, in seq order, with the item's latest lease."""
    sql = (f"SELECT o.seq, o.ref, o.payload, {_ITEM_OF} AS item_id, "
           f"(SELECT l.lease_id FROM hub_leases l WHERE l.item_id = {_ITEM_OF} AND l.state != '{REFUSED}' "
           f" ORDER BY l.leased_at DESC, l.rowid DESC LIMIT 1) "
           f"FROM outbox o JOIN items i ON i.id = {_ITEM_OF} "
           f"WHERE {_PENDING_ROWS} AND i.origin = 'hub' ORDER BY o.seq LIMIT ?")
    return [OutboxRow(*r) for r in db.execute(sql, (limit,))]


def _items_with_unsent(db: Db) -> set[str]:
    sql = f"SELECT DISTINCT {_ITEM_OF} FROM outbox o WHERE {_PENDING_ROWS}"
    return {r[0] for r in db.execute(sql)}


def counts(db: Db) -> dict[str, int]:
    """unsynced (hub items' rows waiting), rejected (refused by the hub for good), local_only (rows of
    locally imported items, which no hub receives)."""
    sql = (f"SELECT i.origin = 'hub', o.rejected_at IS NOT NULL, COUNT(*) FROM outbox o "
           f"JOIN items i ON i.id = {_ITEM_OF} WHERE o.sent_at IS NULL AND o.kind = 'decision' GROUP BY 1, 2")
    out = {"unsynced": 0, "rejected": 0, "local_only": 0}
    for hub, rejected, n in db.execute(sql):
        key = "local_only" if not hub else ("rejected" if rejected else "unsynced")
        out[key] += n
    return out


def mark_sent(db: Db, seqs: Sequence[int], at: str) -> None:
    db.conn.executemany("UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE seq = ?",
                        [(at, s) for s in seqs])


def mark_rejected(db: Db, seq: int, reason: str, at: str) -> None:
    db.execute("UPDATE outbox SET rejected_at = ?, attempts = attempts + 1, last_error = ? WHERE seq = ?",
               (at, reason, seq))


def mark_failed(db: Db, seqs: Sequence[int], error: str) -> None:
    """A delivery attempt that did not get an answer: counted, its error kept, the rows stay unsent."""
    db.conn.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                        [(error, s) for s in seqs])


def rejected_rows(db: Db, limit: int = 20) -> list[tuple[int, str, str]]:
    """(seq, decision uuid, reason) of rows the hub refused for good, newest first."""
    sql = "SELECT seq, ref, last_error FROM outbox WHERE rejected_at IS NOT NULL ORDER BY seq DESC LIMIT ?"
    return [tuple(r) for r in db.execute(sql, (limit,))]


# -- conflicts and bank removals ----------------------------------------------------------------
def add_conflict(db: Db, decision_uuid: str, item_id: str, reason: str, at: str) -> bool:
    cursor = db.execute("INSERT OR IGNORE INTO sync_conflicts (decision_uuid, item_id, reason, at) VALUES (?, ?, ?, ?)",
                        (decision_uuid, item_id, reason, at))
    return bool(cursor.rowcount)


def conflicts(db: Db) -> list[tuple[str, str, str, str]]:
    """(decision uuid, item id, reason, at) of every decision the hub found decided elsewhere, newest first."""
    sql = "SELECT decision_uuid, item_id, reason, at FROM sync_conflicts ORDER BY id DESC"
    return [tuple(r) for r in db.execute(sql)]


def record_bank_removal(db: Db, bank: str, signal_type: str, hash_: str, version: int) -> None:
    db.execute("INSERT OR IGNORE INTO hub_bank_removals (bank, signal_type, hash, version, at) VALUES (?, ?, ?, ?, ?)",
               (bank, signal_type, hash_, version, now_iso()))
