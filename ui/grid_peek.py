"""Hold-to-peek in the grid: the focused tile unfiltered while the key is held, by the viewer's rules.

Whether a peek is allowed is moderator.viewing's rule (through a RevealController of the grid's
own, so the hidden viewer's spells and exposure are never confused with the grid's): suspected CSAM
is refused, and for such an item the unfiltered picture is never decoded at all. For other items the
focused tile's original is decoded on a worker shortly after the focus settles (at tile size), so a
peek shows at once; only that one picture is held. Each peek is recorded as exposure of its item.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from blurring import preview
from moderator.domain import FilterSpec, Item, Reveal
from moderator.review import ReviewService
from ui.images import to_qimage
from ui.reveal import RevealController
from ui.tasks import TaskRunner

SETTLE_MS = 120  # the focus rests this long before its original is decoded (arrowing past costs nothing)


class GridPeek(QObject):
    changed = Signal(str)  # the item id whose tile must repaint
    exposure_saved = Signal()

    def __init__(self, service: ReviewService, runner: TaskRunner, reveal_seconds: float,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.service, self.runner = service, runner
        self.reveal = RevealController(reveal_seconds, self)
        self.reveal.exposed.connect(self._on_exposed)
        self.reveal.changed.connect(self._on_reveal_changed)
        self._focused: tuple[Item, FilterSpec, int] | None = None  # item, its spec, the tile size
        self._original: tuple[str, FilterSpec, int, QImage] | None = None
        self._peeked: Item | None = None
        self._ended: Item | None = None  # the item of the spell that just ended (its exposure follows)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._load)

    @property
    def peeking(self) -> bool:
        return self.reveal.kind == "peek"

    def focus(self, item: Item | None, spec: FilterSpec | None, size: int) -> None:
        """The tile a peek would show: its original is loaded once the focus rests on it."""
        if self._peeked is not None and (item is None or item.id != self._peeked.id):
            self.end()  # the focus moved: the spell ends with it
        self._focused = (item, spec, size) if item is not None and spec is not None else None
        if self._original is not None and not self._fits(self._original):
            self._original = None  # never keep an unfiltered picture that is not the focused one
        self._settle.start()

    def start(self) -> bool:
        if self._focused is None:
            return False
        item, spec, _size = self._focused
        if not self.reveal.start("peek", spec):
            return False
        self._peeked = item
        if self._original is None:
            self._load()
        self.changed.emit(item.id)
        return True

    def end(self) -> None:
        self.reveal.end("peek")

    def picture_for(self, item: Item) -> QImage | None:
        """The unfiltered picture to paint for `item`: only while its peek is held."""
        if not self.peeking or self._peeked is None or self._peeked.id != item.id:
            return None
        if self._original is None or not self._fits(self._original):
            return None
        return self._original[3]

    def _fits(self, original) -> bool:
        return self._focused is not None and original[:3] == (self._focused[0].id, self._focused[1], self._focused[2])

    def _load(self) -> None:
        focused = self._focused
        if focused is None or focused[1].reveal is Reveal.NONE:
            return  # no reveal allowed: the original is never decoded
        item, spec, size = focused
        if self._original is not None and self._fits(self._original):
            return

        def decode() -> QImage:
            p = preview.prepare(item.media_path, spec, (size, size), load_original=True)
            return to_qimage(p.original.load())

        def done(image: QImage) -> None:
            if self._focused is not None and self._focused == focused:
                self._original = (item.id, spec, size, image)
                if self.peeking:
                    self.changed.emit(item.id)

        self.runner.run(decode, done, lambda _exc: None)

    def _on_reveal_changed(self) -> None:
        if self.reveal.kind is None and self._peeked is not None:
            self._ended, self._peeked = self._peeked, None
            self.changed.emit(self._ended.id)

    def _on_exposed(self, kind: str, started_at: str, ms: int, fraction: float) -> None:
        item, self._ended = self._ended, None
        if item is None:
            return
        self.runner.write(lambda: self.service.record_exposure(item, kind, started_at, ms, fraction),
                          lambda _r: self.exposure_saved.emit())
