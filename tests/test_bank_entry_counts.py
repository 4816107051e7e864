"""bank_entry_counts (migration 0011): kept by storage.banks.add_entries in the writer's transaction, equal
to a COUNT(*) of the rows after any mix of new, duplicate and mixed-type entries in several banks, undone
with a write that fails, filled by the migration for a store that already holds entries, and read by
`bank list` and by the saved bank index's check."""

from __future__ import annotations

import pytest

from moderator.clock import now_iso
from moderator.domain import Bank, BankAction, BankKind
from storage import banks as banks_repo
from storage.schema import migrations
from storage.store import Store, connect


def new_bank(name: str, signal_type: str = "pdq") -> Bank:
    return Bank(name=name, kind=BankKind.BLOCK, signal_type=signal_type, threshold=31,
                action=BankAction.FLAG, created_at=now_iso(), description=None)


def hexes(seed: int, n: int, width: int = 64) -> list[str]:
    return [f"{(seed * 1_000_003 + i * 7_919) % (1 << (4 * width)):0{width}x}" for i in range(n)]


def counted(db) -> dict[tuple[str, str], int]:
    return {(r[0], r[1]): r[2] for r in db.execute("SELECT bank, signal_type, entries FROM bank_entry_counts")}


def counted_rows(db) -> dict[tuple[str, str], int]:
    sql = "SELECT bank, signal_type, COUNT(*) FROM bank_entries GROUP BY bank, signal_type"
    return {(r[0], r[1]): r[2] for r in db.execute(sql)}


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data") as s:
        s.write(lambda db: banks_repo.create_bank(db, new_bank("a")))
        s.write(lambda db: banks_repo.create_bank(db, new_bank("b", "md5")))
        yield s


def add(store: Store, bank: str, rows: list[tuple[str, str]]) -> int:
    return store.write(banks_repo.add_entries, bank, [(sig, h, "", "test", "") for sig, h in rows], "lead")


def test_counts_follow_new_duplicate_and_mixed_type_entries(store):
    assert add(store, "a", [("pdq", h) for h in hexes(1, 50)]) == 50
    assert add(store, "b", [("md5", h) for h in hexes(2, 7, 32)]) == 7
    # half duplicates, and two signal types in one call, interleaved
    mixed = [("pdq", h) for h in hexes(1, 25)] + [r for h, m in zip(hexes(3, 10), hexes(4, 10, 32), strict=True)
                                                   for r in (("pdq", h), ("md5", m))]
    assert add(store, "a", mixed) == 20
    assert add(store, "a", []) == 0
    assert counted(store.db) == counted_rows(store.db) == {("a", "pdq"): 60, ("a", "md5"): 10, ("b", "md5"): 7}
    assert {b.name: b.entries for b in banks_repo.list_banks(store.db)} == {"a": 70, "b": 7}
    assert banks_repo.get_bank(store.db, "b").entries == 7
    first_md5 = store.db.execute("SELECT MIN(id) FROM bank_entries WHERE bank = 'a' AND signal_type = 'md5'").fetchone()[0]
    assert banks_repo.entry_count(store.db, "a", "md5") == 10
    assert banks_repo.entry_count(store.db, "a", "md5", up_to_id=first_md5) == 1
    assert banks_repo.entry_count(store.db, "a", "pdq", up_to_id=0) == 0
    assert banks_repo.entry_count(store.db, "nosuch", "pdq") == 0


def test_a_write_that_fails_leaves_rows_and_count_as_they_were(store):
    add(store, "a", [("pdq", h) for h in hexes(1, 5)])

    def add_then_fail(db):
        banks_repo.add_entries(db, "a", [("pdq", h, "", "test", "") for h in hexes(9, 40)], "lead")
        raise RuntimeError("the import's next step failed")

    with pytest.raises(RuntimeError):
        store.write(add_then_fail)
    assert counted(store.db) == counted_rows(store.db) == {("a", "pdq"): 5}


def test_the_migration_counts_what_an_older_store_holds(tmp_path):
    (tmp_path / "s").mkdir()
    db = connect(tmp_path / "s" / "store.sqlite3")
    migrations.apply(db, stop_before="0011_bank_entry_counts")
    assert "bank_entry_counts" not in db.table_names()
    banks_repo.create_bank(db, new_bank("old"))
    db.conn.executemany("INSERT INTO bank_entries (bank, signal_type, hash, added_at, added_by) VALUES (?, ?, ?, ?, ?)",
                        [("old", "pdq" if i % 3 else "md5", h, now_iso(), "lead") for i, h in enumerate(hexes(5, 30))])
    db.conn.commit()
    db.conn.close()
    with Store(tmp_path / "s") as store:
        assert counted(store.db) == counted_rows(store.db) == {("old", "pdq"): 20, ("old", "md5"): 10}
        assert banks_repo.get_bank(store.db, "old").entries == 30
        assert add(store, "old", [("pdq", h) for h in hexes(6, 4)]) == 4
        assert counted(store.db)[("old", "pdq")] == 24
