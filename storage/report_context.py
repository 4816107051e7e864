"""The rows the facts panel reads around an item (moderator.report_context puts them together): the
other items on the same media or reported account, and the item's bank matches with each bank's kind.
Reads only, on indexed columns (items_media, items_reported_account, matches' item), a few rows each."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

MAX_RELATED = 200  # other reports looked at; the panel lists the newest decided ones


def related_items(db: Db, item_id: str, sha256: str, reported_account: str | None) -> list[tuple]:
    """(id, external_id, original_name, source_name, same_media) of other items on this media or
    account, newest first."""
    sql = ("SELECT id, external_id, original_name, source_name, sha256 = ? AS same_media FROM items "
           "WHERE id != ? AND (sha256 = ? OR (? IS NOT NULL AND reported_account = ?)) "
           f"ORDER BY rowid DESC LIMIT {MAX_RELATED}")
    return [tuple(r) for r in db.execute(sql, (sha256, item_id, sha256, reported_account, reported_account))]


def bank_matches(db: Db, item_id: str, limit: int) -> list[tuple]:
    """(bank, kind, label, distance, description) per bank and label matched, nearest first."""
    sql = ("SELECT m.bank, b.kind, m.label, MIN(m.distance), b.description FROM matches m "
           "JOIN banks b ON b.name = m.bank WHERE m.item_id = ? GROUP BY m.bank, m.label "
           "ORDER BY MIN(m.distance), m.bank LIMIT ?")
    return [tuple(r) for r in db.execute(sql, (item_id, limit))]
