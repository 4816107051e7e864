"""A batch label of 1,000 items and its undo, through ReviewService on a real store (no window).

Run: .venv/bin/python bench/bench_batch.py [--items 10000] [--batch 1000] [--runs 5] [--same] [--profile]
     .venv/bin/python bench/bench_batch.py --baseline REV [--rounds 3]   (REV: a git revision, e.g. HEAD~1)
A real store (SQLite file, fsync'd commits, the audit anchor written after each): one photo imported
and cloned into N items. Each run labels `--batch` open items with one decide_batch (one transaction)
and undoes it with one undo_last. Timed per call: wall time from the call to the commit's return (the
writer thread's queue hop, the transaction, its fsync and the anchor), and the writer thread's CPU
time (thread_time: what the work costs, whatever else the machine runs). Each run takes items never
labelled before (a fresh queue); --same labels the first open items every time (their history grows).
Then the audit log is verified whole (storage.audit_check): a faster hash that hashed otherwise would
show as a failure here, not as a speed-up.
  --baseline REV  the same runs on `git archive REV` (in a temporary folder) and on this tree, in turns,
                  `--rounds` times each, in separate processes; prints min-max of both and the ratio.
                  With --only PATH...: the baseline is HEAD with just those files as REV had them.
  --profile       cProfile of the last run's decide_batch + undo_last on the store's writer thread.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
# --root: the tree whose code is measured (the baseline's, from --baseline); this one by default.
ROOT = Path(sys.argv[sys.argv.index("--root") + 1]) if "--root" in sys.argv else HERE
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402

from moderator.ingest import import_paths  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.review import ReviewService  # noqa: E402
from storage import audit, audit_check  # noqa: E402
from storage.audit_anchor import anchor_path  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.grid_helpers import clone_item  # noqa: E402


def fill(store: Store, folder: Path, n: int) -> None:
    from skimage import data

    cv2.imwrite(str(folder / "one.jpg"), cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR))
    import_paths(store, [folder / "one.jpg"], "bench")
    clone_item(store, n)
    # The clones are written outside the desk's writers: one audit entry records them, so the log verifies.
    ids = [r[0] for r in store.db.execute("SELECT id FROM items ORDER BY rowid")]
    store.write(lambda db: audit.append(db, "bench", "import", None, {"items": len(ids)},
                                        [r for i in ids for r in audit.item_records(i)]))


def runs(service: ReviewService, size: int, count: int, profile: bool, used: set[str] | None = None,
         ) -> dict[str, list[float]]:
    """`used`: items labelled by earlier runs, skipped (each run on items with no history yet, as a
    batch on a fresh queue is); None: the first open items each time (their history grows each run)."""
    out: dict[str, list[float]] = {"commit": [], "undo": [], "commit_cpu": [], "undo_cpu": []}
    store = service.store

    def timed(name: str, call):
        cpu, start = store.write(lambda _db: time.thread_time()), time.perf_counter()
        result = call()
        out[name].append((time.perf_counter() - start) * 1000)
        out[f"{name}_cpu"].append((store.write(lambda _db: time.thread_time()) - cpu) * 1000)
        assert len(result.decisions) == size, len(result.decisions)

    for n in range(count):
        ids = [i.id for i in service.queue() if used is None or i.id not in used][:size]
        if used is not None:
            used.update(ids)
        prof = cProfile.Profile() if profile and n == count - 1 else None
        if prof:  # a profile is per thread: enable it on the store's writer, where the transactions run
            store.write(lambda _db, prof=prof: prof.enable())
        timed("commit", lambda ids=ids: service.decide_batch(ids, "spam"))
        timed("undo", service.undo_last)
        if prof:
            store.write(lambda _db, prof=prof: prof.disable())
            print("\none decide_batch + undo_last on the writer thread (cumulative, top 35):")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
    return out


def measure(items: int, batch: int, count: int, same: bool, profile: bool) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MODERATOR_CONFIG_DIR"] = str(Path(tmp) / "config")
        with Store(Path(tmp) / "store") as store:
            fill(store, Path(tmp), items)
            service = ReviewService(store, load_policy(), "bench")
            used = None if same else set()
            runs(service, batch, 1, False, used)  # warm-up: imports, SQLite's page cache
            out = runs(service, batch, count, profile, used)
            report = audit_check.check(store.db, anchor_path(store.path), None)
    if not report.ok:
        raise SystemExit(f"the audit log does not verify: {report.problems[0].message}")
    return out


def _span(values: list[float]) -> str:
    return f"{min(values):.0f}-{max(values):.0f} ms (median {statistics.median(values):.0f})"


def compare(args: argparse.Namespace) -> None:
    """This tree and REV in turns, each round in fresh processes, so both see the same load."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(HERE), "archive", "HEAD" if args.only else args.baseline],
                                 check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        for path in args.only:  # these files as REV had them, the rest as this tree's last commit
            old = subprocess.run(["git", "-C", str(HERE), "show", f"{args.baseline}:{path}"], check=True,
                                 capture_output=True).stdout
            (Path(tmp) / path).write_bytes(old)
        found: dict[str, dict[str, list[float]]] = {args.baseline: {}, "this tree": {}}
        for _ in range(args.rounds):
            for name, root in ((args.baseline, tmp), ("this tree", str(HERE))):
                cmd = [sys.executable, __file__, "--worker", "--root", root, "--items", str(args.items),
                       "--batch", str(args.batch), "--runs", str(args.runs)] + (["--same"] if args.same else [])
                line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
                for key, values in json.loads(line).items():
                    found[name].setdefault(key, []).extend(values)
    if args.only:
        print(f"baseline: HEAD with {', '.join(args.only)} as in {args.baseline}")
    print(f"{args.items} items, batch of {args.batch}, {args.rounds} rounds x {args.runs} runs each "
          f"({'the same items every run' if args.same else 'fresh items every run'}), load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    base, new = found[args.baseline], found["this tree"]
    for key, what in (("commit", "decide_batch wall"), ("undo", "undo_last wall"),
                      ("commit_cpu", "decide_batch writer CPU"), ("undo_cpu", "undo_last writer CPU")):
        ratio = statistics.median(base[key]) / statistics.median(new[key])
        print(f"{what:24s} {args.baseline}: {_span(base[key])}; this tree: {_span(new[key])}; {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--same", action="store_true", help="the same items every run")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--baseline", help="a git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=[], metavar="PATH",
                        help="with --baseline: only these files from REV, the rest from HEAD (one change alone)")
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        return compare(args)
    out = measure(args.items, args.batch, args.runs, args.same, args.profile)
    if args.worker:
        print(json.dumps(out))
        return None
    print(f"{args.items} items, batch of {args.batch}, {args.runs} runs after one warm-up; audit log verified")
    for key, what in (("commit", "decide_batch wall"), ("undo", "undo_last wall"),
                      ("commit_cpu", "decide_batch writer CPU"), ("undo_cpu", "undo_last writer CPU")):
        print(f"{what:24s} {', '.join(f'{t:.0f}' for t in out[key])} ms; {_span(out[key])}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if not args.same:  # the same items every run: another meaning, not recorded
        record(out, args)
    return None


def record(out: dict[str, list[float]], args: argparse.Namespace) -> None:
    """The figures docs/PERFORMANCE.md quotes (bench/figures.py; this tree's, imported here because a
    --worker may run on a baseline tree that has none)."""
    sys.path.insert(0, str(HERE))
    from bench.figures import figure

    for key in ("commit", "undo"):
        wall, cpu = out[key], out[f"{key}_cpu"]
        figure(f"batch.{key}.median_ms", statistics.median(wall), "ms")
        figure(f"batch.{key}.min_ms", min(wall), "ms")
        figure(f"batch.{key}.max_ms", max(wall), "ms")
        figure(f"batch.{key}.over_200", sum(t > 200 for t in wall), "count")
        figure(f"batch.{key}.cpu_median_ms", statistics.median(cpu), "ms")
        figure(f"batch.{key}.cpu_max_ms", max(cpu), "ms")
    figure("batch.calls", args.runs, "count")
    figure("batch.size", args.batch, "count")


if __name__ == "__main__":
    main()
