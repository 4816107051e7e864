"""The fast hashing paths against the slow ones, on real photos: PDQ's blur and sampling as two small
matrix products (blurring.hashing) gives pdqhash's hashes, quality and dihedral variants on the same
pixels; the hashing decode (libjpeg-turbo at an M/8 scale, blurring.decode) gives Pillow's pixels
where both decode at the same scale, keeps every check and fallback, and stays within the drift bound
of full-resolution pdqhash."""

from __future__ import annotations

import ctypes
from pathlib import Path

import cv2
import numpy as np
import pdqhash
import pytest
from PIL import Image

from blurring import hashing
from blurring.decode import decode_gray_for_hash, decode_reduced_gray, open_image
from blurring.errors import MediaError
from moderator.signals import HASH_MAX_SIDE, PDQ, decode_for_hash, pdq_dihedral
from tests.conftest import PHOTOS, photo, write_image

# Real photos at their own sizes and at sizes and aspect ratios a report brings (portrait, panorama,
# a thin strip, the hashing size, the 64x64 PDQ samples themselves, pdqhash's smallest).
SIZES = [None, (640, 480), (1280, 960), (960, 1280), (1280, 720), (333, 517), (2000, 97), (64, 64), (5, 9)]


def resized(name: str, size: tuple[int, int] | None) -> np.ndarray:
    rgb = photo(name)
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if size else rgb)


def bits_hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def pdqhash_of(rgb: np.ndarray) -> tuple[list[str], int]:
    variants, quality = pdqhash.compute_dihedral(rgb)
    return [bits_hex(v) for v in variants], int(quality)


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("size", SIZES)
def test_fast_pdq_is_pdqhash_on_the_same_plane(name, size):
    """Luma plane: hash, quality and all 8 variants equal pdqhash's (measured: 0 bits differ in 224
    photo/size cases, quality equal in all, when this path was written)."""
    gray = cv2.cvtColor(resized(name, size), cv2.COLOR_RGB2GRAY)
    variants, quality = pdqhash_of(np.ascontiguousarray(np.dstack([gray] * 3)))
    assert hashing.pdq_luma(gray) == (variants[0], quality)
    assert hashing.pdq_luma_dihedral(gray) == (variants[0], quality, variants)
    assert hashing.pdq_luma_native(gray, True) == (variants, quality)


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("size", [None, (1280, 720), (333, 517)])
def test_fast_pdq_of_rgb_is_pdqhash_of_rgb(name, size):
    """RGB (video and animation frames): pdqhash's luma weights folded into the products."""
    rgb = resized(name, size)
    variants, quality = pdqhash_of(rgb)
    assert hashing.pdq_rgb(rgb) == (variants[0], quality, [])
    assert hashing.pdq_rgb(rgb, dihedral=True) == (variants[0], quality, variants)
    assert PDQ.hash_pixels(rgb).hex == variants[0] and pdq_dihedral(rgb) == variants
    rgba = np.ascontiguousarray(np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)]))
    assert hashing.pdq_rgb(rgba)[:2] == (variants[0], quality)


def _pdqhash_samples(gray: np.ndarray) -> np.ndarray:
    """pdqhash's own 64x64 blurred samples (its box passes over every pixel), from its library."""
    lib = ctypes.CDLL(pdqhash.bindings.__file__)
    fn = lib._ZN8facebook3pdq7hashing24pdqFloat256FromFloatLumaEPfS2_iiPA64_fS4_PA16_fRi
    full, scratch = gray.astype(np.float32), np.empty(gray.shape, np.float32)
    out, b16x64, b16 = np.empty((64, 64), np.float32), np.empty((16, 64), np.float32), np.empty((16, 16), np.float32)
    quality = ctypes.c_int()
    fn.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_int] * 2 + [ctypes.c_void_p] * 4
    fn(full.ctypes.data, scratch.ctypes.data, *gray.shape, out.ctypes.data, b16x64.ctypes.data,
       b16.ctypes.data, ctypes.byref(quality))
    return out


