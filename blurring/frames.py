"""How many frames an image file holds and how large they decode, read from headers before any
pixel is decoded, and the limits that bound an animation's memory and decode time.

Animated GIF, WebP and APNG, and multi-page TIFF, are frame sequences: every frame is shown,
hashed and verified, so every frame is checked here. Pillow decodes one frame at a time into one
canvas, so memory is bounded by the largest frame (the per-call pixel limit) and time by the
pixels of all frames together (MAX_TOTAL_PIXELS).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from blurring.errors import MediaError

# An animated GIF of 10 s at 25 fps has 250 frames; sticker and reaction loops far fewer. Beyond
# this a file is refused rather than sampled, since verify must decode every frame.
MAX_FRAMES = 1000
# Decoded pixels over all frames (frames x largest frame; for TIFF the sum of pages): 1000 frames
# of 500x500, or 120 frames of 1920x1080. Bounds the time verify and the contact sheet take.
MAX_TOTAL_PIXELS = 250_000_000


@dataclass(frozen=True)
class FrameLayout:
    """Frames in a file, the largest decoded frame (w, h), and decoded pixels over all frames."""

    count: int
    largest: tuple[int, int]
    total_pixels: int


def frame_layout(im: Image.Image, path: str | Path) -> FrameLayout:
    """The layout of an open image, from headers only (GIF blocks, TIFF IFDs, APNG/WebP counts)."""
    if im.format == "GIF":
        with open(path, "rb") as fh:
            return _gif_layout(fh)
    if im.format == "TIFF":
        return _tiff_layout(im)
    count = int(getattr(im, "n_frames", 1))  # WebP and APNG frames are composited on the canvas
    return FrameLayout(count, im.size, count * im.width * im.height)


def check_frames(im: Image.Image, path: str | Path, max_pixels: int) -> FrameLayout:
    """Refuse (MediaError) too many frames, a frame over max_pixels, or too many pixels in all."""
    layout = frame_layout(im, path)
    if layout.count > MAX_FRAMES:
        raise MediaError(f"too many frames: more than {MAX_FRAMES} (the limit for animated images)")
    w, h = layout.largest
    if w * h > max_pixels:
        raise MediaError(f"image too large: a frame of {w}x{h} pixels exceeds the {_mp(max_pixels)} limit")
    if layout.total_pixels > MAX_TOTAL_PIXELS:
        raise MediaError(f"animation too large: {layout.count} frames of up to {w}x{h} pixels, "
                         f"{_mp(layout.total_pixels)} in all, exceed the {_mp(MAX_TOTAL_PIXELS)} limit")
    return layout


def _mp(pixels: int) -> str:
    return f"{pixels / 1_000_000:g} MP"


def _tiff_layout(im: Image.Image) -> FrameLayout:
    count = int(getattr(im, "n_frames", 1))
    if count > MAX_FRAMES:
        return FrameLayout(count, im.size, 0)
    sizes = []
    try:
        for page in range(count):  # a TIFF seek reads the page's IFD, not its pixels
            im.seek(page)
            sizes.append(im.size)
    finally:
        im.seek(0)
    largest = max(sizes, key=lambda s: s[0] * s[1])
    return FrameLayout(count, largest, sum(w * h for w, h in sizes))


def _gif_layout(fh: BinaryIO) -> FrameLayout:
    """Walk the GIF blocks without decoding: Pillow grows the canvas to a frame that lies outside
    it only while decoding the frames before, which is too late to refuse a bomb in frame 5."""
    head = fh.read(13)
    if len(head) < 13:
        raise MediaError("truncated or corrupt image")
    width, height = struct.unpack("<HH", head[6:10])
    _skip_colour_table(fh, head[10])
    count = 0
    while count <= MAX_FRAMES:
        kind = fh.read(1)
        if kind == b"!":
            fh.read(1)  # the extension's label
            _skip_sub_blocks(fh)
        elif kind == b",":
            desc = fh.read(9)
            if len(desc) < 9:
                break  # truncated: the full decode in verify says so
            x, y, w, h = struct.unpack("<HHHH", desc[:8])
            width, height = max(width, x + w), max(height, y + h)
            count += 1
            _skip_colour_table(fh, desc[8])
            fh.read(1)  # LZW minimum code size
            _skip_sub_blocks(fh)
        else:  # the trailer, the end of the file, or garbage that decoding will report
            break
    count = max(count, 1)
    return FrameLayout(count, (width, height), count * width * height)


def _skip_colour_table(fh: BinaryIO, flags: int) -> None:
    if flags & 0x80:
        fh.seek(3 << ((flags & 7) + 1), 1)


def _skip_sub_blocks(fh: BinaryIO) -> None:
    while True:
        size = fh.read(1)
        if not size or size[0] == 0:
            return
        fh.seek(size[0], 1)
