"""What the store checks of its file (storage/integrity.py): at open every table and index but the bulk
bank tables, which are checked when the bank index is rebuilt from them, and the whole file in
`moderator audit verify`. Real store files with the bytes of one page of one table overwritten: each
is one line, nothing is written, and the check at open finds what the whole-file check finds there."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from moderator.cli import main
from moderator.clock import now_iso
from moderator.domain import Bank, BankAction, BankKind
from moderator.ingest import import_paths
from moderator.policy import load_policy
from moderator.review import ReviewService
from storage import banks as banks_repo
from storage import integrity
from storage.store import Store, StoreError, check_integrity, connect

ENTRIES = 3000  # a bank_entries table of many pages, and below FLAT_MAX: every process rebuilds its index
CHECKED_AT_OPEN = ["items", "items_queue", "media", "decisions", "audit_log", "banks", "outbox"]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One store per module: imported photos, a decision, and a block bank of ENTRIES PDQ hashes."""
    from tests.conftest import write_good_folder

    root = tmp_path_factory.mktemp("integrity")
    data = root / "data"
    with Store(data) as store:
        import_paths(store, [write_good_folder(root / "good")], "tester", policy=load_policy())
        service = ReviewService(store, load_policy(), "tester")
        service.decide(service.queue()[0].id, "spam")
        hashes = sorted(np.random.default_rng(7).bytes(ENTRIES * 32).hex()[i:i + 64] for i in range(0, ENTRIES * 64, 64))
        store.write(lambda db: banks_repo.create_bank(db, Bank("known", BankKind.BLOCK, "pdq", 31, BankAction.FLAG,
                                                             now_iso(), None)))
        store.write(banks_repo.add_entries, "known", [("pdq", h, "", "test", "") for h in hashes], "tester")
    return data


def damaged_copy(template: Path, tmp_path: Path, btree: str) -> Path:
    """A copy of the store with one leaf page of `btree` (a table or an index) overwritten in the middle."""
    data = tmp_path / f"data-{btree}"
    shutil.copytree(template, data)
    path = data / Store.FILENAME
    with sqlite3.connect(path) as conn:
        pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' "
                                            "ORDER BY pageno", (btree,))]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    assert pages, f"{btree} has no leaf page"
    raw = bytearray(path.read_bytes())
    at = (pages[len(pages) // 2] - 1) * size
    raw[at + 8: at + 400] = bytes(range(256)) + bytes(136)
    path.write_bytes(bytes(raw))
    return data


def digest(data: Path) -> str:
    return hashlib.sha256((data / Store.FILENAME).read_bytes()).hexdigest()


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_the_open_checks_every_table_and_index_but_the_bulk_bank_tables(template):
    db = connect(template / Store.FILENAME, readonly=True)
    tables = integrity.tables_checked_at_open(db)
    db.conn.close()
    assert "bank_entries" not in tables and tables[0] == "sqlite_schema"
    assert {"items", "media", "decisions", "audit_log", "banks", "outbox", "hashes", "matches"} <= set(tables)


@pytest.mark.parametrize("btree", CHECKED_AT_OPEN)
def test_damage_in_a_table_checked_at_open_is_one_line_and_nothing_is_written(template, tmp_path, capsys, btree):
    data = damaged_copy(template, tmp_path, btree)
    before = digest(data)
    db = connect(data / Store.FILENAME, readonly=True)
    whole, at_open = integrity.quick_check(db), integrity.problems_at_open(db)
    db.conn.close()
    assert whole and at_open, "the whole-file check and the check at open both find it"
    code, err = run(capsys, "queue", "--data-dir", data)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "damaged" in err
    table = {"items_queue": "items"}.get(btree, btree)
    assert f"({table}: " in err  # the message names the table the damage is in
    assert digest(data) == before


def test_damage_in_bank_entries_is_one_line_when_the_bank_index_is_rebuilt(template, tmp_path, capsys):
    """Not checked at open (the queue still opens); the first bulk read of the entries finds it."""
    data = damaged_copy(template, tmp_path, "bank_entries")
    before = digest(data)
    code, _ = run(capsys, "queue", "--data-dir", data)
    assert code == 0
    photo = next((template.parent / "good").glob("*.jpg"))
    code, err = run(capsys, "match", photo, "--data-dir", data)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "is damaged (bank_entries: " in err
    assert digest(data) == before
    assert not (data / "bank_index").exists() or not any((data / "bank_index").iterdir())


@pytest.mark.parametrize("btree", ["bank_entries", "items"])
def test_audit_verify_checks_the_whole_file(template, tmp_path, capsys, btree):
    data = damaged_copy(template, tmp_path, btree)
    code, err = run(capsys, "audit", "verify", "--data-dir", data)
    assert code in (1, 2) and len(err.strip().splitlines()) == 1 and "damaged" in err


def test_an_intact_store_passes_every_check(template):
    with Store(template, readonly=True) as store:
        check_integrity(store.db, store.path, whole_file=True)
        assert integrity.problems_at_open(store.db) == []
        from storage.store import check_table

        check_table(store.db, "bank_entries")


def test_a_damaged_bank_table_stops_the_desks_matching_with_one_line(template, tmp_path, qtbot):
    """The desk opens (the queue's tables are intact) and its bank matching, on a worker, says why it
    stopped in one line; the item stays on screen."""
    from moderator.keymap import load_keymap
    from tests.desk_helpers import on_screen
    from ui.app import build_window

    data = damaged_copy(template, tmp_path, "bank_entries")  # its items were imported before the bank: unhashed
    store = Store(data)
    try:
        window = build_window(store, load_policy(), load_keymap(), "tester")
        qtbot.addWidget(window)
        said: list[str] = []
        window.bank_actions.message.connect(said.append)
        window.show()
        qtbot.waitUntil(lambda: any("damaged" in s for s in said), timeout=20000)
        line = next(s for s in said if "damaged" in s)
        assert line.startswith("Matching stopped: ") and "(bank_entries: " in line and "\n" not in line
        assert on_screen(window)
        window.close()
    finally:
        store.close()


def test_check_table_names_the_table_in_its_one_line(template, tmp_path):
    data = damaged_copy(template, tmp_path, "bank_entries")
    db = connect(data / Store.FILENAME, readonly=True)
    try:
        from storage.store import check_table

        with pytest.raises(StoreError, match=r"damaged \(bank_entries: "):
            check_table(db, "bank_entries")
    finally:
        db.conn.close()
