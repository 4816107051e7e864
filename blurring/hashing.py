"""PDQ and pHash of decoded pixels (a luma plane, or RGB), PDQ computed once per image, on any thread.

Both hashes see luma only: pdqhash turns RGB into 0.299 R + 0.587 G + 0.114 B itself, imagehash into
Pillow's "L" (the same weights). So images are decoded as luma (a JPEG's Y plane alone, no chroma
upsampling or colour conversion: `blurring.decode.decode_gray_for_hash`) and hashed from that plane.

PDQ = two passes of Jarosz box filters per axis (windows from the image size), sampling 64x64 of the
result, a 16x16 DCT of those and a median threshold. Only the 64x64 samples are ever used, and the
filters and the sampling are linear along each axis, so they are computed as 64x64 = A . X . B^T,
with A (64 x rows) and B (64 x cols) the composite weights of pdqhash's two box passes (its edge
windows included) and its sampling (`_axis_weights`): for a 1280x960 plane each output row reads 15
input rows and each output column 19 input columns, so the products cost ~0.5 ms where the box passes
over every pixel cost ~15 ms. Everything after the 64x64 samples is pdqhash's own compiled code,
called through ctypes: its quality metric, its DCT, its median threshold and its dihedral
transforms, one DCT for all eight variants (Meta's `pdqDihedralHash256esFromFloatLuma` does the same).

The products round differently from pdqhash's running sums in float32 (the 64x64 samples agree to
~4e-4 on a 0..255 scale), so a DCT coefficient within that of the median can fall on the other side,
or a gradient of the quality metric on the other side of an integer. On real photos that has not
happened: 0 bits and 0 quality points differed in 224 photo/size cases, all 8 variants, when this was
written, and tests/test_hashing_fast.py asserts equality on 5 photos at 9 sizes, luma and RGB (were a
coefficient ever that close, one bit would differ). `pdq_luma_native` is the whole-plane
pdqhash C++ with float32 buffers (the path used before; the reference tests and the bench compare
against), bit-identical to `pdqhash.compute` / `compute_dihedral` on the same plane.
"""

from __future__ import annotations

import ctypes
import functools
import threading

import imagehash
import numpy as np
import pdqhash
from PIL import Image

_NS = "_ZN8facebook3pdq7hashing"  # Itanium C++ ABI names of facebook::pdq::hashing::...
_SYMBOLS = {
    "hash": "23pdqHash256FromFloatLumaEPfS2_iiPA64_fS4_PA16_fRNS1_7Hash256ERi",
    "dihedral": "33pdqDihedralHash256esFromFloatLumaEPfS2_iiPA64_fS4_PA16_fS6_PNS1_7Hash256ES8_S8_S8_S8_S8_S8_S8_Ri",
    "quality": "27pdqImageDomainQualityMetricEPA64_f",
    "dct": "9dct64To16EPA64_fS3_PA16_f",
    "bits": "20pdqBuffer16x16ToBitsEPA16_fPNS1_7Hash256E",
}
# The seven turns of the 16x16 DCT, in pdqhash's order after the original.
_TURNS = ("23dct16OriginalToRotate90EPA16_fS3_", "24dct16OriginalToRotate180EPA16_fS3_",
          "24dct16OriginalToRotate270EPA16_fS3_", "20dct16OriginalToFlipXEPA16_fS3_",
          "20dct16OriginalToFlipYEPA16_fS3_", "24dct16OriginalToFlipPlus1EPA16_fS3_",
          "25dct16OriginalToFlipMinus1EPA16_fS3_")
_P, _INT = ctypes.c_void_p, ctypes.c_int
_ARGS = {"hash": ([_P, _P, _INT, _INT, _P, _P, _P, _P, _P], None),
         "dihedral": ([_P, _P, _INT, _INT, _P, _P, _P, _P, *[_P] * 8, _P], None),
         "quality": ([_P], _INT), "dct": ([_P, _P, _P], None), "bits": ([_P, _P], None)}
MIN_SIDE = 5  # pdqhash's MIN_HASHABLE_DIM: a smaller plane hashes to zeros with quality 0
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # pdqhash's RGB weights
_BLOCK = 4_000_000  # gathered pixel values per block of output rows (16 MB as float32)


def _load() -> dict[str, object] | None:
    try:
        lib = ctypes.CDLL(pdqhash.bindings.__file__)
        funcs = {name: getattr(lib, _NS + symbol) for name, symbol in _SYMBOLS.items()}
        turns = [getattr(lib, _NS + symbol) for symbol in _TURNS]
    except (OSError, AttributeError):
        return None
    for name, (argtypes, restype) in _ARGS.items():
        funcs[name].argtypes, funcs[name].restype = argtypes, restype
    for turn in turns:
        turn.argtypes, turn.restype = [_P, _P], None
    funcs["turns"] = turns
    return funcs


