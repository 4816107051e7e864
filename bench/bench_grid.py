"""The grid over 10,000 queued items, in the real window: first paint, a scroll through all of it, and a
batch label of 1,000 items and its undo.

Run: .venv/bin/python bench/bench_grid.py [--items 10000] [--batch 1000] [--profile]   (offscreen)
A real store (SQLite file, fsync'd writes): one photo imported, cloned into N items (each its own
content hash, so every thumbnail is its own decode; disk thumbnail cache cold at the start).
  first paint: G pressed in the viewer -> the grid painted (placeholders), then -> every tile on the
               first screen painted with its filtered thumbnail
  scroll:      the scroll bar stepped 120 px at a time (a wheel notch) from top to bottom; each step's
               frame = setValue + one turn of the event loop (layout, visible rows, requests, paint,
               thumbnails arriving); p50/p99/max and frames over 50 ms; thumbnails decoded vs tiles
               shown. Then once more from the top with the thumbnail caches warm
  batch:       the first `--batch` tiles selected, `2` pressed (and the question over 50 items answered
               with Enter) until the grid has lost them; Ctrl+Z until they are back. Also timed alone
               on the same store: ReviewService.decide_batch / undo_last (the transaction)
  peak RSS of the process (ru_maxrss).
--profile prints where the time of one decide_batch + undo_last goes (cProfile, top functions).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
from PySide6.QtCore import (  # noqa: E402
    QElapsedTimer,
    QEvent,
    QEventLoop,
    QItemSelection,
    QItemSelectionModel,
    QObject,
    Qt,
    QTimer,
)
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.figures import figure  # noqa: E402
from moderator.ingest import import_paths  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.queue_state import QueueState  # noqa: E402
from moderator.review import ReviewService  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.grid_helpers import clone_item  # noqa: E402
from ui.app import build_window  # noqa: E402

STEP_PX = 120
STALL_MS = 50


def fill(store: Store, folder: Path, n: int) -> None:
    from skimage import data

    rgb = cv2.resize(data.chelsea(), (1200, 800), interpolation=cv2.INTER_CUBIC)  # a ~1 MP upload
    cv2.imwrite(str(folder / "one.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    import_paths(store, [folder / "one.jpg"], "bench")
    clone_item(store, n)


def wait_until(app: QApplication, cond, timeout_ms: int = 120_000) -> float:
    """ms until cond() holds, running the event loop as the desk does: asleep until an event comes
    (a spinning loop would take the GIL from the workers and slow down what is measured)."""
    clock = QElapsedTimer()
    clock.start()
    beat = QTimer()  # wakes the loop now and then, should cond() turn true without an event
    beat.start(5)
    while not cond():
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        if clock.elapsed() > timeout_ms:
            raise TimeoutError("the grid did not get there")
    beat.stop()
    return clock.nsecsElapsed() / 1e6


def first_screen_ready(grid) -> bool:
    first, last = grid.list.visible_rows()
    return first >= 0 and grid.requester.idle and all(
        grid.requester.image(grid.model.item_at(r)) is not None for r in range(first, last + 1))


def first_paint(app, window) -> tuple[float, float]:
    painted = []
    clock = QElapsedTimer()
    clock.start()
    QTest.keyClick(window.viewer, Qt.Key.Key_G)
    grid = window.grid
    watch = _PaintWatch(painted, clock)
    grid.list.viewport().installEventFilter(watch)
    wait_until(app, lambda: painted)
    shown = painted[0]
    wait_until(app, lambda: first_screen_ready(grid))
    grid.list.viewport().removeEventFilter(watch)
    return shown, clock.nsecsElapsed() / 1e6


class _PaintWatch(QObject):
    """Notes the time of the viewport's first paint."""

    def __init__(self, out: list[float], clock: QElapsedTimer):
        super().__init__()
        self._out, self._clock = out, clock

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint and not self._out:
            self._out.append(self._clock.nsecsElapsed() / 1e6)
        return False


class _FullCollections:
    """The full (gen-2) garbage collections while it is installed, and how long each took (ms)."""

    def __init__(self) -> None:
        self.took: list[float] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.took.append((time.perf_counter() - self._start) * 1000)


def scroll(app, grid) -> dict:
    bar = grid.list.verticalScrollBar()
    before = len(grid.requester.requested)
    full = _FullCollections()
    gc.callbacks.append(full)
    frames, shown = [], set()
    clock = QElapsedTimer()
    value = 0
    while value < bar.maximum():
        value = min(bar.maximum(), value + STEP_PX)
        clock.start()
        bar.setValue(value)
        app.processEvents()
        frames.append(clock.nsecsElapsed() / 1e6)
        first, last = grid.list.visible_rows()
        shown.update(range(first, last + 1))
    gc.callbacks.remove(full)
    wait_until(app, lambda: first_screen_ready(grid))
    frames.sort()
    return {"gen2": len(full.took), "gen2_max": max(full.took, default=0.0),
            "frames": len(frames), "p50": statistics.median(frames), "p99": frames[int(len(frames) * 0.99) - 1],
            "max": frames[-1], "over": sum(f > STALL_MS for f in frames), "shown": len(shown),
            "decoded": len(grid.requester.requested) - before}


