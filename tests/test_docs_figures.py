"""Speed figures typed into the README and docs/*.md come from the stored runs: every "a–b unit" range
they quote is either text docs/PERFORMANCE.md renders or one machine's range of a stored figure
(docs/performance-runs.json, runs grouped by boot_id), formatted the way the renderer formats it.
A figure left behind when the benches are re-run fails here, naming the file and line."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from bench import run_all
from bench.render import Figure, format_range

ROOT = Path(__file__).resolve().parents[1]
RANGE = re.compile(r"\d[\d,.]*–\d[\d,.]* ?(?:ms|s|q/s|items/s|×|MB|GB|rows/s)(?![\w/])")


def per_boot_ranges(results: dict) -> set[str]:
    """Every stored figure's min–max over the runs of one machine boot, as the renderer writes it."""
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for bench in results["benches"].values():
        for run in bench["runs"]:
            if run.get("exit_code") != 0:
                continue
            boot = run.get("machine", {}).get("boot_id", "?")
            for rec in run["figures"]:
                values[(rec["key"], rec.get("unit", ""), boot)].append(float(rec["value"]))
    return {format_range(Figure(key, unit, vals, runs=len(vals))) for (key, unit, _), vals in values.items()}


def quoted_ranges() -> list[tuple[str, int, str]]:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = []
    for path in docs:
        if path.name == "PERFORMANCE.md":
            continue
        text = path.read_text(encoding="utf-8")
        for match in RANGE.finditer(text):
            found.append((path.name, text.count("\n", 0, match.start()) + 1, match.group(0)))
    return found


def test_every_range_the_docs_quote_comes_from_the_stored_runs():
    rendered = (ROOT / "docs" / "PERFORMANCE.md").read_text(encoding="utf-8")
    one_machine = per_boot_ranges(run_all.load_results(run_all.RESULTS))
    quoted = quoted_ranges()
    assert quoted, "the pattern finds no range at all: it is broken"
    stale = [f"{name}:{line}: {text}" for name, line, text in quoted
             if text not in rendered and text not in one_machine]
    assert not stale, "figures not in docs/PERFORMANCE.md nor one machine's stored range:\n" + "\n".join(stale)


def test_the_check_would_catch_a_stale_figure():
    rendered = (ROOT / "docs" / "PERFORMANCE.md").read_text(encoding="utf-8")
    one_machine = per_boot_ranges(run_all.load_results(run_all.RESULTS))
    assert "0.21–0.22 ms" not in rendered and "0.21–0.22 ms" not in one_machine  # the README's old figure
    assert RANGE.fullmatch("0.21–0.22 ms") and RANGE.fullmatch("11,853–14,283 q/s")
