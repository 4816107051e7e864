"""Signal types: how media becomes a hash string, how two hashes compare, and what a valid hash looks like."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from blurring.decode import decode_gray_for_hash
from blurring.hashing import pdq_luma, pdq_luma_dihedral, pdq_rgb, phash_luma
from blurring.sniff import sniff_file
from moderator.domain import MediaKind

# Longest side of the reduced decode every perceptual hash is computed from, for bank building and
# querying alike. Chosen by PDQ drift against pdqhash.compute on all full-resolution pixels over 70
# cases (7 skimage photos at 10 sizes and aspect ratios, 2 to 48 MP, JPEG q85/q90): 1280 is the
# smallest side with no more than one case over 10 bits, where every smaller side has more and drifts
# further. bench/bench_hashing.py re-runs that sweep (its table: docs/PERFORMANCE.md, "Hashing"). A
# still JPEG is hashed at the smallest M/8 scale at least HASH_MAX_SIDE on its longer side, as decoded,
# never shrunk after it (at most 8/8 = full size; a 12 MP photo at 3/8, 1500x1125; 48 MP at 2/8,
# 2000x1500): that plane drifts less (blurring.decode.decode_gray_for_hash). Files Pillow decodes (PNG,
# WebP, CMYK JPEG, video and animation frames) are fitted inside HASH_MAX_SIDE.
HASH_MAX_SIDE = 1280

PDQ_MIN_QUALITY = 50  # below this PDQ's own reference says the image is too flat to hash meaningfully

_HEX_CHARS = re.compile(r"[^0-9a-f]")


@dataclass(frozen=True)
class HashResult:
    """One hash of one piece of media.

    `usable` is False when the hash exists but must not be matched (PDQ quality < 50); it is kept,
    rather than dropped, so the quality can be stored as the reason an item was never matched.
    """

    signal_type: str
    hex: str
    quality: int | None = None
    usable: bool = True


class SignalType(ABC):
    """A kind of hash: its name, size, default match threshold, hashing and comparison."""

    name: str
    bits: int
    default_threshold: int

    @property
    def hex_len(self) -> int:
        return self.bits // 4

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return re.compile(f"[0-9a-f]{{{self.hex_len}}}")

    @abstractmethod
    def hash_file(self, path: str | Path) -> HashResult | None:
        """The hash of a media file; None when this signal does not apply to it (pixel hashes of a
        video); blurring.errors.MediaError when the file is not readable media."""

    def hash_pixels(self, rgb: np.ndarray) -> HashResult | None:
        """The hash of decoded RGB pixels; None for signals that hash file bytes."""
        return None

    def distance(self, a: str, b: str) -> int:
        """Hamming distance between two validated hashes of this type."""
        if len(a) != len(b):
            raise ValueError(f"{self.name} hashes differ in length: {len(a)} vs {len(b)} hex chars")
        return (int(a, 16) ^ int(b, 16)).bit_count()

    def validate(self, hex_str: str) -> str:
        """The normalised (stripped, lowercase) hash; ValueError saying what is wrong otherwise."""
        value = hex_str.strip().lower()
        if self._pattern.fullmatch(value):  # the fast path: banks validate millions of lines
            return value
        if len(value) != self.hex_len:
            raise ValueError(f"{self.name} hash must be {self.hex_len} hex chars, got {len(value)}")
        bad = _HEX_CHARS.search(value)
        if bad:
            raise ValueError(f"{self.name} hash must be {self.hex_len} hex chars, got {bad.group()!r}")
        return value

def decode_for_hash(path: str | Path) -> np.ndarray | None:
    """Luma pixels (H, W) at the hashing size, all PDQ and pHash look at (blurring.hashing: the same
    pixels import hashes); an animated image's first frame (its other frames are hashed by
    moderator.video_hash.hash_animation); None for a video; MediaError for a file that is not media."""
    kind, _mime = sniff_file(path)
    if kind is not MediaKind.IMAGE:
        return None
    return decode_gray_for_hash(path, (HASH_MAX_SIDE, HASH_MAX_SIDE))


def _as_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {rgb.dtype}")
    return np.ascontiguousarray(rgb[:, :, :3])


class _PixelSignal(SignalType):
    """A perceptual hash of decoded pixels: both for bank building and for querying, from the same
    reduced decode (decode_for_hash)."""

    def hash_file(self, path: str | Path) -> HashResult | None:
        rgb = decode_for_hash(path)
        return None if rgb is None else self.hash_pixels(rgb)


class PdqSignal(_PixelSignal):
    """Meta's PDQ: 256 bits, match at Hamming distance <= 31, quality 0..100 reported with each hash."""

    name = "pdq"
    bits = 256
    default_threshold = 31

    def hash_pixels(self, rgb: np.ndarray) -> HashResult:
        """Of RGB (H, W, 3) or luma (H, W) uint8 pixels (blurring.hashing: pdqhash's luma of RGB)."""
        hexed, quality = pdq_luma(rgb) if rgb.ndim == 2 and rgb.dtype == np.uint8 else pdq_rgb(_as_rgb(rgb))[:2]
        return HashResult(self.name, hexed, quality, quality >= PDQ_MIN_QUALITY)


