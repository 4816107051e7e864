"""The figures a bench reports, for `make bench` (bench/run_all.py) to collect into docs/PERFORMANCE.md.

A bench prints its report for a person as before and, for each figure the document quotes, calls
`figure("index.1m.batched_qps", 11340, "q/s")`. When the environment names a file in
MODERATOR_BENCH_FIGURES (run_all sets it, one file per bench run), each call appends one JSON line
{"key", "value", "unit"} to it; otherwise it does nothing, so a bench run by hand is unchanged.

Keys are dotted, lower case, and start with the bench's name without `bench_` (`index.`, `import.`,
`hashing.`...); one key, one meaning, in every run. Values are plain numbers in the unit given
(ms, s, q/s, items/s, x for a ratio, bits, MB, count).
"""

from __future__ import annotations

import json
import math
import os

ENV = "MODERATOR_BENCH_FIGURES"


def figure(key: str, value: float, unit: str = "") -> None:
    """Record one figure of this run (no-op unless MODERATOR_BENCH_FIGURES is set)."""
    path = os.environ.get(ENV)
    if not path:
        return
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"figure {key}: {value} is not a finite number")
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"key": key, "value": value, "unit": unit}) + "\n")
