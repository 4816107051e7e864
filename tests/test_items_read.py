"""Item rows as Items (storage.items.items_from / row_to_item): the fast path, which looks the columns up
once and fills each frozen Item without its __init__, makes exactly the Items a plain `Item(**row)`
makes, for the queue's SELECT (with bank badges and a suggested label), for SELECTs without the
optional columns, and the Items behave as dataclasses (equal, hashable, frozen, replace)."""

from __future__ import annotations

import dataclasses

import pytest

from moderator.domain import Item, ItemStatus, MediaKind
from moderator.matching import match_pending
from storage import banks as banks_repo
from storage import items as items_repo
from tests.test_desk_banks import bank_of_edited_copy


def reference(row) -> Item:
    """What an item row means, the slow and obvious way."""
    r = dict(row)
    optional = {name: r.get(name) for name in ("suggested_label", *items_repo.CONTEXT_COLUMNS)}
    badges = r.get("match_badges")
    return Item(id=r["id"], sha256=r["sha256"], kind=MediaKind(r["kind"]), mime=r["mime"],
                media_path=r["media_path"], width=r["width"], height=r["height"],
                status=ItemStatus(r["status"]), external_id=r["external_id"], category=r["category"],
                priority=r["priority"], reason=r["reason"], report_count=r["report_count"],
                reported_at=r["reported_at"], sla_due_at=r["sla_due_at"], imported_at=r["imported_at"],
                duration_s=r["duration_s"], source_name=r["source_name"],
                match_badges=tuple(badges.split("\n")) if badges else (), **optional)


def queue_rows(db):
    return list(db.execute(f"{items_repo._SELECT} ORDER BY {items_repo.QUEUE_ORDER}"))


def test_the_queue_select_makes_the_same_items(good_store, policy, tmp_path):
    bank_of_edited_copy(tmp_path, "known-gore", "violence_gore", "block", "escalate", policy, good_store)
    match_pending(good_store, policy)
    good_store.write(lambda db: db.execute("UPDATE items SET reporter = 'r1', post_text = 'two\nlines', "
                                           "status = 'skipped' WHERE source_name = 'coffee.png'"))
    rows = queue_rows(good_store.db)
    got, want = items_repo.items_from(rows), [reference(r) for r in rows]
    assert got == want and len(got) >= 3
    assert [items_repo.row_to_item(r) for r in rows] == want
    banked = [i for i in got if i.match_badges]
    assert banked and banked[0].suggested_label == "violence_gore"
    assert banked[0].match_badges[0].startswith("known-gore:violence_gore d=")
    coffee = next(i for i in got if i.source_name == "coffee.png")
    assert coffee.status is ItemStatus.SKIPPED and coffee.post_text == "two\nlines" and coffee.kind is MediaKind.IMAGE
    assert items_repo.queue(good_store.db) == [reference(r) for r in good_store.db.execute(
        f"{items_repo._SELECT} WHERE i.status IN {items_repo.OPEN_STATUSES} ORDER BY {items_repo.QUEUE_ORDER}")]


def test_a_select_without_the_optional_columns(good_store):
    got = banks_repo.unhashed_items(good_store.db)  # i.* and media, no match_badges
    rows = list(good_store.db.execute(
        "SELECT i.*, m.kind, m.mime, media_file(m.path) AS media_path, m.width, m.height, m.duration_s "
        "FROM items i JOIN media m ON m.sha256 = i.sha256 WHERE i.hashed_at IS NULL ORDER BY i.imported_at, i.id"))
    assert got == [reference(r) for r in rows] and got
    assert all(i.match_badges == () for i in got)


def test_the_items_are_frozen_dataclasses(good_store):
    item = items_repo.items_from(queue_rows(good_store.db))[0]
    assert hash(item) == hash(reference(queue_rows(good_store.db)[0]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.priority = 9
    moved = dataclasses.replace(item, priority=9)
    assert moved.priority == 9 and moved.id == item.id and item.priority != 9
    assert dataclasses.asdict(item)["kind"] is item.kind


def test_a_row_without_a_required_column_raises(good_store):
    row = good_store.db.execute("SELECT i.id, i.sha256 FROM items i").fetchone()
    with pytest.raises(KeyError, match="item row without"):
        items_repo.row_to_item(row)


def test_an_unknown_kind_raises_as_the_enum_does(good_store):
    row = good_store.db.execute(f"{items_repo._SELECT.replace('m.kind', chr(39) + 'hologram' + chr(39) + ' AS kind')}"
                                " LIMIT 1").fetchone()
    with pytest.raises(ValueError, match="hologram"):
        items_repo.row_to_item(row)
