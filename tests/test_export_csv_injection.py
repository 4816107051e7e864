"""The decisions CSV export never hands a spreadsheet a formula (OWASP CSV injection); JSONL keeps values."""

from __future__ import annotations

import csv
import io
import json

from moderator.cli import main
from moderator.csv_cells import FORMULA_STARTS
from moderator.ingest import import_paths
from moderator.review import ReviewService
from storage.store import Store
from tests.test_csv_injection import HOSTILE, cells


def test_decisions_csv_neutralises_formulas_and_jsonl_keeps_values(tmp_path, good_folder, policy, capsys):
    data = tmp_path / "data"
    with Store(data) as store:
        items = import_paths(store, [good_folder], "tester").imported
        ReviewService(store, policy, "@evil").escalate(items[0], HOSTILE[0])
        ReviewService(store, policy, "=cmd|' /C calc'!A0").decide(items[1], "spam")
    assert main(["decisions", "export", "--format", "csv", "--data-dir", str(data)]) == 0
    text = capsys.readouterr().out
    assert not [c for c in cells(text) if c.startswith(FORMULA_STARTS)]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["actor"] for r in rows} == {"'@evil", "'=cmd|' /C calc'!A0"}
    assert "'" + HOSTILE[0] in {r["note"] for r in rows}
    assert main(["decisions", "export", "--format", "jsonl", "--data-dir", str(data)]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["note"] for r in exported} == {HOSTILE[0], None}  # JSON is data, never a formula
