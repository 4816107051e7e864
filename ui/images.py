"""Prepare an item's pictures on a worker: filtered and unfiltered QImages (never QPixmaps)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage

from blurring.decode import decode_reduced
from blurring.filters import apply_filter
from blurring.preview import is_sequence, keyframe_sheets
from moderator.domain import FilterSpec, Item, MediaKind


@dataclass(frozen=True)
class Prepared:
    item_id: str
    spec: FilterSpec
    size: tuple[int, int]  # the box it was prepared to fit
    filtered: QImage
    original: QImage
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
    """Decode at reduced scale and filter; a video or an animated image (GIF, WebP, APNG, multi-page
    TIFF) becomes a contact sheet of filtered keyframes. Only a video plays (is_video)."""
    if item.kind is MediaKind.VIDEO or is_sequence(item.media_path):
        filtered, original, count = keyframe_sheets(item.media_path, spec, max_size)
        return Prepared(item.id, spec, max_size, to_qimage(filtered), to_qimage(original), count,
                        item.kind is MediaKind.VIDEO)
    rgb = decode_reduced(item.media_path, max_size)
    return Prepared(item.id, spec, max_size, to_qimage(apply_filter(rgb, spec)), to_qimage(rgb))
