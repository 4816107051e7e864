"""PDQ and pHash of a decoded luma plane, PDQ computed once per image, on any thread.

Both hashes see luma only: pdqhash turns RGB into 0.299 R + 0.587 G + 0.114 B itself, imagehash into
Pillow's "L" (the same weights). So images are decoded as luma (a JPEG's Y plane alone, no chroma
upsampling or colour conversion: `blurring.decode` mode "L") and hashed from that one plane.

PDQ is computed once: Meta's `pdqDihedralHash256esFromFloatLuma` gives the original's hash and quality
with the seven rotations and flips from one pass (import used to run a second, whole PDQ for the
original). It is called in pdqhash's own compiled library, through ctypes, with float32 buffers this
module keeps per thread and size, rather than through pdqhash's Cython wrapper, for three reasons
measured on 640x480 and 1280x960 photos (bench/bench_import.py prints the figures):
- the wrapper builds its gray plane through float64 temporaries (three 8-byte-a-pixel arrays alive at
  once) that glibc returns to the kernel after every image and faults in again on the next: 1.5 M
  minor faults and 2.6 s of system time per 1,000 640x480 images, half of PDQ's time;
- it holds the GIL for the whole hash, so a second thread cannot hash at the same time (ctypes
  releases it for the call);
- the conversion alone is a quarter of PDQ's time at 1280x960.
The C++ entry points are the same ones the wrapper calls, so the hashes are bit-identical to
`pdqhash.compute` / `compute_dihedral` (checked once per process on a test pattern, falling back to
the wrapper if the library ever differs; tests/test_hashing_once.py compares real photos).
"""

from __future__ import annotations

import ctypes
import threading

import imagehash
import numpy as np
import pdqhash
from PIL import Image

_NS = "_ZN8facebook3pdq7hashing"  # Itanium C++ ABI names of facebook::pdq::hashing::…
_HASH = _NS + "23pdqHash256FromFloatLumaEPfS2_iiPA64_fS4_PA16_fRNS1_7Hash256ERi"
_DIHEDRAL = _NS + "33pdqDihedralHash256esFromFloatLumaEPfS2_iiPA64_fS4_PA16_fS6_PNS1_7Hash256ES8_S8_S8_S8_S8_S8_S8_Ri"
_P, _INT = ctypes.c_void_p, ctypes.c_int


def _load() -> tuple[object, object] | None:
    try:
        lib = ctypes.CDLL(pdqhash.bindings.__file__)
        one, eight = getattr(lib, _HASH), getattr(lib, _DIHEDRAL)
    except (OSError, AttributeError):
        return None
    one.argtypes, one.restype = [_P, _P, _INT, _INT, _P, _P, _P, _P, _P], None
    eight.argtypes, eight.restype = [_P, _P, _INT, _INT, _P, _P, _P, _P, *[_P] * 8, _P], None
    return one, eight


class _Buffers(threading.local):
    """One thread's working memory for PDQ, reused while the image size stays the same."""

    def __init__(self) -> None:
        self.shape: tuple[int, int] | None = None
        self.small = [np.empty(s, np.float32) for s in ((64, 64), (16, 64), (16, 16), (16, 16))]
        self.words = np.zeros((8, 16), np.uint16)  # 8 Hash256: 16 little-endian words each

    def luma(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.shape != gray.shape:
            self.full, self.scratch, self.shape = np.empty(gray.shape, np.float32), np.empty(gray.shape, np.float32), gray.shape
        np.copyto(self.full, gray)  # the filters run in place: a fresh copy of the pixels each time
        return self.full, self.scratch


_buffers = _Buffers()


def _words_hex(words: np.ndarray) -> str:
    """Hash256 words (bit k in word k // 16) as PDQ hex, most significant bit first (pdqhash's order)."""
    return "".join(f"{int(w):04x}" for w in words[::-1])


def _native(gray: np.ndarray, dihedral: bool) -> tuple[list[str], int]:
    full, scratch = _buffers.luma(gray)
    words, quality, (b64, b16x64, b16, aux) = _buffers.words, _INT(), _buffers.small
    rows, cols = gray.shape
    if dihedral:
        _FUNCS[1](full.ctypes.data, scratch.ctypes.data, rows, cols, b64.ctypes.data, b16x64.ctypes.data,
                  b16.ctypes.data, aux.ctypes.data, *[words[i].ctypes.data for i in range(8)], ctypes.byref(quality))
        return [_words_hex(w) for w in words], quality.value
    _FUNCS[0](full.ctypes.data, scratch.ctypes.data, rows, cols, b64.ctypes.data, b16x64.ctypes.data,
              b16.ctypes.data, words[0].ctypes.data, ctypes.byref(quality))
    return [_words_hex(words[0])], quality.value


def _bits_hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def _wrapper(gray: np.ndarray, dihedral: bool) -> tuple[list[str], int]:
    """pdqhash's own wrapper, on the one plane seen three times (no copy): its weights sum to 1."""
    rgb = np.broadcast_to(gray[:, :, None], (*gray.shape, 3))
    if dihedral:
        variants, quality = pdqhash.compute_dihedral(rgb)
        return [_bits_hex(v) for v in variants], int(quality)
    bits, quality = pdqhash.compute(rgb)
    return [_bits_hex(bits)], int(quality)


def _self_check() -> bool:
    """Whether the native path gives the wrapper's hashes on a textured test pattern."""
    y, x = np.mgrid[0:96, 0:128]
    pattern = ((np.sin(x / 7.0) * np.cos(y / 5.0) + x / 128) * 100 + 100).astype(np.uint8)
    return all(_native(pattern, d) == _wrapper(pattern, d) for d in (False, True))


_FUNCS = _load()
NATIVE = _FUNCS is not None and _self_check()  # False: the wrapper is used (slower, holds the GIL)


def _check(gray: np.ndarray) -> np.ndarray:
    if gray.dtype != np.uint8 or gray.ndim != 2:
        raise ValueError(f"expected a uint8 luma plane, got {gray.dtype} {gray.shape}")
    return gray


def pdq_luma(gray: np.ndarray) -> tuple[str, int]:
    """PDQ hex and quality of a luma plane."""
    hexes, quality = (_native if NATIVE else _wrapper)(_check(gray), False)
    return hexes[0], quality


def pdq_luma_dihedral(gray: np.ndarray) -> tuple[str, int, list[str]]:
    """PDQ hex and quality of a luma plane and its 8 dihedral variants (the original first, in
    pdqhash's order: original, rot90, rot180, rot270, flip_x, flip_y, flip_plus1, flip_minus1)."""
    hexes, quality = (_native if NATIVE else _wrapper)(_check(gray), True)
    return hexes[0], quality, hexes


def phash_luma(gray: np.ndarray) -> str:
    """imagehash's pHash of a luma plane (it converts to "L" first, so gray in is what it hashes)."""
    return str(imagehash.phash(Image.fromarray(_check(gray), "L")))