class PhashSignal(_PixelSignal):
    """imagehash's DCT pHash: 64 bits.

    Threshold 10 of 64 bits (about 16 %, the usual imagehash cut-off) keeps the false-match rate on
    unrelated photos low while JPEG q30, half-size, light blur, gamma and a small watermark stay within.
    """

    name = "phash"
    bits = 64
    default_threshold = 10

    def hash_pixels(self, rgb: np.ndarray) -> HashResult:
        if rgb.ndim == 2 and rgb.dtype == np.uint8:
            return HashResult(self.name, phash_luma(rgb))
        return HashResult(self.name, str(imagehash.phash(Image.fromarray(_as_rgb(rgb)))))


class _FileDigestSignal(SignalType):
    """A cryptographic digest of the file bytes: only byte-identical files match (threshold 0)."""

    default_threshold = 0
    algorithm: str

    def hash_file(self, path: str | Path) -> HashResult:
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, self.algorithm)
        return HashResult(self.name, digest.hexdigest())


class Md5Signal(_FileDigestSignal):
    name = "md5"
    bits = 128
    algorithm = "md5"


class Sha256Signal(_FileDigestSignal):
    name = "sha256"
    bits = 256
    algorithm = "sha256"


PDQ = PdqSignal()
PHASH = PhashSignal()
MD5 = Md5Signal()
SHA256 = Sha256Signal()

SIGNALS: dict[str, SignalType] = {s.name: s for s in (PDQ, PHASH, MD5, SHA256)}


class UnknownSignalError(ValueError):
    pass


def get_signal(name: str) -> SignalType:
    """The registered signal type called `name` (case-insensitive)."""
    signal = SIGNALS.get(name.strip().lower())
    if signal is None:
        known = ", ".join(sorted(SIGNALS))
        raise UnknownSignalError(f"unknown signal type {name!r} (known: {known})")
    return signal


def hash_image_file(path: str | Path, names: tuple[str, ...] = ("pdq", "phash")) -> list[HashResult]:
    """Every requested pixel signal of one image, decoding it once; [] when it is not an image."""
    rgb = decode_for_hash(path)
    if rgb is None:
        return []
    results = (get_signal(name).hash_pixels(rgb) for name in names)
    return [r for r in results if r is not None]


# The order pdq_dihedral returns, named as pdqhash names them: the transform applied to the query.
# flip_x mirrors about the x axis (top-bottom), flip_y about the y axis (left-right: a mirrored
# re-upload matches through flip_y), flip_plus1 / flip_minus1 about the diagonals.
DIHEDRAL_VARIANTS = ("original", "rot90", "rot180", "rot270", "flip_x", "flip_y", "flip_plus1", "flip_minus1")


def pdq_dihedral(rgb: np.ndarray) -> list[str]:
    """PDQ of the 8 rotations and flips, in DIHEDRAL_VARIANTS order.

    Query with all eight so a mirrored or rotated re-upload still matches a bank of originals.
    """
    if rgb.ndim == 2 and rgb.dtype == np.uint8:
        return pdq_luma_dihedral(rgb)[2]
    return pdq_rgb(_as_rgb(rgb), dihedral=True)[2]
