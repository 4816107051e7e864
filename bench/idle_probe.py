"""How much slower memory is on its first use after the process left it alone: random reads of 1 GB.

Run: .venv/bin/python bench/idle_probe.py [--idle 30] [--rounds 3]
Not one of run_all's benches: a probe of the machine, not of Moderator Desk. Each round reads 200,000
random int64 of a 1 GB array the process wrote itself (so no page fault is involved), once right after
the previous reads ("busy") and once after `--idle` seconds of sleep. On a machine whose kernel runs a
DAMON scheme (docs/PERFORMANCE.md, the index section) the second read is many times slower; where
none runs, the two are alike. bench/bench_index.py's `after_idle` figures are the same effect on the index.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

READS = 200_000


def read_ms(array: np.ndarray, rng: np.random.Generator) -> float:
    where = rng.integers(0, array.size, READS)
    start = time.perf_counter()
    array[where].sum()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of sleep before each idle read")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    array = np.ones(1 << 27, dtype=np.int64)
    rng = np.random.default_rng(0)
    read_ms(array, rng)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for r in range(args.rounds):
        busy = read_ms(array, rng)
        time.sleep(args.idle)
        idle = read_ms(array, rng)
        print(f"round {r + 1}: {READS:,} random reads of 1 GB: busy {busy:.1f} ms, after {args.idle:g} s idle "
              f"{idle:.1f} ms ({idle / busy:.1f}x)", flush=True)
    print(f"page faults during the rounds: {resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
