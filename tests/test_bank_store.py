"""Banks in a real store: the migration, import/export round trips in every format, all-or-nothing
imports, conflicting settings, and adding an item's hashes to a bank."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlite_utils import Database

from moderator.bank_formats import FORMATS, BankFormatError, BankRow, read_bank_file
from moderator.banks import BankError, BankService
from moderator.domain import BankAction, BankKind, Match
from moderator.ingest import import_paths
from moderator.signals import PDQ
from storage import banks as banks_repo
from storage.schema import migrations
from storage.store import Store
from tests.conftest import photo, write_image

RNG = np.random.default_rng(4)


def pdq_hex(n: int) -> list[str]:
    return [RNG.bytes(32).hex() for _ in range(n)]


ROWS = [BankRow("pdq", h, label, source) for h, label, source in
        zip(pdq_hex(4), ["terrorism", "", "spam", "csam, suspected"], ["gifct", "ncmec", "", "tat"], strict=True)]
TE_CSV_ROWS = [BankRow("pdq", h, "tag_a tag_b", "collab 1", "POSITIVE_CLASS") for h in pdq_hex(2)]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def source_file(tmp_path: Path, fmt: str) -> tuple[Path, list[BankRow]]:
    """A bank file in `fmt` and the rows it holds."""
    if fmt == "csv":
        body = "".join(f'pdq,{r.hash},"{r.label}",{r.source}\n' for r in ROWS)
        return write(tmp_path / "in.csv", "signal_type,hash,label,source\n" + body), ROWS
    if fmt == "te-csv":
        body = "".join(f"pdq,{r.hash},{r.source},{r.category},{r.label}\n" for r in TE_CSV_ROWS)
        return write(tmp_path / "in-te.csv", "signal_type,signal_str,collab,category,tags\n" + body), TE_CSV_ROWS
    rows = [BankRow("pdq", r.hash) for r in ROWS]
    return write(tmp_path / "in.txt", "# a ThreatExchange local file\n" + "".join(f"pdq {r.hash}\n" for r in rows)), rows


def counts(store: Store) -> dict[str, int]:
    tables = ("banks", "bank_entries", "audit_log")
    return {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.fixture
def banks(store, policy):
    return BankService(store, policy, "lead")


def test_migration_adds_bank_tables_and_item_columns(tmp_path):
    with Store(tmp_path / "d") as store:
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {r[1] for r in store.db.execute("PRAGMA table_info(items)")}
        applied = [r[0] for r in store.db.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert {"banks", "bank_entries", "hashes", "matches"} <= tables
    assert {"hashed_at", "suggested_label"} <= columns
    assert applied[:2] == ["0001_core", "0002_banks"]
    assert applied == [m.name for m in migrations.pending(Database(memory=True))]
    with Store(tmp_path / "d") as store:  # reopening applies nothing twice
        assert store.db.execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0] == len(applied)


@pytest.mark.parametrize("out_fmt", FORMATS)
@pytest.mark.parametrize("in_fmt", FORMATS)
def test_import_then_export_reads_back_identically(banks, tmp_path, in_fmt, out_fmt):
    path, rows = source_file(tmp_path, in_fmt)
    result = banks.import_bank(path, "b", kind="block", fmt="auto")
    assert (result.rows, result.added, result.duplicates, result.created) == (len(rows), len(rows), 0, True)
    out = tmp_path / f"out.{out_fmt}"
    assert banks.export_bank("b", out, out_fmt, hashes_only=out_fmt == "te-lines") == len(rows)
    back = read_bank_file(out, out_fmt)
    if out_fmt == "te-lines":  # hashes only, by definition of the format
        rows = [BankRow(r.signal_type, r.hash) for r in rows]
    assert back == rows


def test_export_to_te_lines_refuses_to_drop_labels_silently(banks, tmp_path):
    banks.import_bank(source_file(tmp_path, "csv")[0], "b", kind="block")
    with pytest.raises(BankError, match="te-lines cannot hold"):
        banks.export_bank("b", tmp_path / "out.txt", "te-lines")
    assert not (tmp_path / "out.txt").exists()


def test_invalid_line_is_named_and_nothing_of_the_file_is_stored(store, banks, tmp_path):
    good = "".join(f"pdq {h}\n" for h in pdq_hex(3))
    path = write(tmp_path / "bad.txt", good + "pdq 12345\n" + good)
    before = counts(store)
    with pytest.raises(BankFormatError, match="line 4: pdq hash must be 64 hex chars, got 5") as err:
        banks.import_bank(path, "b", kind="block")
    assert err.value.problems == [(4, "pdq hash must be 64 hex chars, got 5")]
    assert counts(store) == before  # no bank, no entries, no audit row


def test_second_import_adds_new_entries_and_counts_duplicates(store, banks, tmp_path):
    first, second = pdq_hex(3), pdq_hex(2)
    banks.import_bank(write(tmp_path / "a.txt", "".join(f"pdq {h}\n" for h in first)), "b", kind="block")
    again = first[:2] + second + second[:1]  # two known, two new, one repeated within the file
    result = banks.import_bank(write(tmp_path / "b.txt", "".join(f"pdq {h}\n" for h in again)), "b")
    assert (result.rows, result.added, result.duplicates, result.created) == (5, 2, 3, False)
    assert result.bank.entries == 5
    assert [e[2] for e in banks_repo.entries(store.db, "b")] == first + second  # in the order added
    imports = store.db.execute("SELECT payload FROM audit_log WHERE event = 'bank_import'").fetchall()
    assert [json.loads(r[0])["added"] for r in imports] == [3, 2]


@pytest.mark.parametrize(("option", "value", "message"), [
    ("kind", "allow", "exists with kind block, not allow"),
    ("threshold", 20, "exists with threshold 31, not 20"),
    ("action", "remove", "exists with action escalate, not remove"),
    ("signal_type", "phash", "exists with signal type pdq, not phash"),
])
def test_settings_that_contradict_the_existing_bank_are_refused(store, banks, tmp_path, option, value, message):
    path = write(tmp_path / "a.txt", "".join(f"pdq {h}\n" for h in pdq_hex(2)))
    banks.import_bank(path, "b", kind="block")
    before = counts(store)
    more = write(tmp_path / "b.txt", "".join(f"pdq {h}\n" for h in pdq_hex(2)))
    with pytest.raises(BankError, match=message):
        banks.import_bank(more, "b", **{option: value})
    assert counts(store) == before


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "does not exist yet: say its kind"),
    ({"kind": "block", "action": "allow"}, "block banks take the action escalate, remove or flag, not allow"),
    ({"kind": "allow", "action": "remove"}, "allow banks take the action allow or flag, not remove"),
    ({"kind": "block", "threshold": 300}, "threshold for pdq must be 0..256"),
    ({"kind": "block", "signal_type": "tmk"}, "unknown signal type 'tmk'"),
])
def test_bad_bank_settings_are_refused(store, banks, tmp_path, kwargs, message):
    path = write(tmp_path / "a.txt", "".join(f"pdq {h}\n" for h in pdq_hex(1)))
    with pytest.raises(BankError, match=message):
        banks.import_bank(path, "b", **kwargs)
    assert counts(store)["banks"] == 0


def test_known_good_rows_never_enter_a_block_bank(store, banks, tmp_path):
    body = f"pdq,{pdq_hex(1)[0]},,POSITIVE_CLASS,\npdq,{pdq_hex(1)[0]},,NEGATIVE_CLASS,\n"
    path = write(tmp_path / "te.csv", "signal_type,signal_str,collab,category,tags\n" + body)
    with pytest.raises(BankError, match="1 rows are NEGATIVE_CLASS"):
        banks.import_bank(path, "b", kind="block")
    assert counts(store)["bank_entries"] == 0


def test_bare_hashes_take_the_signal_type_given(banks, tmp_path):
    path = write(tmp_path / "bare.txt", "".join(f"{h}\n" for h in pdq_hex(2)))
    with pytest.raises(BankFormatError, match="line 1: no signal type"):
        banks.import_bank(path, "b", kind="block")
    assert banks.import_bank(path, "b", kind="block", signal_type="pdq").added == 2
    assert banks.import_bank(path, "b").duplicates == 2  # the bank's own type applies from now on


def test_list_banks_with_counts_and_defaults(banks, tmp_path):
    banks.create_bank("good", "allow", signal_type="phash")
    banks.import_bank(source_file(tmp_path, "csv")[0], "bad", kind="block", threshold=24, action="remove")
    listed = {b.name: b for b in banks.list_banks()}
    assert (listed["good"].kind, listed["good"].action, listed["good"].threshold, listed["good"].entries) == (
        BankKind.ALLOW, BankAction.ALLOW, 10, 0)
    assert (listed["bad"].action, listed["bad"].threshold, listed["bad"].entries) == (BankAction.REMOVE, 24, len(ROWS))
    with pytest.raises(BankError, match="already exists"):
        banks.create_bank("good", "allow")
    with pytest.raises(BankError, match="bank name"):
        banks.create_bank("no spaces", "allow")


def test_add_to_bank_uses_the_standing_decision_label_and_is_audited(store, policy, service, banks, tmp_path):
    path = write_image(tmp_path / "astronaut.jpg", photo("astronaut"))
    flat = write_image(tmp_path / "flat.png", np.full((200, 200, 3), 77, np.uint8))
    item_id, flat_id = import_paths(store, [path, flat], "tester").imported
    service.decide(item_id, "hate_symbol")
    banks.create_bank("hate", "block")
    result = banks.add_to_bank(item_id, "hate")
    assert result.hashes == (PDQ.hash_file(path).hex,) and result.added == 1 and result.label == "hate_symbol"
    entry = banks_repo.entries(store.db, "hate")[0]
    assert entry[1:5] == ("pdq", result.hashes[0], "hate_symbol", f"item:{item_id}")
    actor, subject, payload = store.db.execute(
        "SELECT actor, subject, payload FROM audit_log WHERE event = 'bank_add'").fetchone()
    assert (actor, subject, json.loads(payload)["hashes"]) == ("lead", item_id, list(result.hashes))
    assert banks.add_to_bank(item_id, "hate", label="other").added == 0  # already there
    with pytest.raises(BankError, match="no usable pdq hash"):
        banks.add_to_bank(flat_id, "hate")
    with pytest.raises(BankError, match="no bank 'nope'"):
        banks.add_to_bank(item_id, "nope")
    with pytest.raises(BankError, match="no item 'nope'"):
        banks.add_to_bank("nope", "hate")


def test_repository_stores_hashes_and_matches_once(store, banks, tmp_path):
    path = write_image(tmp_path / "coffee.jpg", photo("coffee"))
    (item_id,) = import_paths(store, [path], "tester").imported
    banks.create_bank("b", "block")
    hexes = pdq_hex(2)
    assert store.write(banks_repo.add_entries, "b", [("pdq", h, "spam", "", "") for h in hexes], "me") == 2
    assert [i.id for i in banks_repo.unhashed_items(store.db, limit=5)] == [item_id]
    m = Match("b", 1, "pdq", "spam", 3, hexes[0], hexes[0])
    for _ in range(2):
        store.write(banks_repo.save_hashes, item_id, [("pdq", hexes[1], 90, None, None)])
        store.write(banks_repo.save_matches, item_id, [m])
    store.write(banks_repo.mark_hashed, item_id)
    assert banks_repo.hashes_for_item(store.db, item_id) == [("pdq", hexes[1], 90, None, None)]
    assert banks_repo.matches_for_items(store.db, [item_id, "other"]) == {item_id: [m]}
    assert banks_repo.unhashed_items(store.db) == []
