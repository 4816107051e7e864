"""Decode images at reduced scale, straight to the size they will be shown or hashed at.

Also the header-only checks ingest runs before a file is accepted (`probe_image`) and the one full
decode that proves it is not truncated (`verify_image`). Every failure is a `MediaError`.

Pillow's own decompression-bomb guard is switched off process-wide (`Image.MAX_IMAGE_PIXELS =
None`) because it warns from 89 MP and raises only from 179 MP, through the global `warnings`
machinery that worker threads cannot scope. Every open in this module checks an explicit,
per-call pixel limit from the header instead, before a single pixel is decoded.

Memory. A JPEG is decoded with DCT scaling, so its limit is the caller's (100 MP at import:
~130 MB peak RSS for a 100 MP file). Pillow decodes every other format at full size, so those
have lower limits of their own, whatever the caller passes, measured as peak RSS of one decode:
WebP (libwebp's canvas, its copy and Pillow's, ~16 bytes a pixel) MAX_WEBP_PIXELS = 25 MP, about
400 MB; PNG, GIF, BMP and TIFF (~5 bytes a pixel to verify or decode reduced, since the image
is box-reduced before colour conversion; more, by estimate, with an alpha channel) MAX_UNSCALED_PIXELS = 50 MP,
about 250-400 MB (measured 255 MB for a 49 MP PNG, 431 MB for a 25 MP WebP). Animated
images and multi-page TIFFs are frame sequences: every frame is checked and decoded
(blurring.frames: at most MAX_FRAMES frames and MAX_TOTAL_PIXELS decoded pixels in all).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from PIL import Image

from blurring.errors import MediaError
from blurring.frames import check_frames
from blurring.sniff import sniff_file
from moderator.domain import MediaKind

Image.MAX_IMAGE_PIXELS = None

MAX_PIXELS = 100_000_000  # the one pixel limit: import and every decode (a JPEG's; others are lower)
MAX_UNSCALED_PIXELS = 50_000_000  # formats Pillow cannot decode reduced: see the module docstring
MAX_WEBP_PIXELS = 25_000_000
_FORMAT_LIMITS = {"JPEG": None, "WEBP": MAX_WEBP_PIXELS}
# Modes Image.reduce takes: the others (P, 1, CMYK…) are converted first.
_REDUCIBLE = ("L", "LA", "RGB", "RGBA", "I", "F")
_CONVERT_TO_REDUCE = ("P", "PA", "1", "CMYK", "YCbCr")

# Only the formats the sniffer accepts: never let Pillow guess among all its plugins (EPS, for
# one, would hand the file to Ghostscript).
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

_ORIENTATION = 0x0112
# EXIF orientation -> how to turn the stored pixels into the displayed ones.
_ORIENT_OPS = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


@dataclass(frozen=True)
class ImageInfo:
    """An image's displayed size (EXIF orientation applied) and its format."""

    width: int
    height: int
    mime: str
    format: str
    frames: int = 1  # > 1 for an animated image or a multi-page TIFF

    @property
    def pixels(self) -> int:
        return self.width * self.height


