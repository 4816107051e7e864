"""Grid thumbnails: one media file as a small filtered picture, made the way the viewer makes its own.

The viewer decodes an image only to `working_size(spec, shown)` and filters it with
`apply_filter(..., out_size=shown)`, so blur and pixelation are relative to the size shown. A
thumbnail is the same two calls with `shown` = the thumbnail's size: a blur level looks the same in
the grid as in the viewer, and a 12 MP JPEG is decoded with DCT scaling to a few hundred pixels (a
few dozen at the strong blur levels), never at full size.

A video or an animated image gives one filtered frame (no contact sheet: at 160 px its cells would
be too small to tell apart). Nothing unfiltered leaves this module.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from blurring.decode import decode_reduced, decode_reduced_gray, iter_frames, probe_image
from blurring.errors import MediaError
from blurring.filters import Size, apply_filter, working_size
from blurring.video import FrameReader
from moderator.domain import FilterSpec, MediaKind

MIN_SIZE, MAX_SIZE = 16, 1024  # thumbnail longest sides a grid may ask for
# A video's thumbnail frame: a tenth of the way in, past the black frames and title cards many
# clips open with (the first frame of a reaction or spam video is often one of those).
_VIDEO_FRACTION = 10


def thumbnail(path: str | Path, spec: FilterSpec, size: int, *, kind: MediaKind) -> np.ndarray:
    """The filtered thumbnail of a media file: RGB uint8 (H, W, 3), C-contiguous, longest side == size
    (a smaller picture is scaled up after filtering, as the viewer never does, so a grid cell is
    filled). MediaError when the file cannot be decoded; ValueError for a size out of range."""
    check_size(size)
    if kind is MediaKind.VIDEO:
        filtered = _video_thumbnail(path, spec, size)
    else:
        filtered = _image_thumbnail(path, spec, size)
    if filtered.ndim == 2:  # the grid paints one format; gray stays gray in three equal channels
        filtered = cv2.cvtColor(filtered, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(filtered)


def check_size(size: int) -> None:
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"thumbnail size must be an integer {MIN_SIZE}..{MAX_SIZE}, got {size!r}")


def thumb_size(width: int, height: int, size: int) -> Size:
    """(width, height) with the picture's aspect and the longer side exactly `size`."""
    scale = size / max(width, height)
    return (size if width >= height else max(1, round(width * scale)),
            size if height > width else max(1, round(height * scale)))


def _image_thumbnail(path: str | Path, spec: FilterSpec, size: int) -> np.ndarray:
    info = probe_image(path)  # header only: a decompression bomb is refused before any decode
    shown = thumb_size(info.width, info.height, size)
    need = working_size(spec, shown)
    if info.frames > 1:  # an animation: its first frame, decoded alone
        mode = "L" if spec.grayscale else "RGB"
        frame = next(iter_frames(path, need, mode, indices=[0]))[2]
        return apply_filter(frame, spec, out_size=shown)
    decode = decode_reduced_gray if spec.grayscale else decode_reduced
    return apply_filter(decode(path, need), spec, out_size=shown)


def _video_thumbnail(path: str | Path, spec: FilterSpec, size: int) -> np.ndarray:
    with FrameReader(path) as reader:  # one open: the probe tells the size, then frames come reduced
        shown = thumb_size(reader.info.width, reader.info.height, size)
        reader.max_size = working_size(spec, shown)
        frame = _thumbnail_frame(reader, reader.info.frame_count)
    return apply_filter(frame, spec, out_size=shown)


def _thumbnail_frame(reader: FrameReader, frame_count: int) -> np.ndarray:
    try:
        return reader.read(frame_count // _VIDEO_FRACTION)
    except MediaError:  # a frame count estimated past the real end: the first frame always decodes
        return reader.read(0)
