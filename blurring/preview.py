"""The one preview pipeline: what every view (desk, grid, `moderator preview`) shows of a media file.

`prepare` gives the filtered picture, always, and the unfiltered one only on request and only when
the filter allows a reveal: for a filter with reveal "none" the original is never decoded or held.

An animated image (GIF, WebP, APNG, multi-page TIFF) is a frame sequence and gets a contact sheet
of its keyframes, as a video does, so a benign first frame cannot hide the ones after it.

An image is decoded only as far as the filter can show (a blurred preview needs a few hundred
pixels, not twelve million; a gray one needs only a JPEG's luma), then filtered to display size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from blurring.decode import decode_reduced, decode_reduced_gray, fit_size, probe_image
from blurring.filters import Size, apply_filter, working_size
from blurring.sniff import sniff_file
from blurring.video import animation_keyframes, contact_sheet, keyframes
from moderator.domain import FilterSpec, MediaKind, Reveal

# Keyframes are read at half the sheet size: a sheet of one to four frames then shows them
# without upscaling, and a filter on 960x540 frames costs about 1 ms each.
_FRAME_FRACTION = 2


class Original:
    """The unfiltered picture, made on the first `load()` and kept (load it on a worker)."""

    def __init__(self, make: Callable[[], np.ndarray]):
        self._make: Callable[[], np.ndarray] | None = make
        self._pixels: np.ndarray | None = None

    @property
    def loaded(self) -> bool:
        return self._pixels is not None

    def load(self) -> np.ndarray:
        if self._pixels is None:
            self._pixels, self._make = self._make(), None
        return self._pixels


@dataclass(frozen=True)
class Preview:
    """A media file prepared for a view: `filtered` is (H, W) gray when spec.grayscale, else RGB;
    `original` is None when the spec allows no reveal, else the same picture unfiltered (RGB, same
    size), decoded when first loaded. A video or an animated image is a sheet of `frames` keyframes."""

    spec: FilterSpec
    size: Size  # the box it was prepared to fit
    filtered: np.ndarray
    original: Original | None
    frames: int = 1
    is_video: bool = False


def prepare(path: str | Path, spec: FilterSpec, max_size: Size = (1920, 1080), *,
            load_original: bool = False) -> Preview:
    """The filtered picture of a media file fitted inside max_size, and its original on request.

    load_original: a view that must show a reveal at once (the desk's viewer) gets the original
    loaded now, and an image is then decoded once for both; ignored when the spec allows no reveal.
    Bad media raises MediaError. A video or an animated image gives a contact sheet of keyframes,
    each filtered on its own (so blur levels mean the same per frame as for an image)."""
    kind, _mime = media_kind(path)
    info = None if kind is MediaKind.VIDEO else probe_image(path)  # header only: a bomb stops here
    revealable = spec.reveal is not Reveal.NONE
    if info is None or info.frames > 1:
        filtered, frames = _sequence(path, kind, spec, max_size)
        # The frames were decoded for the filter; only a revealable item keeps them for its sheet.
        original = Original(lambda: contact_sheet(frames, max_size=max_size)) if revealable else None
        return Preview(spec, max_size, filtered, original, len(frames), kind is MediaKind.VIDEO)
    shown = fit_size((info.width, info.height), max_size)
    if not revealable:
        return Preview(spec, max_size, _image_preview(path, spec, shown), None)
    original = Original(lambda: _original_image(path, shown))
    if load_original:
        # One decode at display size serves the filter too: a JPEG's entropy decoding costs the
        # same at any scale, so a second, smaller decode would cost nearly as much again.
        return Preview(spec, max_size, apply_filter(original.load(), spec, out_size=shown), original)
    return Preview(spec, max_size, _image_preview(path, spec, shown), original)


def media_kind(path: str | Path, max_bytes: int | None = None) -> tuple[MediaKind, str]:
    """(kind, mime) from the file's first bytes; MediaError (empty file, text, unknown bytes,
    over max_bytes) when it is neither an image nor a video we can show."""
    return sniff_file(path, max_bytes=max_bytes)


def render_preview(path: str | Path, spec: FilterSpec, max_size: Size = (1920, 1080)) -> np.ndarray:
    """The filtered picture alone: `prepare(...).filtered`."""
    return prepare(path, spec, max_size).filtered


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


def keyframe_sheets(path: str | Path, spec: FilterSpec, max_size: Size = (1920, 1080)
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """(filtered sheet, unfiltered sheet, keyframe count) of a video or an animated image (a still
    gives its one frame). Views use `prepare`, which makes the unfiltered sheet only on request."""
    filtered, frames = _sequence(path, media_kind(path)[0], spec, max_size)
    return filtered, contact_sheet(frames, max_size=max_size), len(frames)


def _image_preview(path: str | Path, spec: FilterSpec, shown: Size) -> np.ndarray:
    decode = decode_reduced_gray if spec.grayscale else decode_reduced
    return apply_filter(decode(path, working_size(spec, shown)), spec, out_size=shown)


def _original_image(path: str | Path, shown: Size) -> np.ndarray:
    rgb = decode_reduced(path, shown)
    if (rgb.shape[1], rgb.shape[0]) != shown:  # a rounding pixel: the reveal lines up with the filter
        rgb = cv2.resize(rgb, shown, interpolation=cv2.INTER_AREA)
    return rgb


def _sequence(path: str | Path, kind: MediaKind, spec: FilterSpec, max_size: Size
              ) -> tuple[np.ndarray, list[np.ndarray]]:
    """(filtered sheet, the keyframes it was made from). Each frame is filtered on its own, so a
    blur level means what it does on an image."""
    frame_size = (max_size[0] // _FRAME_FRACTION, max_size[1] // _FRAME_FRACTION)
    pick = keyframes if kind is MediaKind.VIDEO else animation_keyframes
    frames = [k.rgb for k in pick(path, max_size=frame_size)]  # at least one, or MediaError
    return contact_sheet([apply_filter(f, spec) for f in frames], max_size=max_size), frames