def probe_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Size, format and frame count from headers alone; refuses a decompression bomb (in any
    frame) before any decode."""
    _require_image(path)
    with _open_checked(path, max_pixels, decoding=False) as im:
        return _info(im)


def verify_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """`probe_image`, then one decode of every frame's data to prove the file is whole.

    A JPEG is decoded with DCT scaling: every entropy-coded byte is still read and checked (a
    truncated or corrupt scan fails the same way), with ~1/64 of the memory and ~1/3 of the time.
    An animation's frames are decoded one after another into one canvas.
    """
    _require_image(path)
    with _open_checked(path, max_pixels) as im:
        info = _info(im)
        if im.format == "JPEG":
            im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
        with _decode_errors():
            for index in range(info.frames):
                im.seek(index)
                im.load()
    return info


def decode_reduced(
    path: str | Path, max_size: tuple[int, int], *, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """RGB uint8 (H, W, 3) that fits inside max_size; never upscales; EXIF orientation applied.

    JPEG uses DCT scaling (`Image.draft`) so a 12 MP photo is never decoded at full size.
    """
    return _decode(path, max_size, "RGB", max_pixels)


def decode_reduced_gray(
    path: str | Path, max_size: tuple[int, int], *, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """Like `decode_reduced` but gray uint8 (H, W): a JPEG's luma is decoded alone, skipping the
    chroma planes and the colour conversion, for the grayscale previews most items get."""
    return _decode(path, max_size, "L", max_pixels)


def decode_gray_for_hash(
    path: str | Path, max_size: tuple[int, int], *, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """`decode_reduced_gray` for hashing: the same checks, and a still JPEG's luma decoded at the
    smallest of libjpeg-turbo's M/8 scales that covers max_size (`_jpeg_luma_for_hash`)."""
    with _open_checked(path, max_pixels) as im:
        gray = _jpeg_luma_for_hash(im, max_size)
        return gray if gray is not None else _frame_pixels(im, max_size, "L", _orientation(im))


def _jpeg_luma_for_hash(im: Image.Image, max_size: tuple[int, int]) -> np.ndarray | None:
    """A still baseline/progressive JPEG's luma at the smallest M/8 scale that covers max_size's fit,
    as decoded (no shrink after it), EXIF orientation applied; None for anything else (CMYK, an MPO,
    another format) or a file libjpeg-turbo refuses, which Pillow then decodes (or refuses with the
    usual MediaError): the checks stay `_open_checked`'s.

    Pillow's draft() scales only by 1/2^k (a 4000x3000 photo to 2000x1500 for a 1280 working size);
    simplejpeg's bundled libjpeg-turbo scales by M/8 (3/8: 1500x1125). The plane is left unshrunk:
    PDQ drifts less from full-resolution pdqhash that way (bench/bench_hashing.py's sweep). A file no
    larger than max_size decodes at 8/8 (full size); the plane is under twice max_size's fit on
    each side (8000x6000 at 1280: 2/8, 2000x1500). Only hashing uses it: previews stay Pillow's."""
    if im.format != "JPEG" or im.mode not in ("L", "RGB") or _frame_count(im) != 1:
        return None
    orientation = _orientation(im)
    swap = orientation in (5, 6, 7, 8)
    tw, th = fit_size((im.height, im.width) if swap else im.size, max_size)
    stored_target = (th, tw) if swap else (tw, th)
    at = im.fp.tell()
    try:
        im.fp.seek(0)
        data = im.fp.read()
    finally:
        im.fp.seek(at)
    try:  # strict: a warning (a truncated scan, corrupt data) raises, so Pillow decides on the file
        pixels = simplejpeg.decode_jpeg(data, colorspace="GRAY", min_width=stored_target[0],
                                        min_height=stored_target[1])[:, :, 0]
    except ValueError:
        return None
    if orientation in _ORIENT_OPS:
        pixels = _ORIENT_OPS[orientation](pixels)
    return np.ascontiguousarray(pixels)


def _decode(path: str | Path, max_size: tuple[int, int], mode: str, max_pixels: int) -> np.ndarray:
    with _open_checked(path, max_pixels) as im:
        return _frame_pixels(im, max_size, mode, _orientation(im))


