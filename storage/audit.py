"""The append-only audit log: a hash chain whose entries also carry the hash of the rows they record.

Each entry hashes its own fields, the previous entry's hash and a list of *records*: `[view, key, hash]`,
the SHA-256 of a row (or group of rows) as the entry left it, each row as the JSON array of its values. A view is a fixed
set of columns of one table (below); the latest record of a (view, key) is what that row must still be.
The head of the chain (count and hash) is anchored outside the database file, in `store.anchor`,
after every commit that appended entries. With an audit key (`MODERATOR_AUDIT_KEY_FILE`) each entry's
hash, and the anchor, are HMAC-SHA256: without the key nobody can recompute them. `storage.audit_check`
verifies all of it; docs/AUDIT.md says what that proves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.clock import now_iso
from storage.audit_anchor import Anchor, anchor_path, write_anchor

GENESIS = "0" * 64
LEGACY, PLAIN, KEYED = "v1", "sha256", "hmac-sha256"  # audit_log.mac: how an entry's hash was made
KEY_ENV = "MODERATOR_AUDIT_KEY_FILE"
MIN_KEY_BYTES = 32
RANGE_VIEW = "bank_entries"  # records a range of entry ids "first-last": banks are bulk-appended

log = logging.getLogger("moderator.audit")


class AuditKeyError(ValueError):
    """The audit key is configured but unusable, or missing for a store whose log is keyed."""


@dataclass(frozen=True)
class View:
    """What a record of this view hashes: `columns` of the rows of `table` whose `key` column is the key."""

    table: str
    key: str
    columns: tuple[str, ...]
    order: str = "rowid"
    where: str | None = None  # only the rows this condition holds for belong to the view


VIEWS: dict[str, View] = {
    "decision": View("decisions", "uuid", (
        "seq", "uuid", "item_id", "labels", "action", "actor", "decided_at", "handle_ms", "exposure_ms",
        "batch_id", "supersedes", "policy_version", "source", "note")),
    # A view of its own (migration 0006), so the records of every decision made before it keep their hash.
    "decision_qa": View("decisions", "uuid", ("uuid", "qa_of"), where="qa_of IS NOT NULL"),
    # Only what never changes once queued: sync updates sent_at, attempts and last_error.
    "outbox": View("outbox", "seq", ("seq", "kind", "ref", "payload", "created_at")),
    "item": View("items", "id", (
        "id", "sha256", "external_id", "source_name", "category", "reason", "report_count", "reported_at",
        "sla_minutes", "sla_due_at", "imported_at")),
    "item_state": View("items", "id", ("id", "status", "priority", "suggested_label")),
    "item_matches": View("matches", "item_id", (
        "id", "item_id", "bank", "entry_id", "signal_type", "label", "distance", "query_hash", "variant",
        "time_s", "matched_at"), order="id"),
    "bank": View("banks", "name", (
        "name", "kind", "signal_type", "threshold", "action", "created_at", "description")),
    # QA (migration 0008): batches, their tasks as they stand now, golden items, imported decisions' teams.
    "qa_batch": View("qa_batches", "id", ("id", "created_at", "created_by", "strategy", "seed", "params")),
    "qa_task": View("qa_tasks", "id", (
        "id", "batch_id", "position", "decision_uuid", "analyst", "reason", "state", "qa_uuid",
        "resolution_uuid", "note", "changed_at")),
    "golden_item": View("golden_items", "item_id", ("item_id", "labels", "position", "imported_at", "imported_by",
                                                    "origin")),
    "decision_team": View("decision_teams", "uuid", ("uuid", "team")),
}
BANK_ENTRY_COLUMNS = ("id", "bank", "signal_type", "hash", "label", "source", "category", "added_at", "added_by")

Record = tuple[str, str]  # (view, key) asked for; stored as [view, key, hash]


# -- hashing ----------------------------------------------------------------------------------------
def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_row_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_encode_row = _row_encoder.encode
# The C encoder json.dumps itself builds on every call, built once (the same output byte for byte:
# JSONEncoder.encode is this function's chunks joined); a batch hashes 3,000 single rows.
_row_chunks = c_make_encoder and c_make_encoder(None, _row_encoder.default, encode_basestring, None, ":", ",",
                                                False, False, True)


def rows_hash(rows: Iterable[Sequence[Any]]) -> str:
    """SHA-256 over each row's values (in its view's column order) as a JSON array and a newline."""
    h, rows = hashlib.sha256(), iter(rows)
    while chunk := list(islice(rows, 10_000)):  # joined per chunk: a bank of a million entries in seconds
        h.update("".join(_encode_row(row) + "\n" for row in chunk).encode())
    return h.hexdigest()


def row_hash(row: Sequence[Any]) -> str:
    """rows_hash([row]), the same bytes hashed, without its per-call chunking (a batch of 1,000
    records 3,000 rows, each its key's only one)."""
    text = "".join(_row_chunks(row, 0)) if _row_chunks and isinstance(row, list | tuple) else _encode_row(row)
    return hashlib.sha256((text + "\n").encode()).hexdigest()


# Views whose key is unique in their table (a primary or unique key, and no `where`): a row is its
# key's only row, so the hash of a record is the row_hash of that one row.
UNIQUE_KEY_VIEWS = frozenset({"decision", "outbox", "item", "item_state"})


def appended(db: Db, view: str, after: int) -> list[tuple[tuple, str]]:
    """Each row of `view` whose rowid is above `after`, in rowid order, with its record's hash: what
    record_hash would give for its key. For what a transaction just appended to an append-only table
    (its rows are the rowids above the last one before it): one range read instead of one per key."""
    if view not in UNIQUE_KEY_VIEWS:
        raise ValueError(f"{view}: a key of this view may cover several rows")
    v = VIEWS[view]
    rows = tuples(db, f"SELECT {', '.join(v.columns)} FROM {v.table} WHERE rowid > ? ORDER BY rowid", (after,))
    return [(row, row_hash(row)) for row in rows]


def record_hash(db: Db, view: str, key: str) -> str:
    """The hash a record of `view` for `key` carries: of the rows it covers, as they are now."""
    if view == RANGE_VIEW:
        return range_hash(db, *parse_range(key))
    v = VIEWS[view]
    where = f" AND ({v.where})" if v.where else ""
    return rows_hash(tuples(db, f"SELECT {', '.join(v.columns)} FROM {v.table} WHERE {v.key} = ?{where} "
                                f"ORDER BY {v.order}", (key,)))


def record_hashes(db: Db, records: Sequence[Record]) -> list[str]:
    """record_hash of each record, in order; the records of one view are read in one query (a batch
    of 1,000 decisions records 3,000 rows), each key's rows hashed exactly as record_hash hashes them."""
    found: dict[tuple[str, str], str] = {}
    by_view: dict[str, list[str]] = {}
    for view, key in records:
        if view != RANGE_VIEW:
            by_view.setdefault(view, []).append(key)
    for view, keys in by_view.items():
        if len(keys) > 1:
            found.update(((view, k), h) for k, h in _view_hashes(db, view, keys).items())
    return [found.get((view, key)) or record_hash(db, view, key) for view, key in records]


def _view_hashes(db: Db, view: str, keys: list[str]) -> dict[str, str]:
    """key -> hash for the keys of one view that have rows (the others: record_hash, the zero-row case)."""
    v = VIEWS[view]
    where = f" AND ({v.where})" if v.where else ""
    sql = (f"SELECT {v.key}, {', '.join(v.columns)} FROM {v.table} "
           f"WHERE {v.key} IN (SELECT value FROM json_each(?)){where} ORDER BY {v.key}, {v.order}")
    rows: dict[str, list[tuple]] = {}
    for row in tuples(db, sql, (json.dumps(list(dict.fromkeys(keys))),)):
        rows.setdefault(str(row[0]), []).append(row[1:])
    return {k: row_hash(r[0]) if len(r) == 1 else rows_hash(r) for k, r in rows.items()}


def range_hash(db: Db, first: int, last: int) -> str:
    """The bank entries with ids first..last, one JSON array per row as SQLite's json_array writes it
    (a million rows cost no more than reading them; the columns are all TEXT and INTEGER, whose JSON
    form does not vary between SQLite versions, unlike REAL)."""
    h = hashlib.sha256()
    cursor = db.conn.execute(f"SELECT json_array({', '.join(BANK_ENTRY_COLUMNS)}) || char(10) FROM bank_entries "
                             "WHERE id BETWEEN ? AND ? ORDER BY id", (first, last))
    while chunk := cursor.fetchmany(10_000):
        h.update("".join(r[0] for r in chunk).encode())
    return h.hexdigest()


def tuples(db: Db, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple]:
    """Plain tuples, whatever the connection's row factory (JSON encodes them as arrays)."""
    cursor = db.conn.cursor()
    cursor.row_factory = None
    return iter(cursor.execute(sql, params))


def parse_range(key: str) -> tuple[int, int]:
    first, _, last = key.partition("-")
    return int(first), int(last)


def entry_digest(key: bytes | None, seq: int, prev: str, at: str, actor: str, event: str,
                 subject: str | None, payload: str, records: str) -> str:
    """An entry's hash: HMAC-SHA256 with the audit key, else SHA-256, of its canonical fields."""
    body = json.dumps(["moderator-audit/2", seq, prev, at, actor, event, subject, payload, records],
                      separators=(",", ":")).encode()
    if key is not None:
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return hashlib.sha256(body).hexdigest()


def legacy_digest(prev: str, at: str, actor: str, event: str, subject: str | None, payload: str) -> str:
    """The hash of entries written before migration 0003 (no seq, no records, never keyed)."""
    body = json.dumps([prev, at, actor, event, subject, payload], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


# -- the key ----------------------------------------------------------------------------------------
def load_key(data_dir: Path | None = None) -> bytes | None:
    """The audit key from the file $MODERATOR_AUDIT_KEY_FILE names (None when unset): at least 32 bytes,
    private to its owner (like an ssh key) and outside the data dir (a key beside the data guards nothing)."""
    name = os.environ.get(KEY_ENV, "").strip()
    if not name:
        return None
    path = Path(name).expanduser()
    if data_dir is not None and path.resolve().is_relative_to(Path(data_dir).resolve()):
        raise AuditKeyError(f"{KEY_ENV}: {path} is inside the data dir {data_dir}; keep the key elsewhere")
    try:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            raise AuditKeyError(f"{KEY_ENV}: {path} is readable by others; chmod 600 it")
        key = path.read_bytes().strip()
    except OSError as exc:
        raise AuditKeyError(f"{KEY_ENV}: cannot read {path}: {exc.strerror or exc}") from None
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(f"{KEY_ENV}: {path} holds {len(key)} bytes; an audit key needs at least "
                            f"{MIN_KEY_BYTES} (e.g. head -c 32 /dev/urandom | base64 > FILE)")
    return key


def key_id(key: bytes) -> str:
    """A short public name of a key, so verify can tell a wrong key from a forged log."""
    return hashlib.sha256(b"moderator-audit-key-id:" + key).hexdigest()[:16]


# -- appending --------------------------------------------------------------------------------------
_pending_anchor: weakref.WeakSet[Db] = weakref.WeakSet()


def append(db: Db, actor: str, event: str, subject: str | None, payload: dict[str, Any],
           records: Iterable[Record | None] = (), known: Mapping[Record, str] | None = None) -> str:
    """Append one entry recording `records` (call inside the writer's transaction, after the rows are
    written); returns its hash. The store anchors the new head after the commit. `known`: the hashes
    of records the caller has just hashed from the rows as stored (appended, row_hash of values read
    back or exactly as written); the others are read here."""
    key = load_key(database_dir(db)) if os.environ.get(KEY_ENV, "").strip() else None  # unset: no key, no look
    last = db.execute("SELECT seq, hash, mac FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev, mode = (last[0] + 1, last[1], last[2]) if last else (1, GENESIS, None)
    if mode == KEYED and key is None:
        raise AuditKeyError(f"this store's audit log is keyed: set {KEY_ENV} to write to it")
    asked = [(view, str(k)) for view, k in filter(None, records)]
    known = known or {}
    rest = [r for r in asked if r not in known]
    found = {**dict(zip(rest, record_hashes(db, rest), strict=True)), **known}
    stored = [[view, k, found[(view, k)]] for view, k in asked]
    at, body, recs = now_iso(), canonical(payload), canonical(stored)
    digest = entry_digest(key, seq, prev, at, actor, event, subject, body, recs)
    db.execute(
        "INSERT INTO audit_log (seq, at, actor, event, subject, payload, records, mac, prev_hash, hash) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        (seq, at, actor, event, subject, body, recs, KEYED if key else PLAIN, prev, digest),
    )
    _pending_anchor.add(db)
    return digest


def item_records(item_id: str) -> list[Record]:
    """What an import records: the item's identity and its state."""
    return [("item", item_id), ("item_state", item_id)]


def last_id(db: Db, table: str) -> int:
    return db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0]


def bank_entries_since(db: Db, after_id: int) -> Record | None:
    """A record of the bank entries added after `after_id` (one insert adds consecutive ids), if any."""
    top = last_id(db, "bank_entries")
    return (RANGE_VIEW, f"{after_id + 1}-{top}") if top > after_id else None


def baseline_records(db: Db) -> list[Record]:
    """Every row a store held before its entries carried row hashes (migration 0003)."""
    records: list[Record] = [("decision", r[0]) for r in db.execute("SELECT uuid FROM decisions ORDER BY seq")]
    records += [("outbox", str(r[0])) for r in db.execute("SELECT seq FROM outbox ORDER BY seq")]
    for (item_id,) in db.execute("SELECT id FROM items ORDER BY rowid").fetchall():
        records += item_records(item_id)
    records += [("item_matches", r[0]) for r in db.execute("SELECT DISTINCT item_id FROM matches ORDER BY item_id")]
    records += [("bank", r[0]) for r in db.execute("SELECT name FROM banks ORDER BY name")]
    return [*records, bank_entries_since(db, 0)]


def database_dir(db: Db) -> Path | None:
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent if row and row[2] else None


# -- the anchor (the file: storage/audit_anchor.py) ------------------------------------------------
def head(db: Db, key: bytes | None = None) -> Anchor:
    row = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    count, digest = (row[0], row[1]) if row else (0, GENESIS)
    if key is None:
        return Anchor(count, digest)
    unsigned = Anchor(count, digest, key_id(key))
    return Anchor(count, digest, unsigned.key_id, unsigned.expected_mac(key))


# Where the head is published after each commit: the sidecar first; the hub registers itself here
# (register_anchor) once sync exists, and verify compares the chain with each anchor it can read.
_ANCHOR_SINKS: list[Callable[[Path, Anchor], None]] = [lambda db_path, a: write_anchor(anchor_path(db_path), a)]


def register_anchor(sink: Callable[[Path, Anchor], None]) -> None:
    """Publish every new head to `sink(db_path, anchor)` too (the hub: a second anchor off this machine)."""
    _ANCHOR_SINKS.append(sink)


def after_commit(db: Db, db_path: str | Path) -> None:
    """Anchor the committed head if this connection appended entries; called by the store's writer after
    each commit. Never raises: a failed anchor leaves the sidecar behind, which verify reports."""
    if db not in _pending_anchor:
        return
    _pending_anchor.discard(db)
    try:
        with _anchor_lock(Path(db_path).parent):  # another process may be anchoring its own commit
            anchor = head(db, load_key(Path(db_path).parent))
            for sink in _ANCHOR_SINKS:
                sink(Path(db_path), anchor)
    except (OSError, sqlite3.Error, AuditKeyError) as exc:
        log.error("audit anchor not written for %s: %s", db_path, exc)


class _anchor_lock:
    """An exclusive flock on the data dir while the head is read and written, so that two processes
    committing at once leave the later head in the sidecar, never the earlier."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.fd = folder, None

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        self.fd = os.open(self.folder, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock


def verify(db: Db) -> int | None:
    """The seq of the first entry whose chain link or hash is broken, or None (the chain only: for the
    whole check, rows and anchor included, see storage.audit_check.check)."""
    from storage.audit_check import chain_problems

    problems, _ = chain_problems(db, load_key(database_dir(db)))
    return next((p.seq for p in problems if p.seq is not None), None)
