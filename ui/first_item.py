"""The desk's first item, started before the window exists: the queue's top item is read (not the
queue: ReviewService.queue_top), then decoded and filtered on a thread of its own while the GUI thread
imports Qt and builds the window (start-up, bench/bench_startup.py). The reviewer shows it as the queue's
only item, and reads the rest once it is on screen (Reviewer.load); it takes the picture only when it is
the one it would have prepared: the same item, filter and size (PreviewCache.fits), else it prepares its
own as before.

The thread never touches Qt (numpy only): Qt takes the first thread that uses it for its main thread,
and the QApplication is made after this thread starts. The QImages are made on the reviewer's worker."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

# The decoders (numpy, cv2, PIL) are imported with this module, on the GUI thread before the queue is
# read: the thread then only decodes and filters (C that releases the GIL) beside Qt's import and the
# window's build. Imported on the thread instead they took the GIL from both, and the GUI thread waited
# on numpy's import lock when it got there first (bench/bench_startup.py; docs/PERFORMANCE.md).
from blurring import preview
from moderator.clock import now_iso
from moderator.domain import Item, Policy
from moderator.policy_floors import apply_floors
from moderator.review import ReviewService
from moderator.settings import Settings
from moderator.viewing import filter_spec

if TYPE_CHECKING:
    from blurring.preview import Preview
    from ui.images import Prepared


@dataclass
class FirstItem:
    top: Item | None  # the queue's top item; None: the queue is empty
    hidden: dict[str, str]  # ReviewService.hidden_until()
    preview: Preview | None = None  # the top item's picture at DEFAULT_SIZE, or None (empty queue, bad media)
    _prepared: Prepared | None = None

    @property
    def items(self) -> list[Item]:
        """The queue as read: its top item only, unless `complete`."""
        return [] if self.top is None else [self.top]

    @property
    def complete(self) -> bool:
        """`items` is the whole queue (an empty one): nothing is left to read."""
        return self.top is None

    def prepared(self) -> Prepared | None:
        """The picture as the viewer takes it (QImages, made once): call on a worker once the QApplication
        exists."""
        from ui.images import from_preview

        if self._prepared is None and self.preview is not None:
            self._prepared = from_preview(self.top, self.preview)
        return self._prepared


def start(service: ReviewService, settings: Settings) -> Future:
    """A Future of FirstItem; it raises what the read raised. The top item is read here, on the calling
    thread (a few rows: the whole queue's 5,000 took ~60 ms of the GIL before the first picture), and
    decoded and filtered on a daemon thread. On that thread even a short read came one GIL hand-off at a
    time against the GUI thread's imports (5,000 rows: 85 ms alone, 320 ms beside Qt's import and the
    window's build, bench/bench_startup.py), and the window waited for it."""
    future: Future = Future()
    try:
        top, hidden = service.queue_top(now_iso())
    except BaseException as exc:  # handed to the reviewer, which reads the queue itself then
        future.set_exception(exc)
        return future

    def work() -> None:
        try:
            future.set_result(first_item(service, settings, top, hidden))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=work, name="first-item", daemon=True).start()
    return future


def first_item(service: ReviewService, settings: Settings, top: Item | None, hidden: dict[str, str]) -> FirstItem:
    """The queue's top item (None: the queue is empty) with its picture."""
    if top is None:
        return FirstItem(None, hidden)
    spec = filter_spec(service.policy, floored(settings, service.policy), top, 0)
    try:
        picture = preview.prepare(top.media_path, spec, DEFAULT_SIZE, load_original=True)  # as ui.images does
    except Exception:  # bad media: the reviewer's own prepare reports it as it always does
        picture = None
    return FirstItem(top, hidden, picture)


DEFAULT_SIZE = (1600, 1000)  # ui.prefetch.DEFAULT_SIZE, which imports Qt: a test holds them equal


def floored(settings: Settings, policy: Policy) -> Settings:
    """The settings the window uses (MainWindow applies the policy's floors the same way)."""
    return apply_floors(settings, policy.floors)[0]
