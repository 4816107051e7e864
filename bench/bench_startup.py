"""Start-up of the `moderator` command and of the desk: new processes, min - max of N runs, against
baselines measured in the same run (a bare `python -c pass`; a bare PySide6 window's first paint).

Run: .venv/bin/python bench/bench_startup.py [--runs 7] [--desk-runs 5] [--items 5000] [--bank 1000000]

1. Commands: `--help`, `import --help`, a usage error, `queue --json` on a store of --items items
   (made by cloning one imported photo's rows, as bench_grid does), `python -c "import moderator.cli"`.
   Targets (issue 13): `--help` and commands that do not open the store <= 0.12 s.
2. The desk (target <= 0.6 s): from before the new process is spawned (CLOCK_MONOTONIC is one clock
   for every process) to the viewer's first filtered item on screen. The child is bench/startup_child.py:
   it imports what `python -m moderator` imports, nothing more, and runs `moderator.cli.main`
   (the real entry); a post-import hook on ui.viewer connects to the viewer's own `shown` signal (no
   test hook in the product). When it fires, the child reads the window's pixels back from the
   platform (QScreen.grabWindow: the X server's pixels under xcb) and checks that the viewer's
   centre is the filtered picture (grey: the policy's default filter, and not flat background),
   then closes the window as a person would. Offscreen, and in a real X11 window on an Xvfb the
   bench starts itself (when Xvfb is installed). On the --items store, and on the demo queue (`--demo`):
   its first open builds the demo store (set-up in the time, once per run), later opens reuse it.
   Beside it, interleaved, two baselines: a bare PySide6 window's first paint, and the floor (the
   child `floor`): the libraries the first picture needs, the read of the queue's top item, its
   decode and filter, a window that paints it, one after another, none of the desk's own modules.
3. Opening a store with --bank bank entries (0 skips it): Store() with the checks it runs at open,
   new processes, against the full `PRAGMA quick_check` the open ran before.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
CHILD = os.path.join(ROOT, "bench", "startup_child.py")  # one desk, bare window, floor or store open


sys.path.insert(0, ROOT)
from bench.figures import figure  # noqa: E402

MODERATOR = [PY, "-m", "moderator"]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a person's shell: bytecode is cached (an installed package has its .pyc;
    PYTHONDONTWRITEBYTECODE, set in some sessions, would compile ~140 modules from source each start:
    0.3-0.4 s of the desk's start-up that no user pays), no hub configured."""
    env = {**os.environ, "PYTHONPATH": ROOT, **extra}
    for name in ("PYTHONDONTWRITEBYTECODE", "MODERATOR_HUB_URL", "MODERATOR_HUB_TOKEN"):
        env.pop(name, None)
    return env


def timed(argv: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False)  # warm: .pyc written, files cached
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return min(times), max(times)


def make_store(data: Path, items: int) -> None:
    import cv2

    from moderator.ingest import import_paths
    from storage.store import Store
    from tests.conftest import photo, write_image
    from tests.grid_helpers import clone_item

    # A photo of a size moderators get (1600×1200), so the first item's decode is a real one.
    src = write_image(data.parent / "one.jpg", cv2.resize(photo("astronaut"), (1600, 1200)))
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


def commands(args, tmp: Path, data: Path) -> None:
    env = child_env(MODERATOR_DATA_DIR=str(tmp / "empty"))
    rows = [("bare_python", "python -c pass (baseline)", [PY, "-c", "pass"]),
            ("import_cli", "import moderator.cli", [PY, "-c", "import moderator.cli"]),
            ("help", "moderator --help", [*MODERATOR, "--help"]),
            ("import_help", "moderator import --help", [*MODERATOR, "import", "--help"]),
            ("bank_list_help", "moderator bank list --help", [*MODERATOR, "bank", "list", "--help"]),
            ("usage_error", "moderator (usage error)", [*MODERATOR, "--no-such-option"]),
            ("queue_json", f"moderator queue --json ({args.items:,})",
             [*MODERATOR, "queue", "--json", "--data-dir", str(data)])]
    base = None
    print(f"commands (min - max of {args.runs} runs, load {os.getloadavg()[0]:.2f}):")
    for key, label, argv in rows:
        low, high = timed(argv, args.runs, env)
        base = base or low
        figure(f"startup.{key}_ms", low * 1000, "ms")
        print(f"  {label:36s} {low * 1000:7.1f} - {high * 1000:7.1f} ms  {low / base:5.2f}x bare python")
    sql, rest = in_process(data)
    figure("startup.queue_json.sql_ms", sql * 1000, "ms")
    print(f"  queue --json in-process: SQL {sql * 1000:.1f} ms, items to JSON on stdout {rest * 1000:.1f} ms")


