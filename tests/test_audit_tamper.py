"""`moderator audit verify` against an attacker with sqlite3: every tampering of the issue is found.

One real store is built through the services (imports, bank routing, decisions, undo, skip, reopen,
bank add); each test tampers with a copy of it using sqlite3 on the file, as an attacker would
(dropping the append-only triggers and putting them back), then runs the real CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from moderator.banks import BankService
from moderator.cli import main
from moderator.ingest import import_paths
from moderator.matching import match_pending, reopen
from moderator.policy import load_policy
from moderator.review import ReviewService
from moderator.signals import PDQ
from storage import audit
from storage import items as items_repo
from storage.audit_anchor import ANCHOR_NAME, read_anchor, write_anchor
from storage.store import Store
from tests.conftest import photo, write_image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "retina")
TRIGGERS = [(t, op) for t in ("decisions", "audit_log") for op in ("UPDATE", "DELETE")]


def build_store(folder: Path, data: Path) -> dict[str, str]:
    """Every kind of audited write: import, bank create/import/add, routing (allow and escalate),
    decide, undo, skip, reopen. Returns photo name -> item id."""
    files = {n: write_image(folder / f"{n}.png", photo(n)) for n in PHOTOS}
    allow = folder / "allow.csv"
    allow.write_text(f"signal_type,hash,label,source\npdq,{PDQ.hash_file(files['coffee']).hex},no_violation,own\n")
    block = folder / "block.csv"
    block.write_text(f"signal_type,hash,label,source\npdq,{PDQ.hash_file(files['rocket']).hex},terrorism,gifct\n")
    policy = load_policy()
    with Store(data) as store:
        banks = BankService(store, policy, "lead")
        banks.import_bank(allow, "memes", kind="allow")
        banks.import_bank(block, "gifct", kind="block")
        banks.create_bank("empty", "block")
        report = import_paths(store, list(files.values()), "tester")
        ids = {items_repo.get_item(store.db, i).source_name.removesuffix(".png"): i for i in report.imported}
        match_pending(store, policy)  # coffee closed by bank:memes, rocket escalated by gifct
        review = ReviewService(store, policy, "alice")
        review.decide(ids["astronaut"], "spam")
        review.decide(ids["chelsea"], "nudity")
        review.undo_last()
        review.skip(ids["retina"])
        reopen(store, ids["coffee"], "alice")
        review.decide(ids["coffee"], "no_violation")
        banks.add_to_bank(ids["astronaut"], "empty")
    return ids


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit-photos")
    data = folder / "data"
    ids = build_store(folder, data)
    return data, ids


@pytest.fixture
def data(pristine, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(pristine[0], copy)
    return copy


def verify(capsys, data: Path) -> tuple[int, dict]:
    code = main(["audit", "verify", "--json", "--data-dir", str(data)])
    return code, json.loads(capsys.readouterr().out)


def tamper(data: Path, *sql: str, params: tuple = ()) -> None:
    """What an attacker with sqlite3 does: drop the append-only triggers, change rows, put them back."""
    conn = sqlite3.connect(data / "store.sqlite3")
    saved = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
    for name in saved:
        conn.execute(f"DROP TRIGGER {name}")
    for statement in sql:
        conn.execute(statement, params if "?" in statement else ())
    existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for name, text in saved.items():
        if name not in existing and _table_exists(conn, name.rsplit("_no_", 1)[0]):
            conn.execute(text)
    conn.commit()
    conn.close()


def _table_exists(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone() is not None


def recompute_chain(data: Path, key: bytes | None = None) -> None:
    """The strongest attacker without the key: after editing rows, re-hash every record and every
    entry from the public algorithm, so that the chain and the rows agree again."""
    conn = sqlite3.connect(data / "store.sqlite3")
    db = Database(conn)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    prev = audit.GENESIS
    for seq, at, actor, event, subject, payload, records in conn.execute(
            "SELECT seq, at, actor, event, subject, payload, records FROM audit_log ORDER BY seq").fetchall():
        fresh = [[v, k, audit.record_hash(db, v, k)] for v, k, _ in json.loads(records)]
        records = audit.canonical(fresh)
        digest = audit.entry_digest(key, seq, prev, at, actor, event, subject, payload, records)
        conn.execute("UPDATE audit_log SET records = ?, mac = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                     (records, audit.KEYED if key else audit.PLAIN, prev, digest, seq))
        prev = digest
    for _, text in triggers:
        conn.execute(text)
    conn.commit()
    conn.close()


def rewrite_anchor(data: Path, key: bytes | None = None) -> None:
    conn = sqlite3.connect(data / "store.sqlite3")
    db = Database(conn)
    write_anchor(data / ANCHOR_NAME, audit.head(db, key))
    conn.close()


def drop_trigger(data: Path, name: str) -> None:
    conn = sqlite3.connect(data / "store.sqlite3")
    conn.execute(f"DROP TRIGGER {name}")
    conn.commit()
    conn.close()


def first_decision(data: Path, label: str) -> int:
    conn = sqlite3.connect(data / "store.sqlite3")
    seq = conn.execute("SELECT seq FROM decisions WHERE labels = ? ORDER BY seq LIMIT 1", (json.dumps([label]),)).fetchone()[0]
    conn.close()
    return seq


def forged_audit_row(data: Path, at_seq: int) -> list[str]:
    """Move entries at_seq.. one up and put a well-formed entry (its own hash right) in the gap."""
    conn = sqlite3.connect(data / "store.sqlite3")
    prev = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (at_seq - 1,)).fetchone()[0]
    conn.close()
    at, payload = "2026-11-20T10:00:00Z", audit.canonical({"note": "forged"})
    digest = audit.entry_digest(None, at_seq, prev, at, "mallory", "skip", None, payload, "[]")
    return [
        f"UPDATE audit_log SET seq = seq + 100000 WHERE seq >= {at_seq}",
        "UPDATE audit_log SET seq = seq - 99999 WHERE seq >= 100000",
        "INSERT INTO audit_log (seq, at, actor, event, subject, payload, records, mac, prev_hash, hash) "
        f"VALUES ({at_seq}, '{at}', 'mallory', 'skip', NULL, '{payload}', '[]', 'sha256', '{prev}', '{digest}')",
    ]


TAMPERINGS = {
    # The four the old chain caught.
    "audit payload edited": lambda d, ids: tamper(
        d, "UPDATE audit_log SET payload = replace(payload, 'spam', 'no_violation') WHERE event = 'decision'"),
    "audit hash edited": lambda d, ids: tamper(d, f"UPDATE audit_log SET hash = '{'f' * 64}' WHERE seq = 3"),
    "middle audit row deleted": lambda d, ids: tamper(d, "DELETE FROM audit_log WHERE seq = 5"),
    "forged audit row inserted in the middle": lambda d, ids: tamper(d, *forged_audit_row(d, 5)),
    # The nine it did not.
    "decision row edited": lambda d, ids: tamper(
        d, "UPDATE decisions SET action = 'allow', labels = '[\"no_violation\"]' WHERE seq = ?",
        params=(first_decision(d, "spam"),)),
    "decision row deleted": lambda d, ids: tamper(
        d, "DELETE FROM decisions WHERE seq = ?", params=(first_decision(d, "spam"),)),
    "decision row forged": lambda d, ids: tamper(
        d, "INSERT INTO decisions (uuid, item_id, labels, action, actor, decided_at, policy_version, source) "
           "VALUES ('forged-uuid', ?, '[\"spam\"]', 'remove', 'alice', '2026-11-20T10:00:00Z', 'x', 'manual')",
        params=(ids["retina"],)),
    "last audit row deleted": lambda d, ids: tamper(d, "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"),
    "audit table emptied": lambda d, ids: tamper(d, "DELETE FROM audit_log"),
    "audit table dropped and recreated": lambda d, ids: tamper(
        d, "CREATE TABLE audit_copy AS SELECT * FROM audit_log WHERE seq < (SELECT MAX(seq) FROM audit_log)",
        "DROP TABLE audit_log",
        "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, "
        "event TEXT NOT NULL, subject TEXT, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, "
        "records TEXT NOT NULL DEFAULT '[]', mac TEXT NOT NULL DEFAULT 'v1')",
        "INSERT INTO audit_log SELECT * FROM audit_copy", "DROP TABLE audit_copy"),
    "outbox payload edited": lambda d, ids: tamper(
        d, "UPDATE outbox SET payload = replace(payload, 'remove', 'allow')"),
    "item status edited": lambda d, ids: tamper(
        d, "UPDATE items SET status = 'pending' WHERE id = ?", params=(ids["astronaut"],)),
    "whole chain recomputed": lambda d, ids: (
        tamper(d, "UPDATE decisions SET action = 'allow', labels = '[\"no_violation\"]' WHERE seq = ?",
               params=(first_decision(d, "spam"),)),
        recompute_chain(d)),
    # More that an attacker would try.
    "bank entry deleted": lambda d, ids: tamper(d, "DELETE FROM bank_entries WHERE bank = 'gifct'"),
    "bank entry forged": lambda d, ids: tamper(
        d, "INSERT INTO bank_entries (bank, signal_type, hash, added_at, added_by) "
           f"VALUES ('memes', 'pdq', '{'0' * 64}', 'now', 'mallory')"),
    "match evidence deleted": lambda d, ids: tamper(d, "DELETE FROM matches WHERE item_id = ?", params=(ids["rocket"],)),
    "item priority lowered": lambda d, ids: tamper(d, "UPDATE items SET priority = 0 WHERE id = ?", params=(ids["rocket"],)),
    "item forged": lambda d, ids: tamper(
        d, f"INSERT INTO media (sha256, path, mime, kind, width, height, bytes, added_at) "
           f"VALUES ('{'ab' * 32}', 'x.png', 'image/png', 'image', 1, 1, 1, 'now')",
        f"INSERT INTO items (id, sha256, imported_at) VALUES ('forged-item', '{'ab' * 32}', 'now')"),
    "anchor deleted and last entry removed": lambda d, ids: (
        tamper(d, "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"),
        (d / ANCHOR_NAME).unlink()),
    "triggers dropped": lambda d, ids: drop_trigger(d, "decisions_no_delete"),
}


def test_an_untampered_store_verifies(capsys, data, pristine):
    code, report = verify(capsys, data)
    assert code == 0 and report["ok"] and report["problems"] == []
    rows = report["rows"]
    assert rows["decision"] == 6 and rows["outbox"] == 6 and rows["item"] == rows["item_state"] == 5
    assert rows["item_matches"] == 2 and rows["bank"] == 3 and rows["bank_entries"] >= 3
    conn = sqlite3.connect(data / "store.sqlite3")
    events = {r[0] for r in conn.execute("SELECT event FROM audit_log")}
    count, head = conn.execute("SELECT MAX(seq), hash FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)").fetchone()
    conn.close()
    assert events >= {"import", "decision", "undo", "route", "skip", "reopen", "bank_create", "bank_import", "bank_add"}
    anchor = read_anchor(data / ANCHOR_NAME)
    assert (anchor.count, anchor.head) == (count, head)
    assert (pristine[0] / ANCHOR_NAME).stat().st_mode & 0o777 == 0o600
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    assert "audit log intact" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_every_tampering_is_detected(capsys, data, pristine, name):
    TAMPERINGS[name](data, pristine[1])
    code, report = verify(capsys, data)
    assert code == 1 and not report["ok"] and report["problems"], name
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert lines and all(line.startswith("problem: ") for line in lines) and len(lines) == len(report["problems"])
    assert "audit log not intact" in err


@pytest.mark.parametrize("name, expected", [
    ("decision row edited", "decisions uuid="), ("item status edited", "(item_state) differs"),
    ("last audit row deleted", "entries were deleted from the end"),
    ("whole chain recomputed", "not the anchored head"),
    ("outbox payload edited", "(outbox) differs"), ("decision row forged", "recorded by no audit entry"),
])
def test_problems_say_what_was_found(capsys, data, pristine, name, expected):
    TAMPERINGS[name](data, pristine[1])
    _, report = verify(capsys, data)
    assert any(expected in p["message"] for p in report["problems"]), report["problems"]


def test_without_a_key_a_full_rewrite_with_its_anchor_is_not_detectable(capsys, data):
    """The limit docs/AUDIT.md states: whoever can write the database and the sidecar, and has no key
    to lack, can recompute everything."""
    tamper(data, "UPDATE decisions SET action = 'allow', labels = '[\"no_violation\"]' WHERE seq = ?",
           params=(first_decision(data, "spam"),))
    recompute_chain(data)
    rewrite_anchor(data)
    code, report = verify(capsys, data)
    assert code == 0, report["problems"]


def test_a_verify_leaves_the_store_untouched(capsys, data):
    """An evidence copy: the database and the anchor are read, never written (SQLite's own -wal/-shm
    aside, which a reader makes when it may; as root the folder's mode cannot forbid it)."""
    def snapshot():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data.iterdir())
                if p.is_file() and not p.name.endswith(("-wal", "-shm"))}

    before = snapshot()
    os.chmod(data, 0o500)
    try:
        assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    finally:
        os.chmod(data, 0o700)
    assert snapshot() == before
    capsys.readouterr()


