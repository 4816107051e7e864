"""Driving the real desk window in tests: when is an item on screen, opening a desk on a store, and
the pixels its viewer paints."""

from __future__ import annotations

import cv2
import numpy as np

from moderator.keymap import load_keymap
from moderator.settings import Settings
from ui.app import build_window

BADGE_BOTTOM = 44  # the viewer's badge (and video caption) sits in the top 12 + 26 px; keep clear of it


def on_screen(window) -> bool:
    """The current item's filtered picture is painted, the queue is read and no decision is being saved."""
    r, shown = window.reviewer, window.viewer.prepared
    return (r.current is not None and shown is not None and shown.item_id == r.current.id and not r.saving
            and not r.partial)


def open_desk(qtbot, store, policy, settings: Settings | None = None):
    window = build_window(store, policy, load_keymap(), "tester", settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.viewer.setFocus()
    qtbot.waitUntil(lambda: on_screen(window), timeout=10000)
    return window


# -- what the viewer paints -----------------------------------------------------------------------
def qimage_rgb(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return rows[:, : w * 3].reshape(h, w, 3).copy()  # a copy: the buffer dies with `image`


def painted_picture(viewer) -> np.ndarray:
    """The pixels the real viewer widget paints where the picture is: the box of rows and columns
    with more than a few pixels that are not the viewer's background, below the badge, 2 px in."""
    from ui.viewer import BACKGROUND

    shown = qimage_rgb(viewer.grab().toImage())
    below_badge = shown[BADGE_BOTTOM:]
    picture = (below_badge != [BACKGROUND.red(), BACKGROUND.green(), BACKGROUND.blue()]).any(axis=2)
    rows, cols = np.flatnonzero(picture.sum(axis=1) > 16), np.flatnonzero(picture.sum(axis=0) > 16)
    assert rows.size > 20 and cols.size > 20, "the viewer paints no picture"
    return below_badge[rows[0] + 2 : rows[-1] - 1, cols[0] + 2 : cols[-1] - 1]


def saturation(rgb: np.ndarray) -> np.ndarray:
    """Per pixel, the spread between its strongest and weakest channel: 0 for any gray."""
    rgb = rgb.astype(np.int16)
    return rgb.max(axis=2) - rgb.min(axis=2)


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the gray picture (high for fine detail, near 0 once blurred), in
    the most detailed of its cells: a contact sheet's straight gaps between cells are not detail."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    return max(float(cv2.Laplacian(cell, cv2.CV_64F).var()) for cell in _cells(gray))


def _cells(gray: np.ndarray, inset: int = 3) -> list[np.ndarray]:
    """The blocks between rows and columns that are one flat value across the whole picture."""
    def spans(flat: np.ndarray) -> list[tuple[int, int]]:
        edges = np.flatnonzero(np.diff(np.r_[True, flat, True].astype(np.int8)))
        return [(a + inset, b - inset) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a > 4 * inset]

    rows = spans(np.ptp(gray, axis=1) <= 2)
    cols = spans(np.ptp(gray, axis=0) <= 2)
    return [gray[r0:r1, c0:c1] for r0, r1 in rows for c0, c1 in cols] or [gray]


def sharpness_at(rgb: np.ndarray, shape: tuple[int, ...]) -> float:
    """The sharpness `rgb` would have if painted at `shape` (height, width) without any filter."""
    return sharpness(cv2.resize(rgb, (shape[1], shape[0]), interpolation=cv2.INTER_AREA))


def held_for(qtbot, reveal, ms: int) -> None:
    """Keep the reveal spell that is on for `ms` more, as a person holding the key does (its own
    timer is the clock; it may end by itself first)."""
    start = reveal.remaining_ms()
    qtbot.waitUntil(lambda: reveal.remaining_ms() <= start - ms, timeout=ms + 5000)


def open_decoders() -> list:
    """Video decoders (FrameReader) that are still open, anywhere in the process."""
    import gc

    from blurring.video import FrameReader

    # A reader whose constructor refused the file (not a video) never had a decoder: it may linger
    # uncollected in a traceback's cycle, without `_cap`.
    return [o for o in gc.get_objects()
            if isinstance(o, FrameReader) and "_cap" in vars(o) and o._cap.isOpened()]
