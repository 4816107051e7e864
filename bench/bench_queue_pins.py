"""What the SLA pins cost the desk's queue at 10,000 items: QueueState.read (keys with the pin
cutoff, sorted when pins moved items) and repin (a tick with nothing newly overdue, and one with 1%
newly overdue) against the same read without pins, in the same run. Prints ratios, min-max over runs.

Run: .venv/bin/python bench/bench_queue_pins.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import figure  # noqa: E402
from moderator.clock import iso, utc_now  # noqa: E402
from moderator.domain import Item, MediaKind  # noqa: E402
from moderator.queue_state import QueueState  # noqa: E402


def items(n: int, overdue_share: float, rng: random.Random) -> list[Item]:
    from datetime import timedelta

    now = utc_now()
    out = []
    for i in range(n):
        minutes = -rng.uniform(1, 600) if rng.random() < overdue_share else rng.uniform(1, 2880)
        out.append(Item(id=f"i{i:05d}", sha256=str(i), kind=MediaKind.IMAGE, mime="image/jpeg", media_path="p",
                        width=1, height=1, priority=rng.randint(0, 3),
                        sla_due_at=iso(now + timedelta(minutes=minutes)), imported_at=iso(now)))
    return sorted(out, key=lambda it: (-it.priority, it.sla_due_at, it.id))  # the SQL order, as fetched


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(12)
    fetched = items(args.items, 0.05, rng)
    ratios: dict[str, list[float]] = {"read with pins": [], "repin, none new": [], "repin, 1% new": []}
    base_ms = []
    for _ in range(args.runs):
        plain = QueueState()
        base = timed(lambda s=plain: s.read(lambda: fetched))  # no cutoff: no pins, no sort
        base_ms.append(base)
        pinned = QueueState(pinned_before=iso(utc_now()))
        snap = None

        def read(s=pinned):
            nonlocal snap
            snap = s.read(lambda: fetched)

        ratios["read with pins"].append(timed(read) / base)
        pinned.load(snap)
        ratios["repin, none new"].append(timed(lambda s=pinned: s.repin(s.pinned_before)) / base)
        soon = sorted((it for it in pinned.items if it.sla_due_at > pinned.pinned_before),
                      key=lambda it: it.sla_due_at)[: args.items // 100]
        cutoff = soon[-1].sla_due_at + "~"  # just after the 1% due soonest: they become overdue
        ratios["repin, 1% new"].append(timed(lambda s=pinned, c=cutoff: s.repin(c)) / base)
    print(f"{args.items} items, {args.runs} runs; baseline: read without pins {min(base_ms):.1f}-{max(base_ms):.1f} ms")
    for name, values in ratios.items():
        print(f"{name}: {min(values):.2f}-{max(values):.2f}x the baseline")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    figure("queue_pins.baseline_ms", statistics.median(base_ms), "ms")
    for name, key in (("read with pins", "read_x"), ("repin, none new", "repin_none_x"), ("repin, 1% new", "repin_1pct_x")):
        figure(f"queue_pins.{key}", statistics.median(ratios[name]), "x")
    figure("queue_pins.items", args.items, "count")


if __name__ == "__main__":
    main()