# -- with an audit key ----------------------------------------------------------------------------
@pytest.fixture
def key_file(tmp_path, monkeypatch):
    path = tmp_path / "keys" / "audit.key"
    path.parent.mkdir()
    path.write_bytes(os.urandom(32).hex().encode())
    path.chmod(0o600)
    monkeypatch.setenv(audit.KEY_ENV, str(path))
    return path


@pytest.fixture
def keyed(tmp_path, key_file):
    folder = tmp_path / "photos"
    folder.mkdir()
    data = tmp_path / "keyed"
    ids = build_store(folder, data)
    return data, ids


def test_a_keyed_store_verifies_with_its_key(capsys, keyed):
    code, report = verify(capsys, keyed[0])
    assert code == 0 and report["keyed"] == report["entries"] > 0
    assert read_anchor(keyed[0] / ANCHOR_NAME).mac


@pytest.mark.parametrize("own_key", [None, b"k" * 32], ids=["plain", "attacker's key"])
def test_with_the_key_a_full_rewrite_with_its_anchor_is_detected(capsys, keyed, key_file, own_key):
    data, _ = keyed
    tamper(data, "UPDATE decisions SET action = 'allow', labels = '[\"no_violation\"]' WHERE seq = ?",
           params=(first_decision(data, "spam"),))
    recompute_chain(data, own_key)
    rewrite_anchor(data, own_key)
    code, report = verify(capsys, data)
    assert code == 1
    kinds = {p["kind"] for p in report["problems"]}
    assert kinds & {"chain", "anchor", "key"}, report["problems"]


