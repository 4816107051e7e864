"""Tell images from videos by their first bytes (magic numbers), never by the file name.

A file named `x.jpg` that holds text, or an `.mp4` that is really a PNG, is classified by what it
is: the extension is chosen by whoever uploaded it, the bytes are not.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import BinaryIO

from blurring.errors import MediaError
from moderator.domain import MediaKind

# Enough for every signature below, including the Matroska DocType, which follows the EBML
# header's first few elements, and the BMP info-header size at offset 14.
SNIFF_BYTES = 64

# The largest files import accepts, in decimal megabytes like every size the desk reports (one unit,
# one message: `too_large`). Pixels are limited separately, from the headers (blurring.decode.MAX_PIXELS).
MAX_IMAGE_BYTES = 100_000_000
MAX_VIDEO_BYTES = 2_000_000_000

Sniffed = tuple[MediaKind, str]

# ISO base media (ftyp) brands that are still images (HEIF/AVIF), not video: OpenCV would read
# them as a one-frame video at best, so they are refused rather than misfiled.
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
_QUICKTIME_BRANDS = {b"qt  "}
_M4V_BRANDS = {b"M4V ", b"M4VH", b"M4VP"}

# Sizes of the BMP DIB headers in use (OS/2 v1 and v2, Windows v1-v5); "BM" alone is too weak
# a signature, as plenty of text starts with those two letters.
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def sniff(head: bytes) -> Sniffed | None:
    """(kind, mime) of the media that starts with `head`, or None when it is neither.

    `head` should be the first SNIFF_BYTES bytes of the file (fewer if the file is shorter).
    """
    return _sniff_image(head) or _sniff_video(head)


def sniff_file(path: str | Path, max_bytes: int | None = None) -> Sniffed:
    """(kind, mime) of the file at path, or MediaError saying why it is not usable media.

    max_bytes: refuse larger files before reading anything but the head (None: no limit).
    """
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        head = _read_head(fh)
    if size == 0:
        raise MediaError("empty file")
    if max_bytes is not None and size > max_bytes:
        raise too_large(size, max_bytes)
    found = sniff(head)
    if found is None:
        what = "bytes look like text" if looks_like_text(head) else "unknown format"
        raise MediaError(f"not an image or video ({what})")
    return found


def max_bytes_for(kind: MediaKind) -> int:
    return MAX_IMAGE_BYTES if kind is MediaKind.IMAGE else MAX_VIDEO_BYTES


def too_large(size: int, limit: int) -> MediaError:
    """The one way a file over its byte limit is reported, in MB of 10^6 bytes."""
    # Round the size up, so that a file over the limit never reads as equal to it.
    size_mb = math.ceil(size / 100_000) / 10
    return MediaError(f"file too large: {size_mb:g} MB exceeds {limit / 1_000_000:g} MB")


def require_regular_file(path: str | Path) -> os.stat_result:
    """The stat of path (symlinks followed) if it is a regular file; MediaError otherwise.

    A FIFO, socket, device (also through a symlink, e.g. to /dev/zero) or folder is refused before
    anything opens it: opening a FIFO blocks until a writer comes, reading a device never ends.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MediaError("file not found") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise MediaError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}") from None
    _check_mode(st.st_mode)
    return st


def open_regular(path: str | Path) -> BinaryIO:
    """Open a regular file for reading (binary), or raise MediaError saying why not.

    Checked twice: stat before opening (so no device is ever opened), and fstat of what was opened
    without blocking (so a file swapped for a FIFO in between is still refused, never waited on).
    """
    require_regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise MediaError("file not found") from None
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}") from None
    try:
        _check_mode(os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _check_mode(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise MediaError(f"not a regular file ({_file_type(mode)})")


def _file_type(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "not a plain file")


def _read_head(fh: BinaryIO) -> bytes:
    try:
        return fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}") from None


def looks_like_text(head: bytes) -> bool:
    """True when the bytes decode as UTF-8 with no control characters but whitespace."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The head may cut a multi-byte character in half; retry without the last 3 bytes.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return bool(text) and all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


def _sniff_image(head: bytes) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return MediaKind.IMAGE, "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaKind.IMAGE, "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return MediaKind.IMAGE, "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaKind.IMAGE, "image/webp"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):  # classic and BigTIFF
        return MediaKind.IMAGE, "image/tiff"
    if head.startswith(b"BM") and len(head) >= 18:
        if int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
            return MediaKind.IMAGE, "image/bmp"
    return None


def _sniff_video(head: bytes) -> Sniffed | None:
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head[8:12])
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: the DocType says WebM or Matroska
        mime = "video/webm" if b"webm" in head else "video/x-matroska"
        return MediaKind.VIDEO, mime
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return MediaKind.VIDEO, "video/x-msvideo"
    return None


def _sniff_ftyp(brand: bytes) -> Sniffed | None:
    if brand in _IMAGE_BRANDS or len(brand) < 4:
        return None
    if brand in _QUICKTIME_BRANDS:
        return MediaKind.VIDEO, "video/quicktime"
    if brand in _M4V_BRANDS:
        return MediaKind.VIDEO, "video/x-m4v"
    # isom, iso2, mp41, mp42, avc1, dash, 3gp…: all MPEG-4 family containers FFmpeg reads.
    return MediaKind.VIDEO, "video/mp4"