def batch(app, window, size: int) -> tuple[float, float]:
    grid = window.grid
    grid.list.verticalScrollBar().setValue(0)
    wait_until(app, lambda: first_screen_ready(grid))
    model = grid.model
    grid.list.selectionModel().select(QItemSelection(model.index(0, 0), model.index(size - 1, 0)),
                                      QItemSelectionModel.SelectionFlag.ClearAndSelect)
    rows = model.rowCount()
    clock = QElapsedTimer()
    clock.start()
    QTest.keyClick(grid.list, Qt.Key.Key_2)
    if grid.confirm.isVisible():  # more than batch_confirm_over: the question, answered with Enter
        QTest.keyClick(grid.confirm, Qt.Key.Key_Return)
    wait_until(app, lambda: model.rowCount() == rows - size and not window.reviewer.saving)
    label_ms = clock.nsecsElapsed() / 1e6
    clock.start()
    QTest.keyClick(grid.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_until(app, lambda: model.rowCount() == rows and not window.reviewer.saving)
    return label_ms, clock.nsecsElapsed() / 1e6


def service_batch(service: ReviewService, size: int, runs: int, profile: bool) -> tuple[list[float], ...]:
    commit, undo, reads = [], [], []
    for n in range(runs):
        ids = [i.id for i in service.queue(limit=size)]
        prof = cProfile.Profile() if profile and n == runs - 1 else None
        if prof:  # on the store's writer thread, where the transactions run (a profile is per thread)
            service.store.write(lambda _db, prof=prof: prof.enable())
        start = time.perf_counter()
        service.decide_batch(ids, "spam")
        commit.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        changes = service.undo_last().changes
        undo.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()  # what the desk's reviewer then reads: each item the undo brought back
        {i: service.item(i) for i in QueueState.rows_to_read(changes)}
        reads.append((time.perf_counter() - start) * 1000)
        if prof:
            service.store.write(lambda _db, prof=prof: prof.disable())
            print("\nwhere one decide_batch + undo_last goes on the writer thread (cumulative, top 30):")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    return commit, undo, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="service-level batch runs")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MODERATOR_CONFIG_DIR"] = str(Path(tmp) / "config")
        with Store(Path(tmp) / "store") as store:
            fill(store, Path(tmp), args.items)
            window = build_window(store, load_policy(), load_keymap(), "bench", settings=Settings(palate_cleanser=False))
            window.resize(1600, 1000)
            window.show()
            wait_until(app, lambda: window.viewer.prepared is not None)
            shown_ms, ready_ms = first_paint(app, window)
            s = scroll(app, window.grid)
            window.grid.list.verticalScrollBar().setValue(0)
            wait_until(app, lambda: first_screen_ready(window.grid))
            warm = scroll(app, window.grid)  # again: thumbnails from the memory and disk caches
            label_ms, undo_ms = batch(app, window, args.batch)
            window.close()
            commit, undo, reads = service_batch(ReviewService(store, load_policy(), "bench"), args.batch, args.runs,
                                         args.profile)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.items} queued items, window 1600x1000, {window.grid.delegate.picture} px thumbnails")
    print(f"first paint: grid on screen {shown_ms:.0f} ms after G; first screen of thumbnails {ready_ms:.0f} ms")
    print(f"scroll top to bottom: {s['frames']} steps of {STEP_PX} px; frame p50 {s['p50']:.1f} ms, "
          f"p99 {s['p99']:.1f} ms, max {s['max']:.1f} ms, {s['over']} over {STALL_MS} ms; "
          f"{s['decoded']} thumbnails decoded for {s['shown']} tiles shown; {s['gen2']} full collections "
          f"(longest {s['gen2_max']:.0f} ms)")
    print(f"  again (caches warm): p50 {warm['p50']:.1f} ms, p99 {warm['p99']:.1f} ms, max {warm['max']:.1f} ms, "
          f"{warm['over']} over {STALL_MS} ms; {warm['decoded']} thumbnails made (memory cache misses); "
          f"{warm['gen2']} full collections (longest {warm['gen2_max']:.0f} ms)")
    print(f"batch of {args.batch} through the window (key -> tiles gone): label {label_ms:.0f} ms, "
          f"undo {undo_ms:.0f} ms")
    print(f"ReviewService alone, {args.runs} runs: decide_batch {', '.join(f'{t:.0f}' for t in commit)} ms; "
          f"undo_last {', '.join(f'{t:.0f}' for t in undo)} ms; then reading back the rows of the "
          f"undone items one by one (as the reviewer does) {', '.join(f'{t:.0f}' for t in reads)} ms")
    print(f"peak RSS {rss:.0f} MB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    record(shown_ms, ready_ms, s, warm, (label_ms, undo_ms), (commit, undo, reads), rss)


def record(shown_ms: float, ready_ms: float, cold: dict, warm: dict, window_ms: tuple[float, float],
           service: tuple[list[float], ...], rss: float) -> None:
    """The figures docs/PERFORMANCE.md quotes (bench/figures.py)."""
    figure("grid.first_paint_ms", shown_ms, "ms")
    figure("grid.first_screen_ms", ready_ms, "ms")
    for name, run in (("scroll", cold), ("scroll_warm", warm)):
        for key in ("p50", "p99", "max"):
            figure(f"grid.{name}.{key}_ms", run[key], "ms")
        figure(f"grid.{name}.over_50", run["over"], "count")
        figure(f"grid.{name}.decoded", run["decoded"], "count")
        figure(f"grid.{name}.full_collections", run["gen2"], "count")
    figure("grid.scroll.steps", cold["frames"], "count")
    figure("grid.scroll.shown", cold["shown"], "count")
    figure("grid.window.batch_ms", window_ms[0], "ms")
    figure("grid.window.undo_ms", window_ms[1], "ms")
    for name, values in zip(("commit", "undo", "reads"), service, strict=True):
        figure(f"grid.service.{name}_median_ms", statistics.median(values), "ms")
    figure("grid.rss_mb", rss, "MB")


if __name__ == "__main__":
    main()
