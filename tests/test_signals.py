"""Signal types on real photos: edits stay within threshold, unrelated photos do not, digests are exact."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import cv2
import numpy as np
import pdqhash
import pytest
from PIL import Image

from blurring.errors import MediaError
from moderator.signals import (
    DIHEDRAL_VARIANTS,
    MD5,
    PDQ,
    PHASH,
    SHA256,
    SIGNALS,
    UnknownSignalError,
    get_signal,
    hash_image_file,
    pdq_dihedral,
)
from tests.conftest import photo, write_image

NAMES = ("astronaut", "coffee", "chelsea", "rocket", "retina", "hubble_deep_field", "immunohistochemistry")


def gamma(rgb: np.ndarray, g: float) -> np.ndarray:
    return np.clip(255.0 * (rgb / 255.0) ** g, 0, 255).astype(np.uint8)


def watermark(rgb: np.ndarray) -> np.ndarray:
    """White account-name text in the bottom-right corner, as re-uploaders stamp it.

    (A solid bright box is a different matter: on dark photos such as rocket it moves PDQ 46-90 bits.)
    """
    out = rgb.copy()
    h, w = out.shape[:2]
    cv2.putText(out, "@user_123", (w - int(w * 0.3), h - 12), cv2.FONT_HERSHEY_SIMPLEX, w / 1200,
                (255, 255, 255), max(1, w // 400), cv2.LINE_AA)
    return out


EDITS = {
    "jpeg_q30": lambda rgb: (rgb, 30),
    "half_size": lambda rgb: (cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2),
                                         interpolation=cv2.INTER_AREA), 90),
    "gaussian_blur": lambda rgb: (cv2.GaussianBlur(rgb, (0, 0), 1.5), 90),
    "gamma_0.8": lambda rgb: (gamma(rgb, 0.8), 90),
    "watermark": lambda rgb: (watermark(rgb), 90),
}


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("originals")
    return {name: write_image(folder / f"{name}.jpg", photo(name), quality=95) for name in NAMES}


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_edited_copy_matches_its_original(tmp_path, originals, name, edit):
    rgb, quality = EDITS[edit](photo(name))
    edited = write_image(tmp_path / "edited.jpg", rgb, quality=quality)
    for signal in (PDQ, PHASH):
        a, b = signal.hash_file(originals[name]), signal.hash_file(edited)
        assert signal.distance(a.hex, b.hex) <= signal.default_threshold, (signal.name, edit)


def test_unrelated_photos_do_not_match(originals):
    hashes = {name: hash_image_file(path) for name, path in originals.items()}
    for a, b in itertools.combinations(NAMES, 2):
        for ha, hb in zip(hashes[a], hashes[b], strict=True):
            signal = get_signal(ha.signal_type)
            assert signal.distance(ha.hex, hb.hex) > signal.default_threshold, (a, b, signal.name)


def test_horizontal_flip_is_caught_through_dihedral_variants(tmp_path, originals):
    flipped = write_image(tmp_path / "flipped.jpg", photo("chelsea")[:, ::-1].copy())
    original = PDQ.hash_file(originals["chelsea"]).hex
    plain = PDQ.hash_file(flipped).hex
    assert PDQ.distance(original, plain) > PDQ.default_threshold
    rgb = np.asarray(Image.open(flipped).convert("RGB"))
    variants = pdq_dihedral(rgb)
    assert len(variants) == 8 and variants[0] == PDQ.hash_pixels(rgb).hex
    nearest = min(zip(DIHEDRAL_VARIANTS, variants, strict=True), key=lambda nv: PDQ.distance(original, nv[1]))
    assert nearest[0] == "flip_y"
    assert PDQ.distance(original, nearest[1]) <= PDQ.default_threshold


@pytest.mark.parametrize("name", ["coffee", "retina", "hubble_deep_field"])
def test_reduced_decode_stays_within_10_bits_of_full_resolution(tmp_path, name):
    """A 12 MP JPEG: our reduced-decode hash vs pdqhash.compute on every full-resolution pixel."""
    rng = np.random.default_rng(0)
    big = cv2.resize(photo(name), (4000, 3000), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    big = np.clip(big + rng.normal(0, 3, big.shape), 0, 255).astype(np.uint8)
    path = tmp_path / "12mp.jpg"
    Image.fromarray(big).save(path, quality=90)
    full = np.asarray(Image.open(path).convert("RGB"))
    assert PDQ.distance(PDQ.hash_file(path).hex, PDQ.hash_pixels(full).hex) <= 10


def test_pdq_hex_is_the_reference_bit_order():
    """Same hex as python-threatexchange: the bit vector read as one big-endian binary number."""
    rgb = photo("astronaut")
    bits, quality = pdqhash.compute(rgb)
    expected = f"{int(''.join(str(int(b)) for b in bits), 2):064x}"
    result = PDQ.hash_pixels(rgb)
    assert result.hex == expected and result.quality == quality and result.usable


def test_flat_image_has_no_usable_pdq():
    result = PDQ.hash_pixels(np.full((200, 300, 3), 128, np.uint8))
    assert result.quality is not None and result.quality < 50
    assert not result.usable


def test_file_digests_equal_hashlib(tmp_path, originals):
    data = originals["rocket"].read_bytes()
    assert MD5.hash_file(originals["rocket"]).hex == hashlib.md5(data).hexdigest()
    assert SHA256.hash_file(originals["rocket"]).hex == hashlib.sha256(data).hexdigest()
    assert MD5.hash_pixels(photo("rocket")) is None
    other = tmp_path / "copy.jpg"
    other.write_bytes(data + b"\0")
    assert SHA256.distance(SHA256.hash_file(other).hex, SHA256.hash_file(originals["rocket"]).hex) > 0


def test_pixel_signals_skip_videos_and_refuse_non_media(tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    assert PDQ.hash_file(video) is None and hash_image_file(video) == []
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    with pytest.raises(MediaError):
        PHASH.hash_file(text)


@pytest.mark.parametrize(
    ("signal", "value", "message"),
    [
        (PDQ, "abc", "pdq hash must be 64 hex chars, got 3"),
        (PDQ, "g" + "0" * 63, "pdq hash must be 64 hex chars, got 'g'"),
        (PHASH, "0" * 17, "phash hash must be 16 hex chars, got 17"),
        (MD5, "", "md5 hash must be 32 hex chars, got 0"),
        (SHA256, "0x" + "0" * 62, "got 'x'"),
    ],
)
def test_validate_rejects_bad_hex(signal, value, message):
    with pytest.raises(ValueError, match=message):
        signal.validate(value)


def test_validate_normalises_case_and_whitespace():
    assert PDQ.validate("  " + "AB" * 32 + "\n") == "ab" * 32
    assert PHASH.validate("C3E1B0986C3C7E1F") == "c3e1b0986c3c7e1f"


def test_registry():
    assert set(SIGNALS) == {"pdq", "phash", "md5", "sha256"}
    assert get_signal("PDQ") is PDQ
    assert (PDQ.bits, PDQ.default_threshold, PHASH.bits, MD5.default_threshold) == (256, 31, 64, 0)
    with pytest.raises(UnknownSignalError, match="unknown signal type 'tmk'.*known: md5, pdq, phash, sha256"):
        get_signal("tmk")


def test_distance_is_hamming():
    a, b = "0" * 64, "f" + "0" * 62 + "1"
    assert PDQ.distance(a, b) == PDQ.distance(b, a) == 5
    with pytest.raises(ValueError, match="differ in length"):
        PDQ.distance(a, "0" * 16)
