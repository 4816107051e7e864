"""Report context: manifest fields checked like the others, stored by migration 0010, read back on the
item, shown in full by the facts panel (with earlier decisions on the same media or account), and
carried by the hub's lease payload to the desk."""

from __future__ import annotations

import json

import pytest

from moderator.domain import Action
from moderator.escalation import Escalation
from moderator.ingest import import_paths
from moderator.manifest import BadRow, Entry, read_manifest
from moderator.report_context import item_context
from moderator.review import ReviewService
from storage import items as items_repo
from storage.store import Store
from tests.conftest import photo, write_image

CONTEXT = {"reporter": "user:88412", "reported_account": "@sunset_deals", "source_url": "https://example.org/p/771",
           "original_name": "IMG_2041.JPG", "post_text": "Limited offer!!\nDM me for the link\n\n#deal"}


def _folder(tmp_path, rows: list[dict]) -> Path:  # noqa: F821
    folder = tmp_path / "drop"
    folder.mkdir()
    for name in ("retina.jpg", "coffee.jpg", "rocket.jpg"):
        write_image(folder / name, photo(name.removesuffix(".jpg")))
    (folder / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return folder


def test_manifest_context_fields_are_stored_and_read_back(tmp_path, store, policy):
    folder = _folder(tmp_path, [{"path": "retina.jpg", "external_id": "rep-1", **CONTEXT, "reporter": 88412}])
    report = import_paths(store, [folder / "manifest.jsonl"], "tester", policy=policy)
    assert report.skipped == [] and len(report.imported) == 1
    row = store.db.execute("SELECT reporter, reported_account, post_text, source_url, original_name FROM items").fetchone()
    assert tuple(row) == ("88412", "@sunset_deals", CONTEXT["post_text"], CONTEXT["source_url"], "IMG_2041.JPG")
    item = items_repo.get_item(store.db, report.imported[0])
    assert (item.reporter, item.original_name, item.source_name) == ("88412", "IMG_2041.JPG", "retina.jpg")


def test_csv_manifest_takes_the_context_columns(tmp_path, policy):
    (tmp_path / "a.jpg").write_bytes(b"")
    path = tmp_path / "m.csv"
    path.write_text("path,reporter,reported_account,post_text,source_url,original_name\n"
                    'a.jpg,u1,@acct,"two\nlines",http://x.example/1,orig.png\n', encoding="utf-8")
    (entry,) = list(read_manifest(path, policy))
    assert isinstance(entry, Entry)
    assert (entry.reporter, entry.reported_account, entry.post_text) == ("u1", "@acct", "two\nlines")
    assert (entry.source_url, entry.original_name) == ("http://x.example/1", "orig.png")


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("reporter", "alice\x1b[31m", "reporter contains a control character (U+001B)"),
    ("reported_account", "line\nbreak", "only post_text may span lines"),
    ("original_name", "photo\u202egpj.exe", "original_name contains a bidirectional override (U+202E)"),
    ("source_url", "javascript:alert(1)", "source_url must be an http:// or https:// address"),
    ("source_url", "https://", "source_url must be an http:// or https:// address with a host"),
    ("source_url", "https://ex ample.org/", "source_url contains a space"),
    ("post_text", "x" * 10_001, "post_text is longer than 10000 characters"),
    ("post_text", "bell\x07", "post_text contains a control character (U+0007)"),
    ("reported_account", ["@a"], "reported_account must be a string, got a list"),
    ("original_name", 5, "original_name must be a string, got a number"),
    ("reporter", True, "reporter must be a string, got true/false"),
])
def test_bad_context_value_is_a_bad_row_naming_field_and_line(tmp_path, store, policy, field, value, needle):
    folder = _folder(tmp_path, [{"path": "retina.jpg", "external_id": "ok"},
                                {"path": "coffee.jpg", "external_id": "bad", field: value}])
    rows = list(read_manifest(folder / "manifest.jsonl", policy))
    assert isinstance(rows[0], Entry)
    assert isinstance(rows[1], BadRow) and rows[1].origin == "manifest.jsonl:2"
    assert needle in rows[1].reason and "\n" not in rows[1].reason
    report = import_paths(store, [folder / "manifest.jsonl"], "tester", policy=policy)
    assert len(report.imported) == 1  # the good row only; the bad one wrote nothing
    assert [s.origin for s in report.skipped] == ["manifest.jsonl:2"]
    assert store.db.execute("SELECT count(*) FROM items WHERE external_id = 'bad'").fetchone()[0] == 0


