"""bench/reproduce.py: a new run's figures against the ranges the document quotes (in, above, below),
targets the stored runs all met and a new run misses, keys a new run did not produce, bad input, and
run_all.py --check storing apart from docs/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import reproduce, run_all


def run(values: dict[str, tuple[float, str]], boot: str = "boot-a") -> dict:
    return {"started": "2026-12-04T01:00:00+00:00", "duration_s": 3.0, "exit_code": 0,
            "load_before": [1, 1, 1], "load_after": [1, 1, 1], "commit": "abc", "dirty": False,
            "machine": {"cores": 2, "boot_id": boot},
            "figures": [{"key": k, "value": v, "unit": u} for k, (v, u) in values.items()]}


def results(*runs: dict) -> dict:
    return {"benches": {"index": {"command": "python bench/bench_index.py", "runs": list(runs)}}}


STORED = results(
    run({"index.qps": (10_500, "q/s"), "index.ratio": (5.2, "x"), "index.p95_ms": (0.4, "ms"),
         "index.unquoted": (1, "")}),
    run({"index.qps": (12_000, "q/s"), "index.ratio": (6.0, "x"), "index.p95_ms": (0.9, "ms"),
         "index.unquoted": (2, "")}),
)

SECTION = """<!-- summary -->
| batched | {{index.qps}} ({{index.qps|>=10000}}) | x |
<!-- /summary -->
## Index
ratio {{index.ratio}}, p95 {{index.p95_ms}} ({{index.p95_ms|<=2}}), p95 again {{index.p95_ms|max}}
"""


@pytest.fixture
def files(tmp_path: Path):
    sections = tmp_path / "sections"
    sections.mkdir()
    (sections / "40_index.md").write_text(SECTION, encoding="utf-8")
    stored = tmp_path / "stored.json"
    stored.write_text(json.dumps(STORED), encoding="utf-8")

    def write_new(*runs: dict) -> Path:
        path = tmp_path / "new.json"
        path.write_text(json.dumps(results(*runs)), encoding="utf-8")
        return path

    return sections, stored, write_new, tmp_path / "REPRODUCE.md"


def test_quoted_keys_know_summary_and_targets(files):
    sections, *_ = files
    keys = reproduce.quoted_keys(sections)
    assert list(keys) == ["index.qps", "index.ratio", "index.p95_ms"]  # index.unquoted is not quoted
    assert keys["index.qps"].in_summary and not keys["index.ratio"].in_summary
    assert [str(t) for t in keys["index.qps"].targets] == ["≥ 10,000"]
    assert [str(t) for t in keys["index.p95_ms"].targets] == ["≤ 2"]


def test_everything_in_range_exits_zero(files, capsys):
    sections, stored, write_new, out = files
    new = write_new(run({"index.qps": (11_000, "q/s"), "index.ratio": (5.2, "x"), "index.p95_ms": (0.9, "ms")},
                        boot="boot-b"))
    assert reproduce.check(stored, new, sections, out) == 0
    text = out.read_text(encoding="utf-8")
    assert "3 quoted figures compared: 3 in range, 0 outside" in text
    assert "New runs from boot boot-b" in text
    assert "| `index.qps` (summary) | 40_index | 10,500–12,000 q/s | 11,000 q/s | in | ≥ 10,000: met |" in text
    assert text in capsys.readouterr().out


def test_outside_and_lost_target_exit_one_and_sort_first(files):
    sections, stored, write_new, out = files
    new = write_new(run({"index.qps": (9_000, "q/s"), "index.ratio": (7.2, "x"), "index.p95_ms": (0.5, "ms")}))
    assert reproduce.check(stored, new, sections, out) == 1
    text = out.read_text(encoding="utf-8")
    assert "3 quoted figures compared: 1 in range, 2 outside (1 of them ratios); 1 target(s)" in text
    assert "- target lost: `index.qps` ≥ 10,000: new 9,000 q/s, stored 10,500–12,000 q/s" in text
    table = text.split("|---|")[-1].strip().splitlines()[1:]
    assert [line.split("`")[1] for line in table] == ["index.qps", "index.ratio", "index.p95_ms"]
    assert "below ×1.17" in table[0] and "NOT met" in table[0]
    assert "above ×1.20" in table[1]


def test_a_target_the_stored_runs_missed_is_not_lost_again(files):
    sections, _, write_new, out = files
    stored = sections.parent / "stored2.json"
    stored.write_text(json.dumps(results(run({"index.qps": (9_000, "q/s")}), run({"index.qps": (9_500, "q/s")}))))
    new = write_new(run({"index.qps": (9_200, "q/s")}))
    assert reproduce.check(stored, new, sections, out) == 0  # in range; the target was never met


def test_keys_the_new_runs_did_not_produce_are_named(files):
    sections, stored, write_new, out = files
    new = write_new(run({"index.qps": (11_000, "q/s")}))
    assert reproduce.check(stored, new, sections, out) == 0
    assert "not produced by the new runs: `index.ratio`, `index.p95_ms`" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"benches": {}})])
def test_bad_or_empty_new_runs_are_one_line_and_exit_two(files, capsys, content):
    sections, stored, _, out = files
    new = sections.parent / "missing.json"
    if content is not None:
        new.write_text(content, encoding="utf-8")
    assert reproduce.check(stored, new, sections, out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("reproduce: ") and "\n" not in err
    assert not out.exists()


BENCH_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from bench.figures import figure
figure("index.qps", float(sys.argv[1]), "q/s")
"""


