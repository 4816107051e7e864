"""Bank import into the store: 1,000,000 te-lines PDQ hashes, read + validated + committed, then the first
match that builds the in-memory index from SQLite. Budget (issue 4): seconds, not minutes.

Run: .venv/bin/python bench/bench_bank_import.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from bench.figures import figure  # noqa: E402
from moderator.bank_formats import read_bank_file  # noqa: E402
from moderator.banks import BankService  # noqa: E402
from moderator.matching import Matcher  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from storage.store import Store  # noqa: E402


def write_te_lines(path: Path, n: int, seed: int = 0) -> None:
    raw = np.random.default_rng(seed).bytes(n * 32)
    with open(path, "w") as f:
        f.writelines(f"pdq {raw[i * 32 : (i + 1) * 32].hex()}\n" for i in range(n))


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bank.txt"
        write_te_lines(path, args.n)
        rows, t_read = timed(read_bank_file, path, "te-lines")
        with Store(Path(tmp) / "data") as store:
            service = BankService(store, load_policy(), "bench")
            result, t_import = timed(service.import_bank, path, "bench", kind="block", fmt="te-lines")
            assert result.added == args.n, result
            again, t_again = timed(service.import_bank, path, "bench", fmt="te-lines")
            assert again.duplicates == args.n, again
            matcher = Matcher(store, load_policy())
            _, t_index = timed(matcher.cache.current, store.db)
            _, t_check = timed(matcher.cache.current, store.db)
        print(f"bank import, {args.n:,} te-lines PDQ hashes")
        print(f"  read + validate only:       {t_read:6.2f} s  {len(rows) / t_read:>12,.0f} rows/s")
        print(f"  import (read + commit):     {t_import:6.2f} s  {args.n / t_import:>12,.0f} rows/s")
        print(f"  re-import, all duplicates:  {t_again:6.2f} s  {args.n / t_again:>12,.0f} rows/s")
        print(f"  index build from SQLite:    {t_index:6.2f} s")
        print(f"  index up-to-date check:     {t_check * 1000:6.2f} ms")
    key = "bank_import" if args.n == 1_000_000 else f"bank_import.n{args.n}"
    for name, seconds in [("read", t_read), ("import", t_import), ("reimport", t_again)]:
        figure(f"{key}.{name}_s", seconds, "s")
        figure(f"{key}.{name}_rows_per_s", args.n / seconds, "rows/s")
    figure(f"{key}.index_build_s", t_index, "s")
    figure(f"{key}.index_check_ms", t_check * 1000, "ms")


if __name__ == "__main__":
    main()
