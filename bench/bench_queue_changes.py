"""What keeping the queue up to date costs per decision at 10,000 queued items: before (re-read the
whole stored queue on a worker, then reset the model) vs after (apply the decision's Changes).

Run: .venv/bin/python bench/bench_queue_changes.py [--items 10000] [--decisions 30]   (offscreen)
A real store (SQLite file, fsync'd writes) with one imported photo cloned into N items (each its own
media row, priorities, SLAs and report times varied), the real QueueModel in a shown QTableView.
Each decision is written by ReviewService.decide (not timed: the same in both paths); then, timed:
  before: worker = ReviewService.queue() (the full read);  GUI = QueueModel.reset + layout
  after:  worker = the rows the Changes bring back (none);  GUI = QueueState.apply + QueueModel.apply
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402

from bench.figures import figure  # noqa: E402
from moderator.ingest import import_paths  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.queue_state import QueueState  # noqa: E402
from moderator.review import ReviewService  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.queue_model import QueueModel  # noqa: E402


def fill(store: Store, folder: Path, n: int) -> None:
    rgb = np.random.default_rng(7).integers(0, 255, (600, 800, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "one.jpg"), rgb)
    import_paths(store, [folder / "one.jpg"], "bench")
    media = dict(store.db.execute("SELECT * FROM media").fetchone())
    item = dict(store.db.execute("SELECT * FROM items").fetchone())
    rng = random.Random(7)
    stamps = [None] + [f"2026-0{m}-{d:02d}T{h:02d}:00:00Z" for m in range(1, 4) for d in range(1, 28)
                       for h in range(0, 24, 6)]

    def write(db):
        for _ in range(n - 1):
            sha = uuid.uuid4().hex * 2
            db["media"].insert({**media, "sha256": sha})
            db["items"].insert({**item, "id": str(uuid.uuid4()), "sha256": sha, "external_id": None,
                                "priority": rng.randint(0, 3), "sla_due_at": rng.choice(stamps),
                                "reported_at": rng.choice(stamps)})

    store.write(write)


def run(app: QApplication, service: ReviewService, decisions: int) -> tuple[dict[str, list[float]], int]:
    state, model, view = QueueState(), QueueModel(), QTableView()
    view.setModel(model)
    view.resize(440, 900)
    view.show()
    assert state.load(state.read(service.queue))
    model.reset(state.items, state.version)
    app.processEvents()
    t: dict[str, list[float]] = {k: [] for k in ("write", "before worker", "before gui", "after worker", "after gui")}
    for _ in range(decisions):
        target = state.items[0].id
        start = time.perf_counter()
        changes = service.decide(target, "spam").changes
        t["write"].append(time.perf_counter() - start)

        start = time.perf_counter()  # after: the worker reads only the rows the Changes bring back
        rows = {i: service.item(i) for i in QueueState.rows_to_read(changes)}
        t["after worker"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.apply(state.apply(changes, rows))
        app.processEvents()
        t["after gui"].append(time.perf_counter() - start)

        start = time.perf_counter()  # before: the whole queue, read and shown again
        items = service.queue()
        t["before worker"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model.reset(items, state.version)
        app.processEvents()
        t["before gui"].append(time.perf_counter() - start)
        assert len(items) == len(state.items) and model.rowCount() == len(items)
    view.close()
    return t, len(state.items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=30)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "store") as store:
        fill(store, Path(tmp), args.items)
        t, left = run(app, ReviewService(store, load_policy(), "bench"), args.decisions)
    ms = {k: statistics.median(v) * 1000 for k, v in t.items()}
    print(f"{args.items} queued items, {args.decisions} decisions ({left} left open); median ms per decision")
    print(f"  decision write (both paths)  {ms['write']:8.2f}")
    print(f"  before: worker full read     {ms['before worker']:8.2f}   GUI model reset   {ms['before gui']:8.2f}")
    print(f"  after:  worker rows read     {ms['after worker']:8.3f}   GUI apply Changes {ms['after gui']:8.3f}")
    before, after = ms["before worker"] + ms["before gui"], ms["after worker"] + ms["after gui"]
    print(f"queue upkeep per decision: before {before:.2f} ms, after {after:.3f} ms: {before / after:.0f}x less "
          f"(GUI thread alone {ms['before gui'] / ms['after gui']:.0f}x)")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for key, name in (("write", "write_ms"), ("before worker", "before.worker_ms"), ("before gui", "before.gui_ms"),
                      ("after worker", "after.worker_ms"), ("after gui", "after.gui_ms")):
        figure(f"queue_changes.{name}", ms[key], "ms")
    figure("queue_changes.before.total_ms", before, "ms")
    figure("queue_changes.after.total_ms", after, "ms")
    figure("queue_changes.total_x", before / after, "x")
    figure("queue_changes.gui_x", ms["before gui"] / ms["after gui"], "x")
    figure("queue_changes.items", args.items, "count")


if __name__ == "__main__":
    main()
