"""The media viewer: paints the filtered picture, or the original only while a peek is held."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from moderator.clock import now_iso
from moderator.domain import FilterSpec, Reveal
from ui.images import Prepared

BACKGROUND = QColor("#15171a")
SAFE = QColor("#2f7d4f")
DANGER = QColor("#c0392b")


class MediaViewer(QWidget):
    """Shows one prepared item. Emits `exposed(kind, started_at, ms, fraction)` when a peek ends."""

    exposed = Signal(str, str, int, float)
    shown = Signal(str)  # item id, once its filtered picture is on screen

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("viewer")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self._prepared: Prepared | None = None
        self._message = "Loading the queue…"
        self._peeking = False
        self._peek_clock = QElapsedTimer()
        self._peek_started = ""

    # -- state --------------------------------------------------------------------------------
    @property
    def peeking(self) -> bool:
        return self._peeking

    @property
    def prepared(self) -> Prepared | None:
        return self._prepared

    def show_prepared(self, prepared: Prepared) -> None:
        self.end_peek()
        self._prepared, self._message = prepared, ""
        self.repaint()  # paint now, so "shown" means on screen
        self.shown.emit(prepared.item_id)

    def show_message(self, text: str) -> None:
        self.end_peek()
        self._prepared, self._message = None, text
        self.update()

    def can_peek(self) -> bool:
        return self._prepared is not None and self._prepared.spec.reveal is not Reveal.NONE

    def start_peek(self) -> bool:
        if self._peeking or not self.can_peek():
            return False
        self._peeking = True
        self._peek_clock.start()
        self._peek_started = now_iso()
        self.update()
        return True

    def end_peek(self) -> None:
        if not self._peeking:
            return
        self._peeking = False
        ms = int(self._peek_clock.elapsed())
        self.update()
        self.exposed.emit("peek", self._peek_started, ms, 1.0)

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        if self._prepared is None:
            p.setPen(QColor("#c8ccd2"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            return
        image = self._prepared.original if self._peeking else self._prepared.filtered
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(_fit(image, self.rect()), image)
        self._paint_badge(p, self._prepared.spec)

    def _paint_badge(self, p: QPainter, spec: FilterSpec) -> None:
        text = "UNFILTERED · release to hide" if self._peeking else _describe(spec)
        p.setFont(QFont(self.font().family(), 10, QFont.Weight.Bold))
        width = p.fontMetrics().horizontalAdvance(text) + 20
        box = QRect(12, 12, width, 26)
        p.fillRect(box, DANGER if self._peeking else SAFE)
        p.setPen(QColor("white"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def _fit(image: QImage, area: QRect) -> QRectF:
    scale = min(area.width() / max(1, image.width()), area.height() / max(1, image.height()))
    w, h = image.width() * scale, image.height() * scale
    return QRectF(area.x() + (area.width() - w) / 2, area.y() + (area.height() - h) / 2, w, h)


def _describe(spec: FilterSpec) -> str:
    parts = [f"blur {spec.blur}"]
    if spec.grayscale:
        parts.append("grayscale")
    if spec.pixelate:
        parts.append(f"pixelate {spec.pixelate}")
    if spec.style:
        parts.append(spec.style)
    if spec.reveal is Reveal.NONE:
        parts.append("no reveal")
    return "FILTERED · " + " · ".join(parts)
