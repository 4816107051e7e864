"""The filtered preview of one media file, as the desk shows it: image or video contact sheet.

An animated image (GIF, WebP, APNG, multi-page TIFF) is a frame sequence and gets a contact sheet
of its keyframes, as a video does, so a benign first frame cannot hide the ones after it.

An image is decoded only as far as the filter can show (a blurred preview needs a few hundred
pixels, not twelve million; a gray one needs only a JPEG's luma), then filtered to display size.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from blurring.decode import decode_reduced, decode_reduced_gray, fit_size, probe_image
from blurring.filters import Size, apply_filter, working_size
from blurring.sniff import sniff_file
from blurring.video import animation_keyframes, contact_sheet, keyframes
from moderator.domain import FilterSpec, MediaKind

# Keyframes are read at half the sheet size: a sheet of one to four frames then shows them
# without upscaling, and a filter on 960x540 frames costs about 1 ms each.
_FRAME_FRACTION = 2


def media_kind(path: str | Path, max_bytes: int | None = None) -> tuple[MediaKind, str]:
    """(kind, mime) from the file's first bytes; MediaError (empty file, text, unknown bytes,
    over max_bytes) when it is neither an image nor a video we can show."""
    return sniff_file(path, max_bytes=max_bytes)


def render_preview(path: str | Path, spec: FilterSpec, max_size: Size = (1920, 1080)) -> np.ndarray:
    """The filtered image that fits max_size: (H, W) gray when spec.grayscale, else RGB.

    A video or an animated image gives a contact sheet of its keyframes, each filtered on its own
    (so blur levels mean the same per frame as for an image). Bad media raises MediaError.
    """
    if is_sequence(path):
        return keyframe_sheets(path, spec, max_size)[0]
    return _image_preview(path, spec, max_size)


def is_sequence(path: str | Path) -> bool:
    """True for a video and for an image with more than one frame: both are shown as a sheet."""
    kind, _mime = media_kind(path)
    return kind is MediaKind.VIDEO or probe_image(path).frames > 1


def to_png(array: np.ndarray, path: str | Path) -> None:
    """Write a gray (H, W) or RGB (H, W, 3) uint8 array as PNG (encoded in memory, so a
    non-ASCII path works on every OS)."""
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise ValueError(f"cannot encode array of shape {array.shape} as PNG")
    Path(path).write_bytes(encoded.tobytes())


def _image_preview(path: str | Path, spec: FilterSpec, max_size: Size) -> np.ndarray:
    info = probe_image(path)  # header only: a bomb is refused here
    shown = fit_size((info.width, info.height), max_size)
    decode = decode_reduced_gray if spec.grayscale else decode_reduced
    return apply_filter(decode(path, working_size(spec, shown)), spec, out_size=shown)


def keyframe_sheets(path: str | Path, spec: FilterSpec, max_size: Size = (1920, 1080)
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """(filtered sheet, unfiltered sheet, keyframe count) of a video or an animated image: the desk
    shows the first and reveals the second. Each frame is filtered on its own, so a blur level
    means what it does on an image."""
    frame_size = (max_size[0] // _FRAME_FRACTION, max_size[1] // _FRAME_FRACTION)
    kind, _mime = media_kind(path)
    pick = keyframes if kind is MediaKind.VIDEO else animation_keyframes
    frames = [k.rgb for k in pick(path, max_size=frame_size)]  # at least one, or MediaError
    filtered = contact_sheet([apply_filter(f, spec) for f in frames], max_size=max_size)
    return filtered, contact_sheet(frames, max_size=max_size), len(frames)
