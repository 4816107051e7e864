"""The child processes of bench/bench_startup.py: one desk, bare window, floor or store open each, run
as `python bench/startup_child.py KIND ARGS...`. Its imports are kept to what the product imports (the
parent's argparse, subprocess and figures are not paid for here); each prints one JSON line.

KIND: `desk` (ARGS for moderator.cli.main, the real entry), `bare` (a bare PySide6 window), `floor`
(ARGS: a data dir; the first picture with none of the desk around it), `open` (ARGS: a data dir;
Store() and its checks)."""

from __future__ import annotations

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child(kind: str, argv: list[str]) -> int:
    """Run the desk (kind 'desk', argv for moderator.cli.main) or a bare window ('bare'); print one JSON
    line {"t": monotonic when the first picture was on screen, "cpu": the process's CPU seconds (every
    thread) by then, "queue_t": monotonic when the desk's list held the whole queue, "ok", "why",
    "exposed"}."""
    if kind == "bare":
        return _bare_window()
    if kind == "floor":
        return _floor_window(argv[0])
    if kind == "open":
        return _open_store(argv[0])
    sys.meta_path.insert(0, _ViewerHook())
    from moderator.cli import main

    return main(argv)


class _ViewerHook:
    """After ui.viewer is imported (by the desk, when it gets there), watch every MediaViewer made."""

    def find_spec(self, name, path, target=None):
        if name != "ui.viewer":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _watch(module.MediaViewer)

        spec.loader.exec_module = exec_module
        return spec


def _watch(viewer_class) -> None:
    made = viewer_class.__init__

    def init(self, *args, **kwargs):
        made(self, *args, **kwargs)
        self.shown.connect(lambda _item_id, viewer=self: _on_first(viewer, _grey_centre))

    viewer_class.__init__ = init


_DONE: list[float] = []
_QUEUE_READ: list[float] = []  # the desk: monotonic when its queue list held the whole queue


def _on_first(widget, check) -> None:
    if _DONE:
        return
    _DONE.extend((time.monotonic(), time.process_time()))
    exposed = widget.window().windowHandle().isExposed()
    from PySide6.QtCore import QTimer

    # The desk shows its top item before the rest of the queue is read (ui/first_item.py): the whole
    # queue's arrival is timed too, from the reviewer's own signal (a window without one has no queue).
    reviewer = getattr(widget.window(), "reviewer", None)
    if reviewer is None or not reviewer.partial:
        _QUEUE_READ.append(_DONE[0])
    else:
        reviewer.queue_changed.connect(lambda *_: None if reviewer.partial or _QUEUE_READ
                                       else _QUEUE_READ.append(time.monotonic()))
    QTimer.singleShot(0, lambda: _report(widget, check, exposed))


def _report(widget, check, exposed: bool) -> None:
    import json

    from PySide6.QtCore import QTimer

    why = check(_screen_pixels(widget))  # the first picture's pixels, before the queue list can change

    def finish() -> None:
        if not _QUEUE_READ:  # the grab above may delay the read's arrival a little: never hasten it
            QTimer.singleShot(5, finish)
            return
        print(json.dumps({"t": _DONE[0], "cpu": _DONE[1], "queue_t": _QUEUE_READ[0], "ok": why is None,
                          "why": why, "exposed": exposed}), flush=True)
        widget.window().close()

    finish()


def _screen_pixels(widget):
    """The widget's pixels as the platform holds them (not a fresh render): RGB (H, W, 3) uint8."""
    import numpy as np
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage

    window = widget.window()
    at = widget.mapTo(window, QPoint(0, 0))
    ratio = widget.devicePixelRatioF()
    shot = window.screen().grabWindow(window.winId(), at.x(), at.y(), widget.width(), widget.height())
    image = shot.toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    assert w >= widget.width() * ratio - 1, (w, widget.width(), ratio)
    return rows[:, : w * 3].reshape(h, w, 3).copy()  # a copy: the QImage's buffer goes with it


def _grey_centre(rgb) -> str | None:
    """None when the centre of the viewer is a filtered (grey, not flat) picture; else why not."""
    h, w = rgb.shape[:2]
    centre = rgb[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].astype(int)
    spread = int((centre.max(axis=2) - centre.min(axis=2)).max())
    if spread > 3:
        return f"centre not grey (channels differ by {spread})"
    if centre.std() < 2:
        return f"centre flat (mean {centre.mean():.0f}): no picture"
    return None


def _open_store(data: str) -> int:
    """Store() on an existing store (its check at open, migrations already applied), then each check alone
    on the open store: the one the open runs now and the whole-file one it ran before; one JSON line."""
    import json

    from storage import integrity
    from storage.store import Store

    start = time.perf_counter()
    with Store(data) as store:
        opened = time.perf_counter() - start
        times = {}
        for name, check in (("at_open", integrity.problems_at_open), ("whole_file", integrity.quick_check)):
            start = time.perf_counter()
            assert check(store.db) == [], f"the bench's store is damaged ({name})"
            times[name] = time.perf_counter() - start
    print(json.dumps({"open": opened, **times}), flush=True)
    return 0


def _bare_window() -> int:
    """The baseline: a bare PySide6 window of the desk's size that paints itself grey."""
    from PySide6.QtGui import QColor, QPainter
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv[:1])

    class Bare(QWidget):
        def paintEvent(self, event):
            QPainter(self).fillRect(self.rect(), QColor(128, 128, 128))
            _on_first(self, _flat_grey)

    window = Bare()
    window.resize(1500, 900)
    window.show()
    return app.exec()


def _floor_window(data: str) -> int:
    """The floor under the desk's first item: what its first filtered picture cannot do without, one
    step after another, and nothing else. The libraries it needs (PySide6, numpy, cv2, PIL), the store
    opened read-only, the queue's top item read as the desk reads it (storage.items.queue_heads and
    the queue's order: the same SQL and Item; the desk reads the rest after its first picture), decoded and filtered at the viewer's size as the desk does
    (blurring.preview.prepare, the default filter, the original loaded for a reveal), and a window of
    the desk's size that paints it. No policy, settings, keymap, panels, actions or worker threads."""
    import numpy as np
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication, QWidget

    from blurring.preview import prepare
    from moderator.clock import now_iso
    from moderator.domain import FilterSpec
    from moderator.queue_state import queue_key
    from storage import items
    from storage.store import Store

    at = now_iso()
    with Store(data, readonly=True) as store:
        top = min(items.queue_heads(store.db, overdue_before=at), key=lambda item: queue_key(item, at))
    grey = np.ascontiguousarray(prepare(top.media_path, FilterSpec(), (1600, 1000), load_original=True).filtered)
    app = QApplication(sys.argv[:1])
    image = QImage(grey.data, grey.shape[1], grey.shape[0], grey.strides[0], QImage.Format.Format_Grayscale8)

    class Floor(QWidget):
        def paintEvent(self, event):
            QPainter(self).drawImage(0, 0, image)
            _on_first(self, _grey_centre)

    window = Floor()
    window.resize(1500, 900)
    window.show()
    return app.exec()


def _flat_grey(rgb) -> str | None:
    return None if (rgb == 128).all() else "the bare window is not its grey"


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(_child(sys.argv[1], sys.argv[2:]))
