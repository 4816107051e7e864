"""The grid's thumbnails on the GUI thread: a small cache of painted-ready QImages, and requests to
the worker for the tiles on screen only.

The view says which items are visible (`want`); the requester keeps its own queue of those and hands
the read pool at most IN_FLIGHT of them at a time, so a request for a tile that scrolled out of view
is dropped before any decode starts, and a fast scroll past 10,000 tiles decodes only where it
stopped. Pixels come from moderator.thumbnails.ThumbnailService, which filters every thumbnail like
the viewer: nothing here ever holds an unfiltered pixel.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from moderator.domain import FilterSpec, Item
from moderator.thumbnails import ThumbnailService
from ui.images import to_qimage
from ui.tasks import TaskRunner

IN_FLIGHT = 2  # one decoding, one queued behind it: the read thread never waits on the GUI thread
KEEP_BYTES = 48 << 20  # QImages kept for painting (~1,900 tiles at 160 px); the service keeps more

Key = tuple[str, FilterSpec, int]


class ThumbnailRequester(QObject):
    ready = Signal(str)  # an item id whose thumbnail just arrived
    failed = Signal(str, str)  # item id, reason

    def __init__(self, runner: TaskRunner, service: ThumbnailService, spec_for: Callable[[Item], FilterSpec],
                 parent: QObject | None = None, keep_bytes: int = KEEP_BYTES):
        super().__init__(parent)
        self._runner, self._service, self._spec_for = runner, service, spec_for
        self._images: OrderedDict[Key, QImage] = OrderedDict()
        self._bytes, self._keep_bytes = 0, keep_bytes
        self._queue: list[tuple[Item, Key]] = []  # wanted, not cached, not yet handed to the worker
        self._running: set[Key] = set()
        self._failed: dict[Key, str] = {}
        self.requested: list[str] = []  # every item id handed to a worker, in order (tests and the bench)
        self.size = 160

    @property
    def idle(self) -> bool:
        return not self._queue and not self._running

    def key(self, item: Item) -> Key:
        return item.id, self._spec_for(item), self.size

    def image(self, item: Item) -> QImage | None:
        """The filtered thumbnail to paint, if it is ready (memory only: safe inside paint)."""
        key = self.key(item)
        found = self._images.get(key)
        if found is not None:
            self._images.move_to_end(key)
            return found
        pixels = self._service.cached(item, key[1], key[2])  # the service's memory cache: no I/O
        if pixels is not None:
            return self._keep(key, to_qimage(pixels))
        return None

    def failure(self, item: Item) -> str | None:
        return self._failed.get(self.key(item))

    def want(self, items: Sequence[Item]) -> None:
        """The items on screen now, most wanted first: queue the missing ones, drop every other request
        that has not reached a worker yet."""
        queue = []
        for item in items:
            key = self.key(item)
            if key in self._running or key in self._failed or self.image(item) is not None:
                continue
            queue.append((item, key))
        self._queue = queue
        self._pump()

    def forget(self) -> None:
        """Drop every image kept (a new size or filter makes them all the wrong ones)."""
        self._images.clear()
        self._bytes = 0
        self._failed.clear()

    def _keep(self, key: Key, image: QImage) -> QImage:
        old = self._images.pop(key, None)
        self._bytes += image.sizeInBytes() - (old.sizeInBytes() if old is not None else 0)
        self._images[key] = image
        while self._bytes > self._keep_bytes and len(self._images) > 1:
            _k, evicted = self._images.popitem(last=False)
            self._bytes -= evicted.sizeInBytes()
        return image

    def _pump(self) -> None:
        while self._queue and len(self._running) < IN_FLIGHT:
            item, key = self._queue.pop(0)
            self._running.add(key)
            self.requested.append(item.id)
            job = self._runner.run(lambda item=item, key=key, make=self._service.make:
                                   to_qimage(make(item, key[1], key[2])),
                                   lambda image, key=key: self._on_made(key, image),
                                   lambda exc, key=key: self._on_failed(key, exc))
            if not job:  # the runner is shut down: nothing more will arrive
                self._running.discard(key)
                self._queue.clear()

    def _on_made(self, key: Key, image: QImage) -> None:
        self._running.discard(key)
        self._keep(key, image)
        self.ready.emit(key[0])
        self._pump()

    def _on_failed(self, key: Key, exc: Exception) -> None:
        self._running.discard(key)
        self._failed[key] = getattr(exc, "reason", None) or str(exc)
        self.failed.emit(key[0], self._failed[key])
        self._pump()
