"""Item and media rows: insert on import, the ordered review queue, status changes.

An item is a report and media is content: many items may share one media row (the same image
reported twice), and the hashes computed from that content (`media_hashes`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import fields
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.clock import now_iso
from moderator.domain import Item, ItemStatus, MediaKind
from storage import qa as qa_repo

# moderator.queue_state.queue_key sorts the same in Python (tests/test_queue_state.py checks it).
# A skipped item keeps its place (the desk hides it for a while instead: items.skip_until).
QUEUE_ORDER = (
    "i.priority DESC, "
    "i.sla_due_at IS NULL, i.sla_due_at, COALESCE(i.reported_at, i.imported_at), i.imported_at, i.id"
)
# The report's context (migration 0010), as named on Item, in manifests and in the hub's lease payload.
CONTEXT_COLUMNS = ("reporter", "reported_account", "post_text", "source_url", "original_name")
OPEN_STATUSES = (ItemStatus.PENDING.value, ItemStatus.SKIPPED.value)
_SELECT = (
    "SELECT i.*, m.kind, m.mime, media_file(m.path) AS media_path, m.width, m.height, m.duration_s, "
    "(SELECT group_concat(x.badge, char(10)) FROM (SELECT bank || ':' || label || ' d=' || distance AS badge "
    " FROM matches WHERE item_id = i.id ORDER BY distance, bank LIMIT 5) x) AS match_badges "
    "FROM items i JOIN media m ON m.sha256 = i.sha256"
)


def row_to_item(row: Any) -> Item:
    """One item row (an `_SELECT` row, or any row of `i.*` and the media columns) as an Item."""
    return _item_maker(tuple(row.keys()))(row)


def items_from(rows: Iterable[Any]) -> list[Item]:
    """Item rows as Items, the columns looked up once for all of them (the queue's 5,000 rows: 12 ms
    against 52 ms for a dict and `Item(...)` per row, timed in-process on 2026-12-03; the desk's start-up
    reads them, bench/bench_startup.py). tests/test_items_read.py holds the two equal."""
    make = None
    items = []
    for row in rows:
        if make is None:
            make = _item_maker(tuple(row.keys()))
        items.append(make(row))
    return items


_KINDS = {kind.value: kind for kind in MediaKind}
_STATUSES = {status.value: status for status in ItemStatus}
# Columns a SELECT may leave out (None on the Item; match_badges: none); every other field is required.
_OPTIONAL = ("suggested_label", "match_badges", *CONTEXT_COLUMNS)
_ITEM_FIELDS = tuple(f.name for f in fields(Item))


@lru_cache(maxsize=32)
def _item_maker(keys: tuple[str, ...]) -> Callable[[Any], Item]:
    """A function from a row with these columns to an Item. The Item is filled in without its frozen
    dataclass `__init__` (one `object.__setattr__` per field, most of a row's cost); Item has no
    `__post_init__`, so the result is the same object `Item(**values)` makes."""
    at = {name: i for i, name in enumerate(keys)}
    needed = [name for name in _ITEM_FIELDS if name not in at and name not in _OPTIONAL]
    if needed:
        raise KeyError(f"item row without {needed[0]!r}")
    special = ("kind", "status", "match_badges")
    plain = [(name, at[name]) for name in _ITEM_FIELDS if name in at and name not in special]
    absent = {name: None for name in _OPTIONAL if name not in at and name != "match_badges"}
    kind, status, badges = at["kind"], at["status"], at.get("match_badges")
    new = object.__new__

    def make(row: Any) -> Item:
        values = {name: row[i] for name, i in plain}
        values["kind"] = _KINDS.get(row[kind]) or MediaKind(row[kind])  # an unknown value raises as before
        values["status"] = _STATUSES.get(row[status]) or ItemStatus(row[status])
        text = row[badges] if badges is not None else None
        values["match_badges"] = tuple(text.split("\n")) if text else ()
        values.update(absent)
        item = new(Item)
        item.__dict__.update(values)
        return item

    return make


def insert_media(db: Db, row: dict[str, Any]) -> None:
    """Insert a media row (a row already held for this content is kept); its path is stored relative
    to the data dir (see media_file())."""
    _insert(db, "media", {**row, "path": relative_to_store(db, row["path"])}, or_ignore=True)


def relative_to_store(db: Db, path: str | Path) -> str:
    main = next(r for r in db.execute("PRAGMA database_list") if r[1] == "main")[2]
    path = os.path.abspath(path)
    top = os.path.dirname(main) if main else None
    if top and path.startswith(top + os.sep):
        return path[len(top) + 1:]
    return path


def insert_item(db: Db, row: dict[str, Any]) -> None:
    _insert(db, "items", row)


def _insert(db: Db, table: str, row: dict[str, Any], *, or_ignore: bool = False) -> None:
    """One row by a plain INSERT of the columns given (the others take their defaults): import writes
    two a file, and sqlite-utils' insert() costs more Python than the write itself (its column and
    type handling). Lists and dicts are stored as JSON, as sqlite-utils stores them."""
    columns = ", ".join(f'"{name}"' for name in row)
    values = [json.dumps(v) if isinstance(v, (dict, list, tuple)) else v for v in row.values()]
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    db.conn.execute(f"{verb} INTO {table} ({columns}) VALUES ({', '.join('?' * len(values))})", values)


def item_id_for_sha(db: Db, sha256: str) -> str | None:
    """The first item imported with this content, if any."""
    row = db.execute("SELECT id FROM items WHERE sha256 = ? ORDER BY rowid LIMIT 1", (sha256,)).fetchone()
    return row[0] if row else None


def media_for_sha(db: Db, sha256: str) -> dict[str, Any] | None:
    """The media row of this content (its path resolved in the data dir), or None."""
    row = db.execute("SELECT *, media_file(path) AS media_path FROM media WHERE sha256 = ?", (sha256,)).fetchone()
    return dict(row) if row else None


# (signal_type, value, quality, frame_index, time_s, variant): one hash computed from a media file.
MediaHashRow = tuple[str, str, "int | None", "int | None", "float | None", "str | None"]


def save_media_hashes(db: Db, sha256: str, rows: list[MediaHashRow], *, replace: bool = False) -> bool:
    """Store what was computed from this content, once: False (nothing written) when it already is,
    unless `replace` (a fuller set: dihedral variants computed now that a PDQ bank wants them)."""
    if replace and rows:
        db.execute("DELETE FROM media_hashes WHERE sha256 = ?", (sha256,))
    if not rows or db.execute("SELECT 1 FROM media_hashes WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone():
        return False
    at = now_iso()
    db.conn.executemany(
        "INSERT INTO media_hashes (sha256, signal_type, value, quality, frame_index, time_s, variant, computed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ((sha256, *r, at) for r in rows))
    return True


def media_hashes(db: Db, sha256: str) -> list[MediaHashRow]:
    """What was computed from this content, in the order it was stored; [] when never hashed."""
    sql = ("SELECT signal_type, value, quality, frame_index, time_s, variant FROM media_hashes "
           "WHERE sha256 = ? ORDER BY rowid")
    return [tuple(r) for r in db.execute(sql, (sha256,))]


def pdq_of_items(db: Db, item_ids: list[str]) -> list[tuple[str, str, str | None, int | None]]:
    """(item id, sha256, PDQ hex, quality) of each item found, the PDQ of its content's first frame (not
    a dihedral variant, not an animation's frame); hex and quality None when it has none."""
    sql = ("SELECT i.id, i.sha256, h.value, h.quality FROM items i LEFT JOIN media_hashes h "
           "ON h.sha256 = i.sha256 AND h.signal_type = 'pdq' AND h.frame_index IS NULL AND h.variant IS NULL "
           "WHERE i.id IN (SELECT value FROM json_each(?))")
    return [tuple(r) for r in db.execute(sql, (json.dumps(list(item_ids)),))]