class _Buffers(threading.local):
    """One thread's working memory for PDQ; the whole-plane buffers are kept while the size stays."""

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


# -- the fast path: pdqhash's blur and sampling as two small matrix products ------------------------
def _box_window(p: int, n: int, window: int) -> tuple[int, int]:
    """The samples pdqhash's box1DFloat averages into output p (half-open): `window` wide, clipped."""
    half = (window + 2) // 2
    return max(0, p - (window - half)), min(n, p + half)


@functools.lru_cache(maxsize=32)
def _axis_weights(n: int) -> np.ndarray:
    """(64, n) float64: the weight of each of n input samples in each of PDQ's 64 outputs along one
    axis, i.e. two box passes of window computeJaroszFilterWindowSize(n, 64), then decimateFloat's
    sample at the centre of each 64th."""
    window = (n + 127) // 128
    weights = np.zeros((64, n))
    for i in range(64):
        lo, hi = _box_window(int(((i + 0.5) * n) / 64), n, window)
        for q in range(lo, hi):  # the second pass averages first-pass outputs lo..hi-1
            qlo, qhi = _box_window(q, n, window)
            weights[i, qlo:qhi] += 1.0 / ((hi - lo) * (qhi - qlo))
    return weights


@functools.lru_cache(maxsize=32)
def _row_band(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples each output reads along an axis of n, (64, K) indices, and their weights (64, K)
    float32 (K: 15 for 960 samples, 19 for 1280)."""
    weights = _axis_weights(n)
    nonzero = weights != 0
    first = nonzero.argmax(axis=1)
    span = int((n - nonzero[:, ::-1].argmax(axis=1) - first).max())
    first = np.minimum(first, n - span)
    index = first[:, None] + np.arange(span)[None, :]
    return index, np.take_along_axis(weights, index, axis=1).astype(np.float32)


def downsample64(pixels: np.ndarray) -> np.ndarray:
    """PDQ's 64x64 blurred samples (float32, C order) of a uint8 luma plane or RGB pixels.

    np.einsum's own loops, not BLAS: a product this small gains nothing from BLAS threads, and on a
    busy machine waking them cost 7-38 ms a call where the loops take 0.3 ms (measured at load 6).
    Output rows go in blocks of at most _BLOCK gathered values (one block for a 1280x960 plane), so a
    full-size 48 MP photo stays within ~100 MB."""
    row_index, row_weights = _row_band(pixels.shape[0])
    col_index, col_weights = _row_band(pixels.shape[1])
    per_row = row_index.shape[1] * pixels[0].size
    step = max(1, _BLOCK // per_row)
    across = np.empty((64, pixels.shape[1]), np.float32)
    for top in range(0, 64, step):
        index, weights = row_index[top:top + step], row_weights[top:top + step]
        rows = pixels[index].astype(np.float32)  # the only rows these outputs read
        if rows.ndim == 4:  # RGB: pdqhash's luma is linear, so it can follow the first product
            across[top:top + step] = np.einsum("iwc,c->iw", np.einsum("ik,ikwc->iwc", weights, rows), _LUMA)
        else:
            across[top:top + step] = np.einsum("ik,ikw->iw", weights, rows)
    return np.ascontiguousarray(np.einsum("rjk,jk->rj", across[:, col_index], col_weights))


def _fast(pixels: np.ndarray, dihedral: bool) -> tuple[list[str], int]:
    if min(pixels.shape[:2]) < MIN_SIDE:
        return ["0" * 64] * (8 if dihedral else 1), 0
    samples = downsample64(pixels)
    _b64, b16x64, b16, aux = _buffers.small
    words = _buffers.words
    quality = _FUNCS["quality"](samples.ctypes.data)
    _FUNCS["dct"](samples.ctypes.data, b16x64.ctypes.data, b16.ctypes.data)
    _FUNCS["bits"](b16.ctypes.data, words[0].ctypes.data)
    if not dihedral:
        return [_words_hex(words[0])], quality
    for k, turn in enumerate(_FUNCS["turns"], 1):
        turn(b16.ctypes.data, aux.ctypes.data)
        _FUNCS["bits"](aux.ctypes.data, words[k].ctypes.data)
    return [_words_hex(w) for w in words], quality


# -- the references: pdqhash's C++ on the whole plane, and its Cython wrapper -----------------------
def _native(gray: np.ndarray, dihedral: bool) -> tuple[list[str], int]:
    full, scratch = _buffers.luma(gray)
    words, quality, (b64, b16x64, b16, aux) = _buffers.words, _INT(), _buffers.small
    rows, cols = gray.shape
    if dihedral:
        _FUNCS["dihedral"](full.ctypes.data, scratch.ctypes.data, rows, cols, b64.ctypes.data,
                           b16x64.ctypes.data, b16.ctypes.data, aux.ctypes.data,
                           *[words[i].ctypes.data for i in range(8)], ctypes.byref(quality))
        return [_words_hex(w) for w in words], quality.value
    _FUNCS["hash"](full.ctypes.data, scratch.ctypes.data, rows, cols, b64.ctypes.data, b16x64.ctypes.data,
                   b16.ctypes.data, words[0].ctypes.data, ctypes.byref(quality))
    return [_words_hex(words[0])], quality.value


def _bits_hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def _wrapper(pixels: np.ndarray, dihedral: bool) -> tuple[list[str], int]:
    """pdqhash's own wrapper; a luma plane is seen three times (no copy): its weights sum to 1."""
    rgb = pixels if pixels.ndim == 3 else np.broadcast_to(pixels[:, :, None], (*pixels.shape, 3))
    if dihedral:
        variants, quality = pdqhash.compute_dihedral(rgb)
        return [_bits_hex(v) for v in variants], int(quality)
    bits, quality = pdqhash.compute(rgb)
    return [_bits_hex(bits)], int(quality)


def _self_check() -> bool:
    """Whether the library's entry points behave as declared: on a textured test pattern the fast
    path is within rounding of the whole-plane C++ and that is bit for bit pdqhash's wrapper."""
    y, x = np.mgrid[0:96, 0:128]
    pattern = ((np.sin(x / 7.0) * np.cos(y / 5.0) + x / 128) * 100 + 100).astype(np.uint8)
    for dihedral in (False, True):
        (fast, q_fast), (native, q_native) = _fast(pattern, dihedral), _native(pattern, dihedral)
        if (native, q_native) != _wrapper(pattern, dihedral) or abs(q_fast - q_native) > 1:
            return False
        if any((int(a, 16) ^ int(b, 16)).bit_count() > 4 for a, b in zip(fast, native, strict=True)):
            return False
    return True


_FUNCS = _load()
NATIVE = _FUNCS is not None and _self_check()  # False: the wrapper is used (slower, holds the GIL)


def _check(pixels: np.ndarray, rgb: bool = False) -> np.ndarray:
    if rgb:
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] < 3:
            raise ValueError(f"expected uint8 RGB pixels, got {pixels.dtype} {pixels.shape}")
        return pixels[:, :, :3]
    if pixels.dtype != np.uint8 or pixels.ndim != 2:
        raise ValueError(f"expected a uint8 luma plane, got {pixels.dtype} {pixels.shape}")
    return pixels


