"""Bank, bank-entry, hash and match rows: plain SQL over the store's connection, no hashing here.

Writes are called inside the store's writer transaction; reads take any connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.clock import now_iso
from moderator.domain import Bank, BankAction, BankKind, Item, Match
from storage import items as items_repo

# (signal_type, hash, label, source, category): the columns a bank file carries for each entry.
EntryTuple = tuple[str, str, str, str, str]
# (signal_type, value, quality, frame_index, time_s): one hash of an item; video frames fill the last two.
HashTuple = tuple[str, str, "int | None", "int | None", "float | None"]

BULK_ROWS = 50_000
BULK_CACHE_KIB = 256 * 1024  # at most; SQLite only allocates the pages it fills, and frees them after

_BANK_COUNTS = (  # bank_entry_counts: kept by add_entries, so no count over millions of rows
    "SELECT b.*, (SELECT COALESCE(SUM(c.entries), 0) FROM bank_entry_counts c WHERE c.bank = b.name) AS entries "
    "FROM banks b"
)
_ADD_COUNT = "ON CONFLICT (bank, signal_type) DO UPDATE SET entries = entries + excluded.entries"
_MATCH_COLUMNS = "m.bank, m.entry_id, m.signal_type, m.label, m.distance, m.query_hash, e.hash, m.variant, m.time_s"


def _row_to_bank(row: Any) -> Bank:
    r = dict(row)
    return Bank(name=r["name"], kind=BankKind(r["kind"]), signal_type=r["signal_type"],
                threshold=r["threshold"], action=BankAction(r["action"]), created_at=r["created_at"],
                description=r["description"], entries=r.get("entries", 0))


def create_bank(db: Db, bank: Bank) -> None:
    db.execute(
        "INSERT INTO banks (name, kind, signal_type, threshold, action, created_at, description) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (bank.name, bank.kind.value, bank.signal_type, bank.threshold, bank.action.value,
         bank.created_at, bank.description),
    )


def get_bank(db: Db, name: str) -> Bank | None:
    row = db.execute(f"{_BANK_COUNTS} WHERE b.name = ?", (name,)).fetchone()
    return _row_to_bank(row) if row else None


def list_banks(db: Db, counts: bool = True) -> list[Bank]:
    """Every bank by name, with its entry count unless `counts` is False (a lookup per bank in
    bank_entry_counts: cheap, but not needed for every item matched)."""
    sql = _BANK_COUNTS if counts else "SELECT b.* FROM banks b"
    return [_row_to_bank(r) for r in db.execute(f"{sql} ORDER BY b.name")]


def add_entries(db: Db, bank: str, rows: Sequence[EntryTuple], added_by: str) -> int:
    """Insert entries, skipping any (signal_type, hash) the bank already holds; returns how many were new,
    and adds them to bank_entry_counts in the same transaction.

    One executemany of plain tuples (a million random PDQ hashes, read + validate + commit + audit:
    docs/PERFORMANCE.md, "Bank import"). Inserting them in key order took as long under the same
    load, so the unique index's random order is not the main cost.
    New rows take ids above every id before them (INTEGER PRIMARY KEY, rows never deleted) and the
    writer's transaction adds no others, so they are counted per signal type over that id range alone.
    """
    at = now_iso()
    types = {row[0] for row in rows}
    # A mixed batch counts its new rows by type afterwards, over the ids above every id before it.
    before = db.execute("SELECT COALESCE(MAX(id), 0) FROM bank_entries").fetchone()[0] if len(types) > 1 else 0
    with _big_cache(db, len(rows)):
        cursor = db.conn.executemany(
            "INSERT OR IGNORE INTO bank_entries (bank, signal_type, hash, label, source, category, added_at, "
            "added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((bank, s, h, label, source, category, at, added_by) for s, h, label, source, category in rows),
        )
    added = max(cursor.rowcount, 0)
    if added and len(types) == 1:  # the usual file: one signal type, so the row count is its count
        db.execute(f"INSERT INTO bank_entry_counts (bank, signal_type, entries) VALUES (?, ?, ?) {_ADD_COUNT}",
                   (bank, types.pop(), added))
    elif added:
        db.execute("INSERT INTO bank_entry_counts (bank, signal_type, entries) SELECT ?, signal_type, COUNT(*) "
                   f"FROM bank_entries WHERE id > ? GROUP BY signal_type {_ADD_COUNT}", (bank, before))
    return added


def entry_count(db: Db, bank: str, signal_type: str, up_to_id: int | None = None) -> int:
    """Entries of one bank and signal type (with id <= up_to_id when given): the kept count, less the
    entries above up_to_id, counted over the index (few: those added since a saved index was made)."""
    row = db.execute("SELECT entries FROM bank_entry_counts WHERE bank = ? AND signal_type = ?",
                     (bank, signal_type)).fetchone()
    total = row[0] if row else 0
    if up_to_id is None:
        return total
    above = db.execute("SELECT COUNT(*) FROM bank_entries WHERE bank = ? AND signal_type = ? AND id > ?",
                       (bank, signal_type, up_to_id)).fetchone()[0]
    return total - above


@contextmanager
def _big_cache(db: Db, rows: int) -> Iterator[None]:
    """For a large batch, let SQLite keep the unique index in memory: random-order hash keys otherwise
    evict and re-read pages for every row (1M rows: 8.9 s with the 2 MB default, 6.3 s with this)."""
    if rows < BULK_ROWS:
        yield
        return
    before = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA cache_size = {int(before)}")


def entries(db: Db, bank: str) -> list[tuple]:
    """(id, signal_type, hash, label, source, category) of every entry, in the order they were added."""
    sql = "SELECT id, signal_type, hash, label, source, category FROM bank_entries WHERE bank = ? ORDER BY id"
    return [tuple(r) for r in db.execute(sql, (bank,))]


def entry_hashes(db: Db, bank: str, signal_type: str, after_id: int = 0) -> tuple[list[int], list[str]]:
    """Ids and hashes of one bank's entries of one signal type with id > after_id, in id order (columnar,
    so an index over millions of entries is built without a Python object per row)."""
    cursor = db.execute(
        "SELECT id, hash FROM bank_entries WHERE bank = ? AND signal_type = ? AND id > ? ORDER BY id",
        (bank, signal_type, after_id),
    )
    rows = cursor.fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def max_entry_id(db: Db, bank: str, signal_type: str) -> int:
    """Highest entry id of one bank and signal type (0 when none): one index probe, so an in-memory
    index can check it is current before every use. Entries are only ever appended."""
    row = db.execute(
        "SELECT MAX(id) FROM bank_entries WHERE bank = ? AND signal_type = ?", (bank, signal_type)
    ).fetchone()
    return row[0] or 0


def entries_by_id(db: Db, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """id -> (hash, label) for the entries a query hit."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = db.execute(f"SELECT id, hash, label FROM bank_entries WHERE id IN ({marks})", list(ids))
    return {r[0]: (r[1], r[2]) for r in rows}