def test_run_all_check_runs_stores_apart_and_compares(files, tmp_path, monkeypatch, capsys):
    sections, stored, _, _ = files
    script = tmp_path / "bench_index.py"
    script.write_text(BENCH_SCRIPT.format(root=str(run_all.ROOT)), encoding="utf-8")
    check_runs, check_report = tmp_path / "check-runs.json", tmp_path / "check.md"
    for name, value in (("CHECK_RESULTS", check_runs), ("CHECK_REPORT", check_report), ("LOGS", tmp_path / "logs")):
        monkeypatch.setattr(run_all, name, value)
    doc = tmp_path / "PERFORMANCE.md"
    before = stored.read_text(encoding="utf-8")
    argv = ["--check", "--runs", "1", "--only", "index", "--results", str(stored), "--out", str(doc),
            "--sections", str(sections)]

    monkeypatch.setattr(run_all, "REGISTRY", [run_all.Bench("index", (str(script), "11000"))])
    assert run_all.main(argv) == 0
    assert stored.read_text(encoding="utf-8") == before and not doc.exists()  # docs/ untouched
    assert [r["figures"][0]["value"] for r in json.loads(check_runs.read_text())["benches"]["index"]["runs"]] \
        == [11000.0]
    assert "| 11,000 q/s | in | ≥ 10,000: met |" in check_report.read_text(encoding="utf-8")

    monkeypatch.setattr(run_all, "REGISTRY", [run_all.Bench("index", (str(script), "9000"))])
    assert run_all.main(argv) == 1
    assert "target lost: `index.qps`" in capsys.readouterr().out


def test_check_refuses_render_and_append(capsys):
    for other in ("--render", "--append"):
        with pytest.raises(SystemExit):
            run_all.parse_args(["--check", other])
        assert "--check runs benches" in capsys.readouterr().err
    assert run_all.CHECK_RESULTS.is_relative_to(run_all.ROOT / "bench" / "out")


def test_the_stored_runs_reproduce_themselves():
    """The committed runs compared with themselves: every quoted key in range (the comparison's identity)."""
    rows, missing = reproduce.compare(*(run_all.load_results(run_all.RESULTS),) * 2, run_all.SECTIONS)
    assert rows and not missing
    assert all(r.in_range for r in rows)


def test_keys_of_benches_the_new_runs_did_not_run_are_left_out(files):
    sections, stored, _, out = files
    new = sections.parent / "other.json"
    other = {"benches": {"startup": {"command": "x", "runs": [run({"startup.help_ms": (50, "ms")})]}}}
    new.write_text(json.dumps(other), encoding="utf-8")
    assert reproduce.check(stored, new, sections, out) == 2  # nothing quoted to compare: a clear error
    rows, missing = reproduce.compare(STORED, {"benches": {**other["benches"], **results(run({}))["benches"]}},
                                      sections)
    assert rows == [] and missing == ["index.qps", "index.ratio", "index.p95_ms"]
