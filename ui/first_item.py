"""The desk's first item, started before the window exists: the queue is read, then its top item decoded
and filtered on a thread of its own while the GUI thread imports Qt and builds the window (start-up,
bench/bench_startup.py). The reviewer takes the read as if it had made it, and the picture only when it
is the one it would have prepared: the same item, filter and size (PreviewCache.fits), else it
prepares its own as before.

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
from moderator.queue_state import QueueState
from moderator.review import ReviewService
from moderator.settings import Settings
from moderator.viewing import filter_spec

if TYPE_CHECKING:
    from blurring.preview import Preview
    from ui.images import Prepared


@dataclass
class FirstItem:
    items: list[Item]  # ReviewService.queue(), as Reviewer.load reads it
    hidden: dict[str, str]  # ReviewService.hidden_until()
    top: Item | None = None
    preview: Preview | None = None  # the top item's picture at DEFAULT_SIZE, or None (empty queue, bad media)
    _prepared: Prepared | None = None

    def prepared(self) -> Prepared | None:
        """The picture as the viewer takes it (QImages, made once): call on a worker once the QApplication
        exists."""
        from ui.images import from_preview

        if self._prepared is None and self.preview is not None:
            self._prepared = from_preview(self.top, self.preview)
        return self._prepared


def start(service: ReviewService, settings: Settings) -> Future:
    """A Future of FirstItem; it raises what the read raised. The queue is read here, on the calling
    thread, and the top item decoded and filtered on a daemon thread. On that thread the read's rows
    came one GIL hand-off at a time against the GUI thread's imports (5,000 rows: 85 ms alone, 320 ms
    beside Qt's import and the window's build, bench/bench_startup.py), and the window waited for it."""
    future: Future = Future()
    try:
        items, hidden = service.queue(), service.hidden_until()
    except BaseException as exc:  # handed to the reviewer, which reads the queue itself then
        future.set_exception(exc)
        return future

    def work() -> None:
        try:
            future.set_result(first_item(service, settings, items, hidden))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=work, name="first-item", daemon=True).start()
    return future


def first_item(service: ReviewService, settings: Settings, items: list[Item], hidden: dict[str, str]) -> FirstItem:
    """The queue's read (items, hidden) with its top item's picture."""
    order = QueueState(pinned_before=now_iso()).read(lambda: items, lambda: hidden).items
    if not order:
        return FirstItem(items, hidden)
    top = order[0]
    spec = filter_spec(service.policy, floored(settings, service.policy), top, 0)
    try:
        picture = preview.prepare(top.media_path, spec, DEFAULT_SIZE, load_original=True)  # as ui.images does
    except Exception:  # bad media: the reviewer's own prepare reports it as it always does
        picture = None
    return FirstItem(items, hidden, top, picture)


DEFAULT_SIZE = (1600, 1000)  # ui.prefetch.DEFAULT_SIZE, which imports Qt: a test holds them equal


def floored(settings: Settings, policy: Policy) -> Settings:
    """The settings the window uses (MainWindow applies the policy's floors the same way)."""
    return apply_floors(settings, policy.floors)[0]
