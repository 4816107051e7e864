"""The audit anchor beside the store, and stores written before entries carried row hashes."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from moderator.cli import main
from moderator.ingest import import_paths
from storage import audit
from storage.audit_anchor import ANCHOR_NAME, SLOT, read_anchor
from storage.schema import migrations
from storage.store import Store


@pytest.fixture
def items(store, good_folder):
    return import_paths(store, [good_folder], "tester").imported


def entries(data) -> tuple[int, str]:
    conn = sqlite3.connect(data / "store.sqlite3")
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    return tuple(row)


def test_the_anchor_follows_every_commit_and_is_private(tmp_path, service, store, items):
    anchor = store.path.with_name(ANCHOR_NAME)
    for item_id in items[:2]:
        service.decide(item_id, "spam")
        stored = read_anchor(anchor)
        assert (stored.count, stored.head) == entries(store.data_dir)
    assert anchor.stat().st_mode & 0o777 == 0o600
    assert not [p for p in store.data_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_torn_slot_reads_as_the_last_commit_not_anchored(service, store, items, capsys):
    """A crash that tears the slot being written leaves the previous head: verify names it as a missed anchor."""
    for item_id in items[:2]:
        service.decide(item_id, "spam")
    path = store.path.with_name(ANCHOR_NAME)
    newest = read_anchor(path)
    raw = bytearray(path.read_bytes())
    slot = 0 if f'"count":{newest.count},'.encode() in raw[:SLOT] else 1
    raw[slot * SLOT + 30] ^= 0xFF
    path.write_bytes(bytes(raw))
    assert read_anchor(path).count < newest.count
    assert main(["audit", "verify", "--data-dir", str(store.data_dir)]) == 1
    out = capsys.readouterr().out
    assert "entries after the anchored entry" in out and "without updating the anchor" in out


def test_an_entry_appended_without_the_anchor_is_named(tmp_path, service, store, items, capsys):
    service.decide(items[0], "spam")
    anchor = store.path.with_name(ANCHOR_NAME)
    before = anchor.read_text()
    service.skip(items[1])
    anchor.write_text(before)  # as if the process died between the commit and the anchor
    assert main(["audit", "verify", "--data-dir", str(store.data_dir)]) == 1
    out = capsys.readouterr().out
    assert "1 entries after the anchored entry" in out and "without updating the anchor" in out


def _legacy_store(data):
    """A store as the code before migration 0003 left it: old-style (v1) entries without row hashes."""
    data.mkdir(mode=0o700)
    conn = sqlite3.connect(data / "store.sqlite3", isolation_level=None)
    db = Database(conn)
    migrations.apply(db, stop_before="0003_audit_rows")
    conn.execute("INSERT INTO media VALUES ('aa', 'media/x.png', 'image/png', 'image', 1, 1, NULL, 1, 'now')")
    conn.execute("INSERT INTO items (id, sha256, imported_at) VALUES ('item-1', 'aa', 'now')")
    conn.execute("INSERT INTO decisions (uuid, item_id, labels, action, actor, decided_at, policy_version, source) "
                 "VALUES ('d-1', 'item-1', '[\"spam\"]', 'remove', 'alice', 'now', 'p', 'manual')")
    conn.execute("INSERT INTO outbox (kind, ref, payload, created_at) VALUES ('decision', 'd-1', '{}', 'now')")
    conn.execute("UPDATE items SET status = 'decided'")
    prev = audit.GENESIS
    for event, subject in (("import", "item-1"), ("decision", "item-1")):
        digest = audit.legacy_digest(prev, "now", "alice", event, subject, "{}")
        conn.execute("INSERT INTO audit_log (at, actor, event, subject, payload, prev_hash, hash) "
                     "VALUES ('now', 'alice', ?, ?, '{}', ?, ?)", (event, subject, prev, digest))
        prev = digest
    conn.close()


def test_an_old_store_is_upgraded_with_a_baseline_entry_and_then_verifies(tmp_path, capsys):
    data = tmp_path / "old"
    _legacy_store(data)
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1  # read-only: not upgraded by verify
    assert "predates row-hashed audit entries" in capsys.readouterr().out
    Store(data).close()  # opening it for writing runs 0003, which records every row it finds
    assert read_anchor(data / ANCHOR_NAME).count == 3
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    capsys.readouterr()
    conn = sqlite3.connect(data / "store.sqlite3")
    conn.execute("DROP TRIGGER decisions_no_update")
    conn.execute("UPDATE decisions SET action = 'allow'")
    conn.execute("CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions "
                 "BEGIN SELECT RAISE(ABORT, 'decisions is append-only'); END")
    conn.commit()
    conn.close()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    assert "decisions uuid=d-1 (decision) differs from what entry 3 recorded" in capsys.readouterr().out


def test_two_writers_at_once_leave_the_later_head_in_the_anchor(tmp_path, good_folder, policy, capsys):
    """Two stores (two write connections, as two processes have) deciding at the same time."""
    import threading

    from moderator.review import ReviewService

    data = tmp_path / "data"
    with Store(data) as first, Store(data) as second:
        items = import_paths(first, [good_folder], "tester").imported

        def work(store, actor):
            review = ReviewService(store, policy, actor)
            for _ in range(15):
                for item_id in items:
                    review.decide(item_id, "spam")

        threads = [threading.Thread(target=work, args=(s, a)) for s, a in ((first, "alice"), (second, "bob"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert read_anchor(data / ANCHOR_NAME).count == entries(data)[0] == 4 + 2 * 15 * 4
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    capsys.readouterr()