def iter_frames(
    path: str | Path, max_size: tuple[int, int], mode: str = "RGB", *,
    indices: Iterable[int] | None = None, max_pixels: int = MAX_PIXELS,
) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, start time in s, pixels fitted inside max_size) of each frame of an image, or of
    the frames in `indices` only, in order. A still image is one frame at time 0. Frames are
    decoded one after another (GIF and APNG cannot seek), so at most one is held full-size."""
    _require_image(path)
    with _open_checked(path, max_pixels) as im:
        orientation, count = _orientation(im), _frame_count(im)
        wanted = set(range(count) if indices is None else indices)
        time_s = 0.0
        for index in range(min(count, max(wanted, default=-1) + 1)):
            with _decode_errors():
                im.seek(index)
            if index in wanted:
                yield index, round(time_s, 3), _frame_pixels(im, max_size, mode, orientation)
            time_s += float(im.info.get("duration") or 0) / 1000


def _frame_pixels(im: Image.Image, max_size: tuple[int, int], mode: str, orientation: int) -> np.ndarray:
    swap = orientation in (5, 6, 7, 8)
    shown = (im.height, im.width) if swap else im.size
    tw, th = fit_size(shown, max_size)
    stored_target = (th, tw) if swap else (tw, th)
    with _decode_errors():
        if im.format == "JPEG":
            im.draft(mode, stored_target)
        pixels = np.asarray(_to_mode(_reduce(im, stored_target), mode))
    pixels = _resize(pixels, stored_target)
    if orientation in _ORIENT_OPS:
        pixels = _ORIENT_OPS[orientation](pixels)
    if not pixels.flags.writeable:  # Pillow's buffer, when nothing needed resizing: same contract
        pixels = pixels.copy()
    return np.ascontiguousarray(pixels)


def _reduce(im: Image.Image, target: tuple[int, int]) -> Image.Image:
    """Box-reduce a full-size decode by the whole factor that keeps it >= target, before colour
    conversion and flattening: those then copy a quarter of the pixels or fewer, not all of them."""
    factor = min(im.width // target[0], im.height // target[1])
    if factor < 2 or im.format == "JPEG":  # a JPEG is already reduced by draft()
        return im
    if im.mode in _CONVERT_TO_REDUCE:
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    return im.reduce(factor) if im.mode in _REDUCIBLE else im


def _frame_count(im: Image.Image) -> int:
    return int(getattr(im, "n_frames", 1) or 1)


def _require_image(path: str | Path) -> None:
    kind, mime = sniff_file(path)
    if kind is not MediaKind.IMAGE:
        raise MediaError(f"not an image ({mime})")


@contextmanager
def _open_checked(path: str | Path, max_pixels: int, *, decoding: bool = True) -> Iterator[Image.Image]:
    """Open (header only), refuse anything over max_pixels or, when it is to be decoded, over its
    format's limit (`pixel_limit`); for an animation, any frame over it or too many frames
    (blurring.frames). Closes on the way out."""
    with _decode_errors():
        im = Image.open(path, formats=FORMATS)
    with im:
        width, height = im.size
        if width * height > max_pixels:
            raise MediaError(f"image too large: {width}x{height} pixels exceeds the {_mp(max_pixels)} limit")
        limit = pixel_limit(im.format or "", max_pixels) if decoding else max_pixels
        if width * height > limit:
            raise MediaError(f"image too large: {width}x{height} pixels exceeds the {_mp(limit)} limit "
                             f"for {im.format} (decoded at full size)")
        with _decode_errors():
            check_frames(im, path, limit)
        yield im


def pixel_limit(image_format: str, max_pixels: int = MAX_PIXELS) -> int:
    """The pixels a file of this Pillow format may have: max_pixels for JPEG (decoded reduced),
    lower for formats decoded at full size (see the module docstring for the measurements)."""
    own = _FORMAT_LIMITS.get(image_format, MAX_UNSCALED_PIXELS)
    return max_pixels if own is None else min(own, max_pixels)


def _mp(pixels: int) -> str:
    return f"{pixels / 1_000_000:g} MP"


@contextmanager
def _decode_errors() -> Iterator[None]:
    """Turn what Pillow and zlib raise on bad files into a MediaError with a short reason."""
    try:
        yield
    except MediaError:
        raise
    except FileNotFoundError as exc:
        raise MediaError("file not found") from exc
    except Image.UnidentifiedImageError as exc:
        raise MediaError("not a decodable image") from exc
    except Image.DecompressionBombError as exc:
        raise MediaError("image too large (decompression bomb)") from exc
    except OSError as exc:
        if exc.errno is not None:  # the OS refused (permissions, a directory…), not the data
            raise MediaError(f"cannot read file: {exc.strerror}") from exc
        raise MediaError("truncated or corrupt image") from exc
    except (SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error) as exc:
        raise MediaError("truncated or corrupt image") from exc
    except MemoryError as exc:
        raise MediaError("image too large to decode") from exc


def _info(im: Image.Image) -> ImageInfo:
    width, height = im.size
    if _orientation(im) in (5, 6, 7, 8):
        width, height = height, width
    mime = Image.MIME.get(im.format or "", "application/octet-stream")
    return ImageInfo(width=width, height=height, mime=mime, format=im.format or "", frames=_frame_count(im))


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not make a good image undisplayable
        return 1


def _to_mode(im: Image.Image, mode: str) -> Image.Image:
    """Convert to "RGB" or "L"; transparency is flattened on mid-gray, never on black or white,
    so that neither a black nor a white drawing on a transparent layer disappears."""
    if im.mode == mode:
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (128, 128, 128, 255))
        return Image.alpha_composite(background, im).convert(mode)
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        arr = (arr / max(float(arr.max()), 1.0) * 255).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr).convert(mode)
    return im.convert(mode)


def fit_size(size: tuple[int, int], max_size: tuple[int, int]) -> tuple[int, int]:
    """The largest size with size's aspect that fits max_size, never larger than size."""
    w, h = size
    scale = min(max_size[0] / w, max_size[1] / h, 1.0)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = pixels.shape[:2]
    if w <= size[0] and h <= size[1]:
        return pixels
    # What is left after JPEG DCT scaling is a shrink by less than 2x. Up to 1.5x, bilinear's 2x2
    # footprint still touches every source pixel: measured within 0.1 dB of INTER_AREA (against a
    # Lanczos reference from the full-size decode) and 6x faster. Larger shrinks need the box filter.
    ratio = max(w / size[0], h / size[1])
    interpolation = cv2.INTER_LINEAR if ratio <= 1.5 else cv2.INTER_AREA
    return cv2.resize(pixels, size, interpolation=interpolation)


