"""An item's pictures as QImages (never QPixmaps), made on a worker from blurring.preview.prepare."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage

from blurring import preview
from moderator.domain import FilterSpec, Item


@dataclass(frozen=True)
class Prepared:
    item_id: str
    spec: FilterSpec
    size: tuple[int, int]  # the box it was prepared to fit
    filtered: QImage
    original: QImage | None  # None when the policy allows no reveal: never decoded
    frames: int = 1  # keyframes in a video's or an animated image's contact sheet
    is_video: bool = False


def to_qimage(arr: np.ndarray) -> QImage:
    """A uint8 gray (H, W) or RGB (H, W, 3) array as a QImage that owns its pixels, already in the
    screen's native 32-bit format so that painting it is a plain copy (done here, on a worker)."""
    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if arr.ndim == 2 else QImage.Format.Format_RGB888
    return QImage(arr.data, w, h, arr.strides[0], fmt).convertToFormat(QImage.Format.Format_RGB32)


def prepare(item: Item, spec: FilterSpec, max_size: tuple[int, int]) -> Prepared:
    """Run on a worker. The original, when the spec allows a reveal, is loaded here too: a peek
    must show at once, and nothing may decode on the GUI thread."""
    return from_preview(item, preview.prepare(item.media_path, spec, max_size, load_original=True))


def from_preview(item: Item, p: preview.Preview) -> Prepared:
    """The QImages of a preview made by blurring.preview.prepare(..., load_original=True)."""
    original = to_qimage(p.original.load()) if p.original is not None else None
    return Prepared(item.id, p.spec, p.size, to_qimage(p.filtered), original, p.frames, p.is_video)
