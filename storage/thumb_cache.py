"""The disk cache of grid thumbnails: filtered pixels only, in a folder private to the user, size-capped.

One file per (content SHA-256, filter, size): a PNG (any image tool opens it) followed by the
SHA-256 of those PNG bytes. A file whose digest, PNG or shape does not check out (truncated by a
crash, a flipped bit, a file someone put there) is removed and reported as a miss, so the caller
makes the thumbnail again; what a caller gets back is always what `put` was given.

Files are written whole (storage.files.replacing: 0600 from creation, renamed into place) but not
fsync'd: a cache entry lost to a power cut is made again. Past `max_bytes`, the least recently used
files are removed (use is tracked in memory and seeded from the files' mtimes).
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
import time
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from storage.files import replacing
from storage.store import StoreError, private_dir

FORMAT = "t1"  # part of every name: a change to how thumbnails are made starts a fresh set
_DIGEST = 32
_SUFFIX = ".png"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A temp file (storage.files.replacing) older than this was left by a killed write; a younger one may
# be another desk's on the same data dir, writing now.
_STALE_TEMP_S = 3600
_TRIM_TO = 0.9  # eviction goes a little below the cap, so the next few puts do not each evict


class ThumbCache:
    """get/put of thumbnails by key (a short string naming content, filter and size). Thread-safe."""

    def __init__(self, root: str | Path, max_bytes: int = 256 << 20) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.root = private_dir(Path(root))
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._files: OrderedDict[str, int] = OrderedDict()  # name -> bytes, least recently used first
        self._total = 0
        self._load_index()

    @property
    def total_bytes(self) -> int:
        return self._total

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{_SUFFIX}"

    def get(self, key: str, longest_side: int) -> np.ndarray | None:
        """The pixels stored under key (RGB uint8, longest side as given), or None: never stored,
        evicted, or a damaged file (removed here)."""
        path = self.path_for(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        pixels = _decode(data, longest_side)
        if pixels is None:
            self._remove(path.name, path)
            return None
        with self._lock:
            if path.name in self._files:
                self._files.move_to_end(path.name)
        return pixels

    def put(self, key: str, rgb: np.ndarray) -> None:
        """Store pixels under key (replacing what was there); evicts past the cap. A full or read-only
        disk leaves the cache as it was: it only costs the next decode."""
        data = _encode(rgb)
        path = self.path_for(key)
        try:
            private_dir(path.parent)
            with replacing(path, durable=False) as tmp:
                tmp.write_bytes(data)
        except (OSError, StoreError):
            return
        with self._lock:
            self._total += len(data) - self._files.pop(path.name, 0)
            self._files[path.name] = len(data)
            doomed = self._over_cap()
        for name in doomed:
            _unlink(self.root / name[:2] / name)

    def _over_cap(self) -> list[str]:
        """Names to remove (least recently used first) to come back under the cap; lock held."""
        doomed = []
        if self._total > self.max_bytes:
            while self._files and self._total > self.max_bytes * _TRIM_TO:
                name, size = self._files.popitem(last=False)
                self._total -= size
                doomed.append(name)
        return doomed

    def _remove(self, name: str, path: Path) -> None:
        with self._lock:
            self._total -= self._files.pop(name, 0)
        _unlink(path)

    def _load_index(self) -> None:
        found = []
        for shard in _scan(self.root):
            if shard.is_dir(follow_symlinks=False):
                for entry in _scan(Path(shard.path)):
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                    if entry.name.endswith(_SUFFIX) and not entry.name.startswith("."):
                        found.append((st.st_mtime, entry.name, st.st_size))
                    elif entry.name.startswith(".") and st.st_mtime < time.time() - _STALE_TEMP_S:
                        _unlink(Path(entry.path))  # a write killed before its rename
        for _mtime, name, size in sorted(found):
            self._files[name] = size
            self._total += size
        doomed = self._over_cap()  # a smaller cap than the last run's
        for name in doomed:
            _unlink(self.root / name[:2] / name)


def _encode(rgb: np.ndarray) -> bytes:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (H, W, 3) RGB, got {rgb.dtype} {rgb.shape}")
    gray = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    # Most thumbnails are gray (the default floor): one channel is a third of the bytes.
    pixels = rgb[..., 0] if gray else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, png = cv2.imencode(_SUFFIX, np.ascontiguousarray(pixels), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError(f"cannot encode a thumbnail of shape {rgb.shape}")
    data = png.tobytes()
    return data + hashlib.sha256(data).digest()


def _decode(data: bytes, longest_side: int) -> np.ndarray | None:
    png, digest = data[:-_DIGEST], data[-_DIGEST:]
    if len(data) <= _DIGEST or hashlib.sha256(png).digest() != digest or _png_side(png) != longest_side:
        return None
    pixels = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint8 or max(pixels.shape[:2]) != longest_side:
        return None
    if pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    return None


def _png_side(png: bytes) -> int | None:
    """The longer side a PNG's header declares, read before decoding (nothing huge is ever decoded)."""
    if len(png) < 24 or not png.startswith(_PNG_MAGIC) or png[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", png[16:24])
    return max(width, height)


def _scan(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except OSError:
        return []


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