# -- one open, one decode: what ingest runs on a file it has already sniffed --------------------------
class OpenImage:
    """An image opened once and checked against every limit (see `open_image`): its info, then either
    `verify()` or one pass of `frames()`, which decodes every frame (and so proves the file whole)."""

    def __init__(self, im: Image.Image) -> None:
        self._im = im
        self.info = _info(im)

    def verify(self) -> None:
        """`verify_image`'s decode: every frame's data, a JPEG at 1/8 scale (DCT scaling)."""
        im = self._im
        if im.format == "JPEG":
            im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
        with _decode_errors():
            for index in range(self.info.frames):
                im.seek(index)
                im.load()

    def frames(self, max_size: tuple[int, int], mode: str = "RGB") -> Iterator[tuple[int, float, np.ndarray]]:
        """(index, start time in s, pixels fitted inside max_size) of every frame, in order, once."""
        im, orientation, time_s = self._im, _orientation(self._im), 0.0
        for index in range(self.info.frames):
            with _decode_errors():
                im.seek(index)
            yield index, round(time_s, 3), _frame_pixels(im, max_size, mode, orientation)
            time_s += float(im.info.get("duration") or 0) / 1000

    def gray_frames_for_hash(self, max_size: tuple[int, int]) -> Iterator[tuple[int, float, np.ndarray]]:
        """`frames(max_size, "L")` for hashing: a still JPEG decoded as `decode_gray_for_hash` does."""
        gray = _jpeg_luma_for_hash(self._im, max_size)
        if gray is None:
            yield from self.frames(max_size, "L")
        else:
            yield 0, 0.0, gray


@contextmanager
def open_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Iterator[OpenImage]:
    """Open an image the caller has already sniffed (no second sniff: one open of the file, two for a
    GIF, whose frame extents are read from its blocks), refusing it over any limit before a decode."""
    with _open_checked(path, max_pixels) as im:
        yield OpenImage(im)