def test_migration_0010_adds_the_columns_to_an_older_store(tmp_path):
    """A store migrated up to just before 0010, with an item and a decision in it: opening it adds the
    columns, and its rows read back with no context and no escalation target."""
    from storage.schema import migrations
    from storage.store import connect

    (tmp_path / "s").mkdir()
    path = tmp_path / "s" / "store.sqlite3"
    db = connect(path)
    migrations.apply(db, stop_before="0010_report_context")
    assert "reporter" not in {r[1] for r in db.execute("PRAGMA table_info(items)")}
    db.execute("INSERT INTO media VALUES ('ab', 'x.png', 'image/png', 'image', 1, 1, NULL, 1, '2026-01-01T00:00:00Z')")
    db.execute("INSERT INTO items (id, sha256, imported_at) VALUES ('old-1', 'ab', '2026-01-01T00:00:00Z')")
    db.execute("INSERT INTO decisions (uuid, item_id, labels, action, actor, decided_at, policy_version, source, note) "
               "VALUES ('d-1', 'old-1', '[]', 'escalate', 'ann', '2026-01-01T00:00:01Z', 'p', 'manual', 'why')")
    db.conn.commit()
    db.conn.close()
    store = Store(tmp_path / "s")
    try:
        assert store.path == path
        item = items_repo.get_item(store.db, "old-1")
        assert (item.reporter, item.post_text, item.original_name) == (None, None, None)
        standing = item_context(store.db, item).standing
        assert standing.uuid == "d-1" and standing.escalation_target is None and standing.note == "why"
    finally:
        store.close()


def test_prior_decisions_on_the_same_media_and_account(tmp_path, store, policy):
    folder = _folder(tmp_path, [
        {"path": "retina.jpg", "external_id": "first", "reported_account": "@acct"},
        {"path": "retina.jpg", "external_id": "again"},  # same media, another report
        {"path": "coffee.jpg", "external_id": "other-media", "reported_account": "@acct"},
        {"path": "rocket.jpg", "external_id": "unrelated", "reported_account": "@someone"},
    ])
    report = import_paths(store, [folder / "manifest.jsonl"], "tester", policy=policy)
    first, again, other, unrelated = report.imported
    review = ReviewService(store, policy, "alice")
    review.decide(again, "spam")
    review.decide(other, "nudity")
    review.decide(unrelated, "spam")
    context = item_context(store.db, items_repo.get_item(store.db, first))
    assert [(p.title, p.why, p.labels, p.actor) for p in context.prior] == [
        ("other-media", "same account", ("nudity",), "alice"), ("again", "same media", ("spam",), "alice")]
    review.undo_last()  # unrelated
    review.undo_last()  # other-media: an undone decision is no prior decision
    context = item_context(store.db, items_repo.get_item(store.db, first))
    assert [p.title for p in context.prior] == ["again"]
    assert context.standing is None


def test_standing_escalation_is_in_the_context(tmp_path, store, policy):
    folder = _folder(tmp_path, [{"path": "retina.jpg"}])
    (item_id,) = import_paths(store, [folder / "manifest.jsonl"], "t", policy=policy).imported
    ReviewService(store, policy, "bob").escalate(item_id, Escalation("see the caption\nand the account", "legal",
                                                                     "Legal request or court order"))
    standing = item_context(store.db, items_repo.get_item(store.db, item_id)).standing
    assert standing.action is Action.ESCALATE
    assert (standing.escalation_target, standing.escalation_reason) == ("legal", "Legal request or court order")
    assert standing.note == "see the caption\nand the account"