@pytest.mark.parametrize("size", [(1280, 960), (1500, 1125), (333, 517), (4000, 3000), (2000, 97)])
def test_the_products_are_pdqhash_box_filters(size):
    """The 64x64 samples themselves, edge windows included: within float32 rounding of pdqhash's
    running sums (a pixel is 0..255; measured at most ~4e-4)."""
    gray = cv2.cvtColor(resized("coffee", size), cv2.COLOR_RGB2GRAY)
    np.testing.assert_allclose(hashing.downsample64(gray), _pdqhash_samples(gray), rtol=0, atol=2e-3)


@pytest.mark.parametrize("shape", [(4, 4), (4, 300), (300, 3), (1, 1)])
def test_a_plane_too_small_to_hash_is_zeros_as_in_pdqhash(shape):
    gray = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    variants, quality = pdqhash_of(np.ascontiguousarray(np.dstack([gray] * 3)))
    assert hashing.pdq_luma_dihedral(gray) == (variants[0], quality, variants) and quality == 0


def test_bad_pixels_are_one_clear_error():
    with pytest.raises(ValueError, match="uint8 luma plane"):
        hashing.pdq_luma(np.zeros((64, 64), np.float32))
    with pytest.raises(ValueError, match="uint8 RGB"):
        hashing.pdq_rgb(np.zeros((64, 64), np.uint8))


