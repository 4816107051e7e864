"""The media viewer: paints the filtered picture; the original only during a deliberate reveal.

Reveal spells come from a RevealController; this widget paints them (whole picture, or a circle
under the cursor for the spotlight) and tells it how much of the picture was uncovered.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from moderator.domain import FilterSpec, Reveal
from ui.images import Prepared
from ui.reveal import RevealController

BACKGROUND = QColor("#15171a")
SAFE = QColor("#2f7d4f")
DANGER = QColor("#c0392b")
# The calm screen follows the dark theme: two deep, low-saturation tones a shade off the background
# (a bright gradient after a hard item would be a flash of its own) and soft, readable text.
CALM = (QColor("#17242b"), QColor("#1b2a24"))
CALM_TEXT = QColor("#9fb4bf")
_GRID = np.stack(np.meshgrid(np.linspace(0, 1, 48), np.linspace(0, 1, 48)), axis=-1).reshape(-1, 2)


class MediaViewer(QWidget):
    shown = Signal(str)  # item id, once its filtered picture is on screen
    resized = Signal(int, int)  # the size, in device pixels, pictures should be prepared at

    def __init__(self, reveal: RevealController, spotlight_radius: int = 120, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("viewer")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setMouseTracking(True)
        self.reveal = reveal
        self.radius = spotlight_radius
        self.caption = ""  # e.g. "frame 12 / 40 · paused"
        self._prepared: Prepared | None = None
        self._pictures: tuple[QImage, QImage | None] | None = None  # (filtered, original or None)
        self._message = "Loading the queue…"
        self._calm = False
        self._cursor = QPointF(-1, -1)
        reveal.changed.connect(self._on_reveal_changed)
        self._resize_settle = QTimer(self)  # a drag-resize asks for new pictures once, at the end
        self._resize_settle.setSingleShot(True)
        self._resize_settle.setInterval(150)
        self._resize_settle.timeout.connect(self._emit_size)
        self._countdown = QTimer(self)  # repaints the badge's "filters return in N s" while it counts
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self.update)

    # -- state --------------------------------------------------------------------------------
    @property
    def prepared(self) -> Prepared | None:
        return self._prepared

    @property
    def spec(self) -> FilterSpec | None:
        return self._prepared.spec if self._prepared else None

    @property
    def calm(self) -> bool:
        return self._calm

    @property
    def peeking(self) -> bool:
        return self.reveal.kind == "peek"

    def show_prepared(self, prepared: Prepared) -> None:
        if self._prepared is None or prepared.item_id != self._prepared.item_id or prepared.spec != self._prepared.spec:
            self.reveal.end()  # a new item or filter; a re-fit of the same one keeps the spell
        self._prepared, self._message, self._calm = prepared, "", False
        self.caption = f"{prepared.frames} keyframes · P plays, . and , step" if prepared.is_video else ""
        self._pictures = (prepared.filtered, prepared.original)
        self.repaint()  # paint now, so "shown" means on screen
        self.shown.emit(prepared.item_id)

    def show_frame(self, filtered: QImage, original: QImage | None, caption: str) -> None:
        """A video frame of the prepared item replaces the contact sheet (same reveal rules)."""
        if self._prepared is not None:
            self._pictures, self.caption = (filtered, original), caption
            self.update()

    def show_message(self, text: str, *, calm: bool = False) -> None:
        self.reveal.end()
        self._prepared, self._pictures, self._message, self._calm = None, None, text, calm
        self.update()

    # -- reveal entry points (keys) -------------------------------------------------------------
    def start_peek(self) -> bool:
        return self.reveal.start("peek", self.spec)

    def end_peek(self) -> None:
        self.reveal.end("peek")

    def end_reveal(self) -> None:
        self.reveal.end()

    def start_spotlight(self) -> bool:
        return self.reveal.start("spotlight", self.spec, fraction=self._spotlight_fraction())

    def end_spotlight(self) -> None:
        self.reveal.end("spotlight")

    # -- events -------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        self._resize_settle.start()
        super().resizeEvent(event)

    def _emit_size(self) -> None:
        ratio = self.devicePixelRatioF()
        self.resized.emit(round(self.width() * ratio), round(self.height() * ratio))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._cursor = event.position()
        if self.reveal.kind == "spotlight":
            self.reveal.note_fraction(self._spotlight_fraction())
            self.update()
        super().mouseMoveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.reveal.kind != "spotlight":
            return super().wheelEvent(event)
        step = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
        self.radius = int(max(20, min(800, self.radius * step)))
        self.reveal.note_fraction(self._spotlight_fraction())
        self.update()
        event.accept()

    def _on_reveal_changed(self) -> None:
        if self.reveal.kind is None:
            self._countdown.stop()
        else:
            self._countdown.start()
        if self.reveal.kind == "spotlight":
            if self._cursor.x() < 0:  # no mouse over the viewer yet: start in the middle
                self._cursor = QPointF(self.width() / 2, self.height() / 2)
            self.reveal.note_fraction(self._spotlight_fraction())
        self.update()

    def _spotlight_fraction(self) -> float:
        """Share of the picture's area inside the spotlight circle (sampled on a 48×48 grid)."""
        if self._pictures is None:
            return 0.0
        box = _fit(self._pictures[0], self.rect())
        points = _GRID * [box.width(), box.height()] + [box.x(), box.y()]
        d2 = ((points - [self._cursor.x(), self._cursor.y()]) ** 2).sum(axis=1)
        return float((d2 <= self.radius**2).mean())

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        if self._pictures is None:
            self._paint_message(p)
            return
        filtered, original = self._pictures
        box = _fit(filtered, self.rect())
        kind = self.reveal.kind
        # No original (the policy allows no reveal) means the filtered picture, whatever the spell.
        shown = original if kind in ("peek", "reveal") and original is not None else filtered
        ratio = self.devicePixelRatioF()
        if abs(box.width() * ratio - shown.width()) < 1.5:  # prepared at this size: a plain copy
            p.drawImage(box.topLeft().toPoint(), _with_ratio(shown, ratio))
        else:  # an older size, until the re-fit arrives
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.drawImage(box, shown)
        if kind == "spotlight" and original is not None:
            self._paint_spotlight(p, box, original)
        self._paint_badge(p)

    def _paint_spotlight(self, p: QPainter, box: QRectF, original: QImage) -> None:
        path = QPainterPath()
        path.addEllipse(self._cursor, self.radius, self.radius)
        p.save()
        p.setClipPath(path)
        p.drawImage(box, original)
        p.restore()
        p.setPen(DANGER)
        p.drawEllipse(self._cursor, self.radius, self.radius)

    def _paint_message(self, p: QPainter) -> None:
        if self._calm:  # the palate cleanser: a soft, empty gradient after a hard item
            fade = QLinearGradient(0, 0, 0, self.height())  # one soft fade, no edge across the middle
            fade.setColorAt(0, CALM[0])
            fade.setColorAt(1, CALM[1])
            p.fillRect(self.rect(), fade)
            p.setPen(CALM_TEXT)
        else:
            p.setPen(QColor("#c8ccd2"))
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)

    def _paint_badge(self, p: QPainter) -> None:
        kind = self.reveal.kind
        text = _badge_text(kind, self.spec, self.reveal.remaining_ms())
        if self.caption:
            text += f" · {self.caption}"
        p.setFont(QFont(self.font().family(), 10, QFont.Weight.Bold))
        box = QRect(12, 12, p.fontMetrics().horizontalAdvance(text) + 20, 26)
        p.fillRect(box, DANGER if kind else SAFE)
        p.setPen(QColor("white"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def _with_ratio(image: QImage, ratio: float) -> QImage:
    if image.devicePixelRatio() != ratio:
        image.setDevicePixelRatio(ratio)
    return image


def _badge_text(kind: str | None, spec: FilterSpec | None, remaining_ms: int) -> str:
    if kind == "peek":
        return "UNFILTERED · release to hide"
    if kind == "reveal":
        return f"REVEALED · filters return in {math.ceil(max(0, remaining_ms) / 1000)} s"
    if kind == "spotlight":
        return "SPOTLIGHT · wheel: size"
    return _describe(spec) if spec else ""


def _fit(image: QImage, area: QRect) -> QRectF:
    """The box, in widget coordinates, that shows the whole image as large as `area` allows."""
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