def pdq_luma(gray: np.ndarray) -> tuple[str, int]:
    """PDQ hex and quality of a luma plane."""
    hexes, quality = (_fast if NATIVE else _wrapper)(_check(gray), False)
    return hexes[0], quality


def pdq_luma_dihedral(gray: np.ndarray) -> tuple[str, int, list[str]]:
    """PDQ hex and quality of a luma plane and its 8 dihedral variants (the original first, in
    pdqhash's order: original, rot90, rot180, rot270, flip_x, flip_y, flip_plus1, flip_minus1)."""
    hexes, quality = (_fast if NATIVE else _wrapper)(_check(gray), True)
    return hexes[0], quality, hexes


def pdq_rgb(rgb: np.ndarray, dihedral: bool = False) -> tuple[str, int, list[str]]:
    """`pdq_luma_dihedral` of RGB (H, W, 3+) uint8 pixels (video frames, animation frames): pdqhash's
    luma weights are folded into the same products; the variants are [] unless dihedral."""
    hexes, quality = (_fast if NATIVE else _wrapper)(_check(rgb, rgb=True), dihedral)
    return hexes[0], quality, hexes if dihedral else []


def pdq_luma_native(gray: np.ndarray, dihedral: bool = False) -> tuple[list[str], int]:
    """pdqhash's whole-plane C++ (its box filters over every pixel): the reference the fast path is
    tested and benched against. The hashes (8 with dihedral) and the quality."""
    return (_native if _FUNCS is not None else _wrapper)(_check(gray), dihedral)


def phash_luma(gray: np.ndarray) -> str:
    """imagehash's pHash of a luma plane (it converts to "L" first, so gray in is what it hashes)."""
    return str(imagehash.phash(Image.fromarray(_check(gray), "L")))
