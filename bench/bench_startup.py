"""Start-up of the `moderator` command: subprocess wall time, min (and max) of N runs, as a ratio to
a bare `python -c pass` measured in the same run.

Run: .venv/bin/python bench/bench_startup.py [--runs 7] [--items 5000]

Commands: `--help`, `import --help`, a usage error, `queue --json` on a store of --items items (made
by cloning one imported photo's rows, as bench_grid does), and `python -c "import moderator.cli"`.
Targets (issue 13): `--help` and commands that do not open the store <= 0.12 s; `queue --json` at
5,000 items: was 1.14 s. Also prints, for `queue --json`, how long the SQL read and the JSON take
in-process, so the process start-up left over is visible.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PY = sys.executable
MODERATOR = [PY, "-m", "moderator"]


def timed(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times), max(times)


def make_store(data: Path, items: int) -> None:
    from moderator.ingest import import_paths
    from storage.store import Store
    from tests.conftest import photo, write_image
    from tests.grid_helpers import clone_item

    src = write_image(data.parent / "one.jpg", photo("astronaut")[:200, :200])
    with Store(data) as store:
        import_paths(store, [src], "bench")
        clone_item(store, items)


def in_process(data: Path) -> tuple[float, float]:
    """(SQL read of the queue, the rest of `queue --json`) in this process, best of 3."""
    from moderator.cli import main
    from moderator.settings import load_settings
    from storage import items as items_repo
    from storage.store import Store

    sql, whole = float("inf"), float("inf")
    for _ in range(3):
        with Store(data, readonly=True) as store:
            start = time.perf_counter()
            items_repo.queue(store.db, golden_rate=load_settings().golden_rate)
            sql = min(sql, time.perf_counter() - start)
        start = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            main(["queue", "--json", "--data-dir", str(data)])
        whole = min(whole, time.perf_counter() - start)
    return sql, whole - sql


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--items", type=int, default=5000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores, min / max of {args.runs} runs")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MODERATOR_DATA_DIR": str(Path(tmp) / "empty"), "PYTHONPATH": str(ROOT)}
        data = Path(tmp) / "store"
        make_store(data, args.items)
        rows = [("python -c pass (baseline)", [PY, "-c", "pass"]),
                ("import moderator.cli", [PY, "-c", "import moderator.cli"]),
                ("moderator --help", [*MODERATOR, "--help"]),
                ("moderator import --help", [*MODERATOR, "import", "--help"]),
                ("moderator bank list --help", [*MODERATOR, "bank", "list", "--help"]),
                ("moderator (usage error)", [*MODERATOR, "--no-such-option"]),
                (f"moderator queue --json ({args.items:,})", [*MODERATOR, "queue", "--json", "--data-dir", str(data)])]
        base = None
        for label, argv in rows:
            low, high = timed(argv, args.runs, env)
            base = base or low
            print(f"  {label:36s} {low * 1000:7.1f} - {high * 1000:7.1f} ms  {low / base:5.2f}x bare python")
        sql, rest = in_process(data)
        print(f"  queue --json in-process: SQL {sql * 1000:.1f} ms, items to JSON on stdout {rest * 1000:.1f} ms")
    print(f"load average {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