def unhashed_images(db: Db, item_ids: list[str]) -> list[Item]:
    """The items among item_ids whose content is an image with no `media_hashes` row yet."""
    sql = (f"{_SELECT} WHERE i.id IN (SELECT value FROM json_each(?)) AND m.kind = 'image' "
           "AND NOT EXISTS (SELECT 1 FROM media_hashes h WHERE h.sha256 = i.sha256) ORDER BY i.id")
    return items_from(db.execute(sql, (json.dumps(list(item_ids)),)))


def item_id_for_external(db: Db, external_id: str) -> str | None:
    row = db.execute("SELECT id FROM items WHERE external_id = ?", (external_id,)).fetchone()
    return row[0] if row else None


def get_item(db: Db, item_id: str) -> Item:
    row = db.execute(f"{_SELECT} WHERE i.id = ?", (item_id,)).fetchone()
    if row is None:
        raise KeyError(f"no item {item_id!r}")
    return row_to_item(row)


def queue(db: Db, *, limit: int | None = None, include_closed: bool = False,
          golden_rate: float = 0.0) -> list[Item]:
    """The open items in review order; golden items only as many as `golden_rate` mixes in (storage.qa)."""
    sql = f"{_SELECT} {_queue_where(db, include_closed, golden_rate)} ORDER BY {QUEUE_ORDER}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return items_from(db.execute(sql))


def queue_heads(db: Db, *, hidden: Collection[str] = (), overdue_before: str | None = None,
                golden_rate: float = 0.0) -> list[Item]:
    """What can head the queue, read without reading the queue: the first open item in QUEUE_ORDER and,
    with `overdue_before` (ISO UTC), the first of the items due before it by due time, each the first
    not in `hidden`. moderator.queue_state pins overdue items on top, so the queue's head is the least
    of these by its queue_key (ReviewService.queue_top). Each read stops after len(hidden) + 1 rows, and
    only the row kept is made an Item: the desk's start reads this, not 5,000 rows (ui/first_item.py)."""
    where, limit = _queue_where(db, False, golden_rate), len(hidden) + 1
    reads = [(f"{_SELECT} {where} ORDER BY {QUEUE_ORDER} LIMIT {limit}", ())]
    if overdue_before is not None:
        reads.append((f"{_SELECT} {where} AND i.sla_due_at < ? ORDER BY i.sla_due_at, {QUEUE_ORDER} LIMIT {limit}",
                      (overdue_before,)))
    heads = []
    for sql, params in reads:
        row = next((r for r in db.execute(sql, params) if r["id"] not in hidden), None)
        if row is not None:
            heads.append(row_to_item(row))
    return heads


def _queue_where(db: Db, include_closed: bool, golden_rate: float) -> str:
    conditions = [] if include_closed else [f"i.status IN {OPEN_STATUSES}"]
    if qa_repo.has_qa_tables(db):
        conditions.append(qa_repo.golden_hidden_sql(golden_rate))
    return f"WHERE {' AND '.join(conditions)}" if conditions else "WHERE 1"


def set_status(db: Db, item_id: str, status: ItemStatus) -> None:
    db.execute("UPDATE items SET status = ? WHERE id = ?", (status.value, item_id))


def set_statuses(db: Db, statuses: dict[str, ItemStatus]) -> None:
    """Many items' statuses in one executemany (a batch's items)."""
    db.conn.executemany("UPDATE items SET status = ? WHERE id = ?", [(s.value, i) for i, s in statuses.items()])