def save_hashes(db: Db, item_id: str, rows: Iterable[HashTuple]) -> None:
    at = now_iso()
    db.conn.executemany(
        "INSERT OR IGNORE INTO hashes (item_id, signal_type, value, quality, computed_at, frame_index, time_s) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((item_id, s, v, q, at, f, t) for s, v, q, f, t in rows),
    )


def hashes_for_item(db: Db, item_id: str) -> list[tuple]:
    """(signal_type, value, quality, frame_index, time_s) of an item, frames in time order."""
    sql = ("SELECT signal_type, value, quality, frame_index, time_s FROM hashes WHERE item_id = ? "
           "ORDER BY signal_type, frame_index, value")
    return [tuple(r) for r in db.execute(sql, (item_id,))]


def save_matches(db: Db, item_id: str, matches: Iterable[Match]) -> None:
    at = now_iso()
    db.conn.executemany(
        "INSERT OR IGNORE INTO matches (item_id, bank, entry_id, signal_type, label, distance, query_hash, "
        "variant, time_s, matched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((item_id, m.bank, m.entry_id, m.signal_type, m.label, m.distance, m.query_hash, m.variant,
          m.time_s, at) for m in matches),
    )


def matches_for_items(db: Db, item_ids: Sequence[str]) -> dict[str, list[Match]]:
    """Stored matches per item (nearest first); items without any are left out. For the desk's badges."""
    found: dict[str, list[Match]] = {}
    for start in range(0, len(item_ids), 500):  # stay below SQLite's bound-parameter limit
        chunk = list(item_ids[start : start + 500])
        sql = (f"SELECT m.item_id, {_MATCH_COLUMNS} FROM matches m JOIN bank_entries e ON e.id = m.entry_id "
               f"WHERE m.item_id IN ({','.join('?' * len(chunk))}) ORDER BY m.distance, m.bank, m.entry_id")
        for r in db.execute(sql, chunk):
            found.setdefault(r[0], []).append(Match(*tuple(r)[1:]))
    return found


def matches_for_item(db: Db, item_id: str) -> list[Match]:
    return matches_for_items(db, [item_id]).get(item_id, [])


def unhashed_items(db: Db, limit: int | None = None) -> list[Item]:
    """Items never hashed yet, oldest import first."""
    sql = ("SELECT i.*, m.kind, m.mime, media_file(m.path) AS media_path, m.width, m.height, m.duration_s "
           "FROM items i JOIN media m ON m.sha256 = i.sha256 WHERE i.hashed_at IS NULL "
           "ORDER BY i.imported_at, i.id")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return items_repo.items_from(db.execute(sql))


def is_hashed(db: Db, item_id: str) -> bool:
    row = db.execute("SELECT hashed_at FROM items WHERE id = ?", (item_id,)).fetchone()
    return bool(row and row[0])


def mark_hashed(db: Db, item_id: str) -> None:
    db.execute("UPDATE items SET hashed_at = ? WHERE id = ?", (now_iso(), item_id))


def raise_priority(db: Db, item_id: str, priority: int, suggested_label: str | None) -> int:
    """Lift the item to at least `priority` and record the label a match suggests; returns the new priority."""
    db.execute(
        "UPDATE items SET priority = MAX(priority, ?), suggested_label = COALESCE(?, suggested_label) WHERE id = ?",
        (priority, suggested_label, item_id),
    )
    return db.execute("SELECT priority FROM items WHERE id = ?", (item_id,)).fetchone()[0]