# -- the desk ---------------------------------------------------------------------------------------
def first_paint(kind: str, argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(seconds from before the spawn to the first checked picture on screen, the CPU seconds the new
    process had used by then, seconds to the whole queue in the desk's list): the CPU figure is what
    load on the machine changes least."""
    start = time.monotonic()
    done = subprocess.run([PY, CHILD, kind, *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"t"')]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"bench_startup: the {kind} child failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(lines[-1])
    if not result["ok"]:
        raise SystemExit(f"bench_startup: the {kind} child's first picture is wrong: {result['why']}")
    return result["t"] - start, result["cpu"], result["queue_t"] - start


class Xvfb:
    """An X server of our own for the real-window rows (as xvfb-run -a would start), or None."""

    def __init__(self):
        self.proc = self.display = None
        if shutil.which("Xvfb") is None:
            return
        read, write = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1200x24",
                                      "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as out:
            number = out.readline().strip()
        self.display = f":{number}" if number else None

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def desk(args, tmp: Path, data: Path) -> None:
    base = child_env(MODERATOR_CONFIG_DIR=str(tmp / "config"))
    screens = {"offscreen": {**base, "QT_QPA_PLATFORM": "offscreen"}}
    xvfb = Xvfb() if args.x11 else None
    if xvfb is not None and xvfb.display:
        screens["x11"] = {**base, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb.display}
    elif args.x11:
        print("  (no Xvfb: the X11 rows are skipped)")
    try:
        for screen, env in screens.items():
            desk_rows(screen, env, args, tmp, data)
    finally:
        if xvfb is not None:
            xvfb.close()


def desk_rows(screen: str, env: dict[str, str], args, tmp: Path, data: Path) -> None:
    """Interleaved rounds (bare window, the store, the demo), so load drifts hit every row alike."""
    demo_dir = tmp / f"demo-{screen}"
    rows: dict[str, list[tuple[float, float, float]]] = {"bare": [], "floor": [], "store": [], "demo_new": [], "demo": []}
    first_paint("bare", [], env)  # warm-up (not counted): .pyc written, fonts and files in the page cache
    first_paint("desk", ["desk", "--data-dir", str(data)], env)
    for n in range(args.desk_runs):
        rows["bare"].append(first_paint("bare", [], env))
        rows["floor"].append(first_paint("floor", [str(data)], env))
        rows["store"].append(first_paint("desk", ["desk", "--data-dir", str(data)], env))
        if n == 0:  # the demo store is built by the first open: its set-up is in this one figure
            rows["demo_new"].append(first_paint("desk", ["desk", "--demo", "--data-dir", str(demo_dir)], env))
        rows["demo"].append(first_paint("desk", ["desk", "--demo", "--data-dir", str(demo_dir)], env))
    bare = min(rows["bare"])[0]
    labels = {"bare": "bare PySide6 window, first paint (baseline)",
              "floor": "the floor: libraries, top item read, decode, paint",
              "store": f"desk, existing store of {args.items:,}: first filtered item",
              "demo": "desk --demo, existing demo store",
              "demo_new": "desk --demo, first open (builds the demo store)"}
    print(f"desk, {screen} ({args.desk_runs} runs interleaved, load {os.getloadavg()[0]:.2f}):")
    for key, runs in rows.items():
        wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
        print(f"  {labels[key]:56s} {min(wall):6.3f} - {max(wall):6.3f} s  {min(wall) / bare:5.2f}x bare window"
              f"  (CPU {min(cpu):.3f} - {max(cpu):.3f} s)")
    at = "startup.desk" if screen == "offscreen" else f"startup.desk.{screen}"
    store = f"store{args.items // 1000}k" if args.items % 1000 == 0 else f"store{args.items}"
    first = {key: min(r[0] for r in runs) for key, runs in rows.items()}
    figure(f"{at}.bare_window_s", bare, "s")
    figure(f"{at}.{store}.first_item_s", first["store"], "s")
    figure(f"{at}.{store}.first_item_max_s", max(r[0] for r in rows["store"]), "s")
    figure(f"{at}.{store}.cpu_s", min(r[1] for r in rows["store"]), "s")
    queue = [r[2] for r in rows["store"]]
    figure(f"{at}.{store}.queue_read_s", min(queue), "s")
    figure(f"{at}.{store}.queue_read_max_s", max(queue), "s")
    print(f"  {'desk, existing store: the whole queue in its list':56s} {min(queue):6.3f} - {max(queue):6.3f} s")
    figure(f"{at}.{store}.x_bare", first["store"] / bare, "x")
    figure(f"{at}.{store}.floor_s", first["floor"], "s")
    figure(f"{at}.{store}.floor_x_bare", first["floor"] / bare, "x")
    figure(f"{at}.{store}.x_floor", first["store"] / first["floor"], "x")
    figure(f"{at}.demo.first_item_s", first["demo"], "s")
    figure(f"{at}.demo_new.first_item_s", first["demo_new"], "s")

# -- opening a store with a big bank ------------------------------------------------------------------
def make_bank_store(data: Path, n: int) -> None:
    """A store whose block bank holds n random PDQ hashes, inserted in key order (as bench_index does:
    not an import figure; 10M in random order takes many minutes)."""
    import numpy as np

    from moderator.clock import now_iso
    from moderator.domain import Bank, BankAction, BankKind
    from storage import banks as banks_repo
    from storage.store import Store

    text = np.random.default_rng(2).bytes(n * 32).hex()
    rows = [("pdq", h, "", "bench", "") for h in sorted(text[i : i + 64] for i in range(0, len(text), 64))]
    del text
    start = time.perf_counter()
    with Store(data) as store:
        store.write(lambda db: banks_repo.create_bank(db, Bank("bench", BankKind.BLOCK, "pdq", 31, BankAction.FLAG,
                                                             now_iso(), None)))
        store.write(banks_repo.add_entries, "bench", rows, "bench")
    print(f"  set-up: {n:,} bank entries in {time.perf_counter() - start:.1f} s, "
          f"{(data / Store.FILENAME).stat().st_size / 1e6:,.0f} MB")


def store_open(args, tmp: Path) -> None:
    """New processes opening the store: Store() as a whole, and each check alone, interleaved runs."""
    data = tmp / "bank-store"
    label = {1_000_000: "1m", 10_000_000: "10m"}.get(args.bank, str(args.bank))
    print(f"opening a store with {args.bank:,} bank entries ({args.runs} runs, new processes):")
    make_bank_store(data, args.bank)
    env = child_env()
    runs = []
    for _ in range(args.runs + 1):
        done = subprocess.run([PY, CHILD, "open", str(data)], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600, check=True)
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    runs = runs[1:]  # the first warms the page cache and writes .pyc files

    def span(key: str) -> str:
        return f"{min(r[key] for r in runs):.3f} - {max(r[key] for r in runs):.3f} s"

    best = {key: min(r[key] for r in runs) for key in ("open", "at_open", "whole_file")}
    print(f"  Store() (checks every table but bank_entries)  {span('open')}  (load {os.getloadavg()[0]:.2f})")
    print(f"  the check at open alone                        {span('at_open')}")
    print(f"  the whole-file quick_check (the open's before) {span('whole_file')}  "
          f"{best['whole_file'] / best['at_open']:.1f}x the check at open")
    figure(f"startup.store_open_{label}_s", best["open"], "s")
    figure(f"startup.store_open_{label}.at_open_check_s", best["at_open"], "s")
    figure(f"startup.store_open_{label}.whole_file_check_s", best["whole_file"], "s")
    figure(f"startup.store_open_{label}.check_x", best["whole_file"] / best["at_open"], "x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command")
    parser.add_argument("--desk-runs", type=int, default=5, help="runs of each desk row")
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--no-x11", dest="x11", action="store_false", help="offscreen rows only")
    parser.add_argument("--bank", type=int, default=1_000_000, help="bank entries of the store-open part (0: skip)")
    parser.add_argument("--only", choices=("commands", "desk", "open"), help="one part only")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "store"
        if args.only in (None, "commands", "desk"):
            make_store(data, args.items)
        if args.only in (None, "commands"):
            commands(args, tmp, data)
        if args.only in (None, "desk"):
            desk(args, tmp, data)
        if args.only in (None, "open") and args.bank:
            store_open(args, tmp)
    print(f"load average {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
