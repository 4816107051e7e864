"""Does a fresh run reproduce docs/PERFORMANCE.md? Each figure the document quotes, new runs against
the stored range.

    .venv/bin/python bench/run_all.py --check --runs 1     # run every bench once, then this comparison
    .venv/bin/python bench/reproduce.py --new bench/out/check-runs.json

The stored runs (docs/performance-runs.json) give each quoted key its min–max; a new run's value is
"in" when it falls inside, otherwise "above" or "below" by a factor (new / max or min / new). A key a
section tests against a target (`{{key|>=500}}`) also says whether the new run meets it. Ratios (unit
x) are within one run and should hold on any machine; absolute times move with the machine and its
load, and the new runs' bare `python -c pass` (startup.bare_python_ms) says how fast this machine is
against the stored ones. The exit code is 0 when every quoted figure a new run produced is in range
and every target the stored runs met in all runs is still met, else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a plain script

from bench.render import (  # noqa: E402
    PLACEHOLDER,
    SUMMARY_BLOCK,
    Figure,
    RenderError,
    collect_figures,
    format_number,
    meets,
    parse_threshold,
    with_unit,
)

STORED = ROOT / "docs" / "performance-runs.json"
NEW = ROOT / "bench" / "out" / "check-runs.json"
SECTIONS = ROOT / "bench" / "sections"
REPORT = ROOT / "bench" / "out" / "REPRODUCE.md"
SPEED_KEY = "startup.bare_python_ms"


@dataclass(frozen=True)
class Target:
    op: str  # ">=" or "<="
    limit: float

    def met(self, value: float) -> bool:
        return meets(self.op, self.limit, value)

    def __str__(self) -> str:
        return f"{'≥' if self.op == '>=' else '≤'} {format_number(self.limit)}"


@dataclass
class Quoted:
    """A key the sections quote: where, whether in the summary, and the targets tested on it."""

    key: str
    section: str
    in_summary: bool = False
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True)
class Row:
    quoted: Quoted
    stored: Figure
    new: Figure

    def verdicts(self) -> list[str]:
        lo, hi = min(self.stored.values), max(self.stored.values)
        out = []
        for v in self.new.values:
            if lo <= v <= hi:
                out.append("in")
            elif v > hi:
                out.append(f"above ×{v / hi:.2f}" if hi > 0 else "above")
            else:
                out.append(f"below ×{lo / v:.2f}" if v > 0 else "below")
        return out

    @property
    def in_range(self) -> bool:
        return all(v == "in" for v in self.verdicts())

    def target_lost(self) -> list[Target]:
        """Targets every stored run met and some new run does not."""
        return [t for t in self.quoted.targets
                if all(t.met(v) for v in self.stored.values) and not all(t.met(v) for v in self.new.values)]


def quoted_keys(section_dir: Path) -> dict[str, Quoted]:
    """Every key a section quotes, in section order, with the targets its placeholders test."""
    keys: dict[str, Quoted] = {}
    for path in sorted(section_dir.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        summary = "".join(SUMMARY_BLOCK.findall(text))
        for match in PLACEHOLDER.finditer(text):
            key, spec = match.group(1), match.group(2) or ""
            q = keys.setdefault(key, Quoted(key, path.stem))
            q.in_summary = q.in_summary or match.group(0) in summary
            threshold = parse_threshold(spec)
            if threshold:
                t = Target(*threshold)
                if t not in q.targets:
                    q.targets = (*q.targets, t)
    return keys


def compare(stored: dict, new: dict, section_dir: Path) -> tuple[list[Row], list[str]]:
    """(a row per quoted key both sides produced, the quoted keys of the benches the new runs ran that
    they did not produce)."""
    old_figs, new_figs = collect_figures(stored), collect_figures(new)
    ran = set(new.get("benches", {}))
    rows, missing = [], []
    for key, q in quoted_keys(section_dir).items():
        if key not in old_figs or not old_figs[key].values or old_figs[key].bench not in ran:
            continue  # render_document already fails on the first; the new runs did not run the bench
        if key not in new_figs or not new_figs[key].values:
            missing.append(key)
            continue
        rows.append(Row(q, old_figs[key], new_figs[key]))
    return rows, missing


def span(fig: Figure) -> str:
    lo, hi = min(fig.values), max(fig.values)
    text = format_number(lo) if lo == hi else f"{format_number(lo)}–{format_number(hi)}"
    return with_unit(text, fig.unit)


def report(rows: list[Row], missing: list[str], new: dict) -> str:
    """The comparison as markdown: a count line, the speed of this machine, then a table."""
    outside = [r for r in rows if not r.in_range]
    ratios_out = [r for r in outside if r.stored.unit == "x"]
    lost = [(r, t) for r in rows for t in r.target_lost()]
    boots = sorted({run.get("machine", {}).get("boot_id", "?") for b in new.get("benches", {}).values()
                    for run in b.get("runs", [])})
    lines = ["# Reproduction check", "",
             f"New runs from boot {', '.join(b[:8] for b in boots) or '?'} against docs/performance-runs.json. "
             f"{len(rows)} quoted figures compared: {len(rows) - len(outside)} in range, {len(outside)} outside "
             f"({len(ratios_out)} of them ratios); {len(lost)} target(s) that every stored run met and a new "
             f"run missed; {len(missing)} quoted figure(s) no new run produced."]
    speed = next((r for r in rows if r.quoted.key == SPEED_KEY), None)
    if speed:
        lines.append(f"This machine's bare `python -c pass`: {span(speed.new)} (stored runs: {span(speed.stored)}).")
    for r, t in lost:
        lines.append(f"- target lost: `{r.quoted.key}` {t}: new {span(r.new)}, stored {span(r.stored)}")
    if missing:
        lines.append("- not produced by the new runs: " + ", ".join(f"`{k}`" for k in missing))
    lines += ["", "| figure | section | stored | new | verdict | targets |", "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r.in_range, not r.quoted.in_summary)):
        targets = ", ".join(f"{t}: {'met' if all(t.met(v) for v in r.new.values) else 'NOT met'}"
                            for t in r.quoted.targets)
        star = " (summary)" if r.quoted.in_summary else ""
        lines.append(f"| `{r.quoted.key}`{star} | {r.quoted.section} | {span(r.stored)} | {span(r.new)} "
                     f"| {', '.join(r.verdicts())} | {targets} |")
    return "\n".join(lines) + "\n"


def check(stored_path: Path, new_path: Path, section_dir: Path, out: Path) -> int:
    """Print and save the report; 0 when everything reproduced, 1 when something did not, 2 on bad input."""
    try:
        stored, new = (json.loads(p.read_text(encoding="utf-8")) for p in (stored_path, new_path))
        rows, missing = compare(stored, new, section_dir)
    except (OSError, ValueError, KeyError, RenderError) as exc:
        print(f"reproduce: cannot compare {new_path} with {stored_path}: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print(f"reproduce: no quoted figure in {new_path}: run the benches first (run_all.py --check)",
              file=sys.stderr)
        return 2
    text = report(rows, missing, new)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text + f"\nwrote {out}")
    bad = any(not r.in_range or r.target_lost() for r in rows)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Compare new bench runs with the ranges docs/PERFORMANCE.md quotes.")
    ap.add_argument("--stored", type=Path, default=STORED, help="the runs the document was rendered from")
    ap.add_argument("--new", type=Path, default=NEW, help="the new runs (run_all.py --check writes them)")
    ap.add_argument("--sections", type=Path, default=SECTIONS, help="the section templates")
    ap.add_argument("--out", type=Path, default=REPORT, help="where the report is written")
    args = ap.parse_args(argv)
    return check(args.stored, args.new, args.sections, args.out)


if __name__ == "__main__":
    sys.exit(main())