# -- the hashing decode -------------------------------------------------------------------------------
def big_jpeg(folder: Path, name: str, size: tuple[int, int], seed: int = 0, quality: int = 90) -> Path:
    """A photo upscaled to `size` with mild sensor-like noise, JPEG."""
    rgb = cv2.resize(photo(name), size, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    rgb += np.random.default_rng(seed).normal(0, 3, rgb.shape)
    return write_image(folder / f"{name}-{size[0]}x{size[1]}.jpg", np.clip(rgb, 0, 255).astype(np.uint8), quality)


def test_at_pillows_scale_the_pixels_are_pillows(tmp_path):
    """Where Pillow's 1/2^k draft and the M/8 decoder land on the same scale, the luma is identical:
    the same libjpeg-turbo IDCT, only reached another way."""
    path = big_jpeg(tmp_path, "astronaut", (2400, 1800))
    for side in (1200, 600, 300):  # 1/2, 1/4, 1/8
        assert np.array_equal(decode_gray_for_hash(path, (side, side)), decode_reduced_gray(path, (side, side)))


def test_between_pillows_scales_the_plane_is_the_full_decode_at_three_eighths(tmp_path):
    """At 1280 a 4000x3000 photo decodes at 3/8 (1500x1125), not 1/2, and is hashed as decoded: its
    pixels are those of the full-size decode shrunk to 1500x1125 with a box filter, within JPEG
    rounding (PSNR > 40 dB)."""
    path = big_jpeg(tmp_path, "coffee", (4000, 3000))
    fast = decode_gray_for_hash(path, (HASH_MAX_SIDE, HASH_MAX_SIDE))
    with Image.open(path) as im:
        full = np.asarray(im.convert("L"))
    reference = cv2.resize(full, (1500, 1125), interpolation=cv2.INTER_AREA)
    assert fast.shape == reference.shape == (1125, 1500)
    mse = float(np.mean((fast.astype(np.float64) - reference) ** 2))
    assert 10 * np.log10(255**2 / mse) > 40


@pytest.mark.parametrize(("size", "shape"), [((1000, 750), (750, 1000)), ((1280, 960), (960, 1280)),
                                             ((4000, 3000), (1125, 1500)), ((1920, 1080), (810, 1440)),
                                             ((3024, 4032), (1512, 1134)), ((8000, 6000), (1500, 2000))])
def test_the_plane_is_the_smallest_eighths_scale_covering_the_working_size(tmp_path, size, shape):
    """The rule (moderator/signals.py, HASH_MAX_SIDE): the smallest M/8 scale whose plane covers the
    fit inside 1280, at most 8/8 (a file within 1280 is hashed at full size), so under twice the
    working size on each side."""
    rgb = cv2.resize(photo("rocket"), size, interpolation=cv2.INTER_AREA)
    path = write_image(tmp_path / "p.jpg", rgb, 90)
    plane = decode_gray_for_hash(path, (HASH_MAX_SIDE, HASH_MAX_SIDE))
    assert plane.shape == shape
    assert max(plane.shape) < 2 * HASH_MAX_SIDE


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied_as_the_preview_decode_does(tmp_path, orientation):
    stored = cv2.resize(photo("chelsea"), (1600, 1200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "turned.jpg"
    Image.fromarray(stored).save(path, quality=92, exif=exif)
    fast, slow = decode_gray_for_hash(path, (800, 800)), decode_reduced_gray(path, (800, 800))
    assert fast.shape == slow.shape and np.array_equal(fast, slow)


def test_other_files_take_pillows_path_unchanged(tmp_path):
    """PNG, CMYK JPEG and a grayscale JPEG: the same pixels as the Pillow decode (the first two are
    not the M/8 decoder's to take; the last is, at Pillow's scale)."""
    png = write_image(tmp_path / "a.png", photo("rocket"))
    cmyk = tmp_path / "cmyk.jpg"
    Image.fromarray(photo("rocket")).convert("CMYK").save(cmyk, quality=90)
    gray = tmp_path / "gray.jpg"
    Image.fromarray(photo("astronaut")).convert("L").save(gray, quality=90)  # 512x512: 1/2 either way
    for path, size in ((png, (200, 200)), (cmyk, (200, 200)), (gray, (256, 256))):
        assert np.array_equal(decode_gray_for_hash(path, size), decode_reduced_gray(path, size)), path


def test_a_truncated_jpeg_is_refused_as_before(tmp_path):
    path = big_jpeg(tmp_path, "coffee", (1600, 1200))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MediaError) as slow:
        decode_reduced_gray(cut, (1280, 1280))
    with pytest.raises(MediaError) as fast:
        decode_gray_for_hash(cut, (1280, 1280))
    assert str(fast.value) == str(slow.value) == "truncated or corrupt image"
    with pytest.raises(MediaError), open_image(cut) as im:
        list(im.gray_frames_for_hash((1280, 1280)))


def test_over_the_pixel_limit_nothing_is_decoded(tmp_path):
    path = big_jpeg(tmp_path, "coffee", (1600, 1200))
    with pytest.raises(MediaError, match="image too large"):
        decode_gray_for_hash(path, (1280, 1280), max_pixels=1_000_000)


def test_import_and_the_cli_hash_the_same_pixels(tmp_path):
    """Import (one open, gray_frames_for_hash) and `moderator hash` (decode_for_hash) see one plane."""
    path = big_jpeg(tmp_path, "retina", (3000, 2000))
    with open_image(path) as im:
        (index, time_s, gray), = list(im.gray_frames_for_hash((HASH_MAX_SIDE, HASH_MAX_SIDE)))
    assert (index, time_s) == (0, 0.0) and np.array_equal(gray, decode_for_hash(path))


# Each photo at one of the sizes a phone or camera gives (landscape, portrait, 16:9, 3:2, square).
CASES = list(zip(PHOTOS, ((4000, 3000), (3024, 4032), (4000, 2250), (5472, 3648), (3000, 3000)), strict=True))


def test_drift_against_full_resolution_pdqhash_is_bounded(tmp_path):
    """The whole hashing path (M/8 decode, fast PDQ) vs pdqhash on every pixel of the full-size RGB
    decode: <= 10 bits in every case (the design bound)."""
    drifts = {}
    for k, (name, size) in enumerate(CASES):
        path = big_jpeg(tmp_path, name, size, seed=k)
        with Image.open(path) as im:
            reference = bits_hex(pdqhash.compute(np.asarray(im.convert("RGB")))[0])
        drifts[name, size] = PDQ.distance(reference, PDQ.hash_file(path).hex)
    assert max(drifts.values()) <= 10, drifts


def test_the_case_shrinking_drifted_on_is_within_the_bound(tmp_path):
    """coffee at 1920x1080, q85 with the sweep's noise (bench/bench_hashing.py, case 64): shrinking the
    6/8 plane (1440x810) to 1280x720 drifted 12 bits from full-resolution pdqhash; hashed as decoded,
    it is within 10."""
    from bench.bench_hashing import full_pdq, make_photo, shrunk

    path = make_photo(tmp_path / "coffee.jpg", "coffee", (1920, 1080), seed=164, quality=85)
    reference = full_pdq(path)
    assert PDQ.distance(reference, PDQ.hash_file(path).hex) <= 10
    assert PDQ.distance(reference, hashing.pdq_luma(shrunk(path, HASH_MAX_SIDE))[0]) > 10