def test_a_keyed_store_cannot_be_verified_or_written_without_its_key(capsys, keyed, monkeypatch):
    data, ids = keyed
    monkeypatch.delenv(audit.KEY_ENV)
    code, report = verify(capsys, data)
    assert code == 1 and any("cannot be checked" in p["message"] for p in report["problems"])
    with Store(data) as store:
        with pytest.raises(audit.AuditKeyError, match=audit.KEY_ENV):
            ReviewService(store, load_policy(), "alice").skip(ids["chelsea"])


def test_a_wrong_key_is_one_problem(capsys, keyed, key_file):
    key_file.write_bytes(b"w" * 40)
    code, report = verify(capsys, keyed[0])
    assert code == 1 and [p["kind"] for p in report["problems"]] == ["key"]


@pytest.mark.parametrize("where", ["inside the data dir", "readable by others", "too short"])
def test_an_unusable_key_file_is_one_usage_error(capsys, data, monkeypatch, where):
    path = data / "audit.key" if where == "inside the data dir" else data.parent / "audit.key"
    path.write_bytes(b"short" if where == "too short" else b"x" * 32)
    path.chmod(0o644 if where == "readable by others" else 0o600)
    monkeypatch.setenv(audit.KEY_ENV, str(path))
    assert main(["audit", "verify", "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert audit.KEY_ENV in err and len(err.strip().splitlines()) == 1


def test_a_write_with_an_unusable_key_is_refused_with_one_line(capsys, tmp_path, good_folder, monkeypatch):
    data = tmp_path / "fresh"
    data.mkdir(mode=0o700)
    (data / "audit.key").write_bytes(b"x" * 32)
    (data / "audit.key").chmod(0o600)
    monkeypatch.setenv(audit.KEY_ENV, str(data / "audit.key"))
    assert main(["import", str(good_folder), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "inside the data dir" in err and len(err.strip().splitlines()) == 1
