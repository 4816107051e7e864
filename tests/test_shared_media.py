"""Items are reports, media is content: the same image reported twice is two items sharing one media
row and one cached file, and migration 0005 turns a store made before it into one that allows it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from moderator.banks import BankService
from moderator.cli import main
from moderator.importing import import_and_match
from moderator.ingest import import_paths
from moderator.matching import match_pending
from moderator.policy import load_policy
from moderator.review import ReviewService
from moderator.signals import PDQ
from storage import banks as banks_repo
from storage import items as items_repo
from storage.schema import migrations
from storage.store import Store, connect
from tests.conftest import photo, write_image
from tests.test_audit_tamper import build_store


def table_rows(path: Path, table: str) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall()
    finally:
        con.close()


def downgrade_to_before_0005(path: Path) -> None:
    """Put a store's items table back as migrations 0001-0004 made it (sha256 UNIQUE) and mark 0005
    pending: the schema of a store made before this change, holding rows the services wrote."""
    old = connect(Path(":memory:"))
    migrations.apply(old, stop_before="0005_items_share_media")
    ddl = [r[0] for r in old.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'items' AND sql IS NOT NULL "
                                     "ORDER BY type DESC")]
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("BEGIN IMMEDIATE")
    con.execute("PRAGMA defer_foreign_keys = ON")
    con.execute("CREATE TABLE old_items AS SELECT rowid AS r, * FROM items")
    con.execute("DROP TABLE items")
    con.execute("DROP TABLE media_hashes")
    for statement in ddl:
        con.execute(statement)
    columns = ", ".join(r[1] for r in con.execute("PRAGMA table_info(items)"))
    con.execute(f"INSERT INTO items (rowid, {columns}) SELECT r, {columns} FROM old_items")
    con.execute("DROP TABLE old_items")
    con.execute("DELETE FROM _sqlite_migrations WHERE name = '0005_items_share_media'")
    # Later migrations that add items columns ran on the dropped table: undo them too, so they run
    # again after 0005, in order, as on a store that really was made before it.
    for statement in ("ALTER TABLE decisions DROP COLUMN escalation_target",
                      "ALTER TABLE decisions DROP COLUMN escalation_reason"):
        con.execute(statement)
    con.execute("DELETE FROM _sqlite_migrations WHERE name IN ('0009_skip_until', '0010_report_context')")
    con.execute("COMMIT")
    con.close()


def test_migration_keeps_every_row_and_the_audit_log_of_a_store_made_before_it(tmp_path, capsys):
    data = tmp_path / "store"
    ids = build_store(tmp_path, data)  # imports, bank routing, decisions, undo, skip, reopen, bank add
    db_path = data / Store.FILENAME
    downgrade_to_before_0005(db_path)
    before = {t: table_rows(db_path, t) for t in ("items", "decisions", "matches", "hashes", "audit_log")}
    con = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):  # the old schema refuses a second report
        con.execute("INSERT INTO items (id, sha256, imported_at) SELECT 'x', sha256, 'now' FROM items LIMIT 1")
    con.close()

    assert main(["audit", "verify", "--data-dir", str(data)]) == 0  # migrates (0005), then verifies
    assert "audit log intact" in capsys.readouterr().out
    assert {t: table_rows(db_path, t) for t in before} == before  # every row, rowid and value kept
    with Store(data) as store:
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = {r[1] for r in store.db.execute("PRAGMA index_list(items)")}
        assert {"items_queue", "items_external", "items_unhashed", "items_media"} <= indexes
        astronaut = items_repo.get_item(store.db, ids["astronaut"])
    manifest = tmp_path / "again.jsonl"
    manifest.write_text(json.dumps({"path": "astronaut.png", "external_id": "second-report"}) + "\n")
    assert main(["import", str(manifest), "--data-dir", str(data)]) == 0
    with Store(data) as store:
        shared = store.db.execute("SELECT COUNT(*) FROM items WHERE sha256 = ?", (astronaut.sha256,)).fetchone()[0]
    assert shared == 2
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0


@pytest.fixture
def reports(tmp_path):
    """Three reports of one photo (two posts and an account), and one of another."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "post.jpg", photo("coffee"))
    (folder / "repost.jpg").write_bytes((folder / "post.jpg").read_bytes())
    write_image(folder / "other.jpg", photo("rocket"))
    manifest = tmp_path / "reports.jsonl"
    rows = [{"path": "in/post.jpg", "external_id": "post-1", "reason": "spam"},
            {"path": "in/repost.jpg", "external_id": "post-2", "reason": "spam"},
            {"path": "in/post.jpg", "external_id": "acct-9", "reason": "profile photo"},
            {"path": "in/other.jpg", "external_id": "post-3"}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder, manifest


def test_reports_of_one_image_are_items_sharing_its_media(store, reports, capsys):
    folder, manifest = reports
    report = import_paths(store, [manifest], "tester")
    assert len(report.imported) == 4 and report.skipped == []
    items = [items_repo.get_item(store.db, i) for i in report.imported]
    assert len({i.sha256 for i in items}) == 2 and len({i.media_path for i in items}) == 2
    assert store.db.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 2
    assert len(list(store.media_dir.glob("??/*"))) == 2  # no second copy in the cache
    queued = {i.external_id for i in items_repo.queue(store.db)}
    assert queued == {"post-1", "post-2", "acct-9", "post-3"}
    review = ReviewService(store, load_policy(), "alice")
    for item in items:
        review.decide(item.id, "spam")
    again = import_paths(store, [manifest], "tester")  # a re-run: every report id is known
    assert again.imported == [] and all("already imported" in s.reason for s in again.skipped)
    assert main(["decisions", "export", "--data-dir", str(store.data_dir)]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["external_id"] for r in exported) == ["acct-9", "post-1", "post-2", "post-3"]
    assert len({r["sha256"] for r in exported}) == 2


def test_a_folder_imported_twice_is_imported_once_unless_duplicates_are_allowed(tmp_path, reports, capsys):
    folder, _ = reports
    data = str(tmp_path / "store")
    assert main(["import", str(folder), "--data-dir", data, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(first["imported"]) == 2  # repost.jpg is post.jpg's bytes: one report per content
    (skipped,) = first["skipped"]
    assert skipped["origin"].endswith("repost.jpg") and "duplicate of item" in skipped["reason"]
    assert main(["import", str(folder), "--data-dir", data, "--json"]) == 1  # a re-run changes nothing
    assert json.loads(capsys.readouterr().out)["imported"] == []
    assert main(["import", str(folder), "--data-dir", data, "--json", "--allow-duplicates"]) == 0
    assert len(json.loads(capsys.readouterr().out)["imported"]) == 3
    with Store(data) as store:
        assert store.db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 5
        assert store.db.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 2
    assert len(list((Path(data) / "media").glob("??/*"))) == 2


def test_matching_hashes_shared_content_once_and_routes_every_report(store, policy, reports, tmp_path):
    folder, manifest = reports
    csv = tmp_path / "bank.csv"
    csv.write_text(f"signal_type,hash,label,source\npdq,{PDQ.hash_file(folder / 'post.jpg').hex},spam,test\n")
    report = import_paths(store, [manifest], "tester")  # no bank yet: nothing hashed at import
    assert store.db.execute("SELECT COUNT(*) FROM media_hashes").fetchone()[0] == 0
    BankService(store, policy, "lead").import_bank(csv, "b", kind="block", action="flag")
    summary = match_pending(store, policy)
    assert summary.hashed == 4 and summary.matched == 3
    coffee = items_repo.get_item(store.db, report.imported[0]).sha256
    computed = store.db.execute("SELECT COUNT(DISTINCT computed_at), COUNT(*) FROM media_hashes WHERE sha256 = ?",
                                (coffee,)).fetchone()
    assert computed[0] == 1 and computed[1] == 4 + 8  # pdq, phash, md5, sha256 and 8 dihedral variants, once
    per_item = {i: banks_repo.hashes_for_item(store.db, i) for i in report.imported[:3]}
    assert len({tuple(h) for h in per_item.values()}) == 1  # every report records the same hashes
    assert all(banks_repo.matches_for_item(store.db, i) for i in report.imported[:3])


def test_import_and_match_hashes_new_content_at_import(store, policy, reports, tmp_path):
    folder, manifest = reports
    csv = tmp_path / "bank.csv"
    csv.write_text(f"signal_type,hash,label,source\npdq,{PDQ.hash_file(folder / 'post.jpg').hex},spam,test\n")
    BankService(store, policy, "lead").import_bank(csv, "b", kind="block", action="flag")
    outcome = import_and_match(store, [manifest], "tester", policy)
    assert outcome.matching.hashed == 4 and outcome.matching.matched == 3
    assert set(outcome.changes.items) == set(outcome.report.imported) and outcome.changes.queue
    assert store.db.execute("SELECT COUNT(DISTINCT sha256) FROM media_hashes").fetchone()[0] == 2
