"""blurring.sniff and blurring.decode on real photos (skimage.data) and real bad files."""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps
from skimage import data

from blurring.decode import decode_reduced, decode_reduced_gray, probe_image, verify_image
from blurring.errors import MediaError
from blurring.preview import media_kind, render_preview
from blurring.sniff import SNIFF_BYTES, looks_like_text, sniff
from moderator.domain import FilterSpec, MediaKind

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "retina"]
IMAGE_FORMATS = {  # Pillow format -> (save options, mime)
    "JPEG": ({"quality": 90}, "image/jpeg"),
    "PNG": ({}, "image/png"),
    "WEBP": ({"quality": 80}, "image/webp"),
    "GIF": ({}, "image/gif"),
    "BMP": ({}, "image/bmp"),
    "TIFF": ({}, "image/tiff"),
}
VIDEO_CONTAINERS = {  # extension OpenCV picks the muxer from -> (fourcc, sniffed mime)
    "mp4": ("mp4v", "video/mp4"),
    "mov": ("mp4v", "video/quicktime"),
    "m4v": ("mp4v", "video/x-m4v"),
    "avi": ("MJPG", "video/x-msvideo"),
    "mkv": ("MJPG", "video/x-matroska"),
}
TOO_LARGE = "image too large: 50000x50000 pixels exceeds the 100 MP limit"


def photo(name: str) -> np.ndarray:
    rgb = getattr(data, name)()
    return rgb if rgb.ndim == 3 else cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)


def png_of_zeros(path: Path, width: int, height: int) -> Path:
    """A valid 1-bit PNG of width x height black pixels whose IDAT is a few hundred KB.

    Deflate restarts after a full flush, so one compressed block of zero rows is repeated; the
    Adler-32 of n zero bytes is simply (n mod 65521) << 16 | 1.
    """
    row = (width + 7) // 8 + 1  # filter byte + packed bits
    rows_per_block = min(height, 1000)
    compressor = zlib.compressobj(9)
    block = bytes(row * rows_per_block)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks, rest = divmod(height, rows_per_block)
    assert rest == 0, "keep the test sizes multiples of 1000 rows"
    total = row * height
    idat = first + again * (blocks - 1) + b"\x03\x00" + struct.pack(">I", (total % 65521) << 16 | 1)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )
    return path


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


def write_video(path: Path, fourcc: str, frames: int = 6) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (160, 96))
    assert writer.isOpened(), f"OpenCV cannot write {path.suffix} with {fourcc}"
    base = cv2.resize(photo("astronaut"), (160, 96))
    for i in range(frames):
        writer.write(np.roll(base, 8 * i, axis=1)[..., ::-1].copy())
    writer.release()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and bad files, made once: every name says what it is, no extension tells the truth."""
    d = tmp_path_factory.mktemp("media")
    out: dict[str, Path] = {}
    big = cv2.resize(photo("astronaut"), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    out["12mp"] = d / "12mp.jpg"
    Image.fromarray(big).save(out["12mp"], quality=90)
    jpeg = d / "astronaut.jpg"
    Image.fromarray(photo("astronaut")).save(jpeg, quality=90)
    out["truncated"] = d / "truncated.jpg"
    out["truncated"].write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size // 2])
    out["text"] = d / "x.jpg"
    out["text"].write_text("name,label\nphoto1.jpg,spam\n")
    out["empty"] = d / "empty.png"
    out["empty"].write_bytes(b"")
    out["bomb"] = png_of_zeros(d / "bomb.png", 50000, 50000)
    out["video_as_jpg"] = write_video(d / "clip.mp4", "mp4v").rename(d / "clip.jpg")
    out["missing"] = d / "never-written.jpg"
    return out


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("fmt", list(IMAGE_FORMATS))
def test_images_are_sniffed_from_bytes_not_names(tmp_path: Path, fmt: str, name: str) -> None:
    options, mime = IMAGE_FORMATS[fmt]
    path = tmp_path / "upload.mp4"  # a lying extension
    Image.fromarray(photo(name)).save(path, format=fmt, **options)
    assert sniff(path.read_bytes()[:SNIFF_BYTES]) == (MediaKind.IMAGE, mime)
    assert media_kind(path) == (MediaKind.IMAGE, mime)
    info = verify_image(path)
    assert (info.width, info.height, info.mime) == (photo(name).shape[1], photo(name).shape[0], mime)


@pytest.mark.parametrize("ext", list(VIDEO_CONTAINERS))
def test_videos_are_sniffed_from_bytes_not_names(tmp_path: Path, ext: str) -> None:
    fourcc, mime = VIDEO_CONTAINERS[ext]
    path = write_video(tmp_path / f"clip.{ext}", fourcc).rename(tmp_path / "clip.png")
    assert media_kind(path) == (MediaKind.VIDEO, mime)


@pytest.mark.parametrize(
    "head, expected",
    [
        (
            b"\x1a\x45\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\x82\x84webmB\x87",
            (MediaKind.VIDEO, "video/webm"),
        ),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", (MediaKind.VIDEO, "video/mp4")),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", None),  # HEIF still image: not a video
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1", None),
        (b"RIFF\x24\x08\x00\x00WAVEfmt ", None),  # audio
        (b"BM is for Bookmarks, a plain text file", None),  # "BM" alone is not a bitmap
        (b"<html><body>not an image</body></html>", None),
        (b"\xff\xd8", None),  # too short to be sure
        (b"", None),
    ],
)
def test_sniff_heads(head: bytes, expected: tuple[MediaKind, str] | None) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head, text",
    [(b"hello, world\n", True), ("caf\u00e9 \u2013 ok".encode(), True), (b"\x89PNG\r\n\x1a\n", False)],
)
def test_looks_like_text(head: bytes, text: bool) -> None:
    assert looks_like_text(head) is text


def _decode_1080(path: Path) -> object:
    return decode_reduced(path, (1920, 1080))


def _preview(path: Path) -> object:
    return render_preview(path, FilterSpec())


CHECKS = {
    "media_kind": media_kind,
    "probe_image": probe_image,
    "verify_image": verify_image,
    "decode_reduced": _decode_1080,
    "render_preview": _preview,
}
BAD_FILES = [  # (file, the checks that must refuse it, reason); the others judge other things
    ("text", CHECKS.keys() - {"decode_reduced"}, "not an image or video (bytes look like text)"),
    ("empty", CHECKS.keys() - {"decode_reduced"}, "empty file"),
    ("truncated", {"verify_image", "decode_reduced", "render_preview"}, "truncated or corrupt image"),
    ("bomb", CHECKS.keys() - {"media_kind"}, TOO_LARGE),
    ("video_as_jpg", {"probe_image", "verify_image"}, "not an image (video/mp4)"),
    ("missing", CHECKS.keys(), "file not found"),
]


@pytest.mark.parametrize(
    "bad, check, reason",
    [(bad, check, reason) for bad, checks, reason in BAD_FILES for check in sorted(checks)],
)
def test_bad_files_raise_media_error_with_reason(files, bad, check, reason) -> None:
    with pytest.raises(MediaError) as caught:
        CHECKS[check](files[bad])
    assert caught.value.reason == reason
    assert str(caught.value) == reason


@pytest.mark.parametrize("bad", ["text", "empty"])
def test_decode_reduced_refuses_non_images_too(files, bad) -> None:
    with pytest.raises(MediaError, match="not a decodable image"):
        decode_reduced(files[bad], (256, 256))


def test_truncated_jpeg_header_still_probes(files) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # nobody may relax this process-wide
    assert probe_image(files["truncated"]).width == 512


def test_file_size_limit(files, tmp_path) -> None:
    path = tmp_path / "padded.jpg"
    head = files["12mp"].read_bytes()[:4096]
    path.write_bytes(head + bytes(1_234_567 - len(head)))
    with pytest.raises(MediaError) as caught:
        media_kind(path, max_bytes=500_000)
    assert caught.value.reason == "file too large: 1.3 MB exceeds 0.5 MB"  # rounded up, never down
    assert media_kind(path, max_bytes=1_234_567) == (MediaKind.IMAGE, "image/jpeg")


@pytest.mark.parametrize(
    "width, height, max_pixels",
    [(10000, 9000, 100_000_000), (15000, 10000, 200_000_000), (20000, 10000, 300_000_000)],
)
def test_pillow_bomb_guard_never_leaks(tmp_path, width, height, max_pixels) -> None:
    """Between Pillow's warning (89 MP) and error (179 MP) and beyond: only our limit speaks."""
    path = png_of_zeros(tmp_path / "big.png", width, height)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = probe_image(path, max_pixels=max_pixels)
    assert (info.width, info.height) == (width, height)
    with pytest.raises(MediaError, match=f"exceeds the {max_pixels // 2_000_000} MP limit"):
        probe_image(path, max_pixels=max_pixels // 2)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation) -> None:
    stored = cv2.resize(photo("chelsea"), (300, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    info = probe_image(path)
    assert (info.height, info.width) == shown.shape[:2]
    decoded = decode_reduced(path, (1000, 1000))
    assert decoded.shape == shown.shape
    assert np.abs(decoded.astype(int) - shown).mean() < 2
    assert decode_reduced(path, (100, 100)).shape[:2] == ((100, 67) if orientation > 4 else (67, 100))


@pytest.mark.parametrize(
    "max_size, shape",
    [((1920, 1080), (1080, 1440, 3)), ((512, 512), (384, 512, 3)), ((1000, 2000), (750, 1000, 3))],
)
def test_decode_reduced_fits_inside_max_size(files, max_size, shape) -> None:
    rgb = decode_reduced(files["12mp"], max_size)
    assert rgb.shape == shape and rgb.dtype == np.uint8 and rgb.flags.c_contiguous


def test_decode_reduced_never_upscales(tmp_path) -> None:
    path = tmp_path / "small.png"
    Image.fromarray(photo("coffee")).save(path)
    rgb = decode_reduced(path, (4000, 4000))
    assert np.array_equal(rgb, photo("coffee"))
    assert rgb.flags.writeable and rgb.flags.c_contiguous  # a caller's array, not Pillow's buffer


def test_decode_reduced_looks_like_a_full_decode(files) -> None:
    with Image.open(files["12mp"]) as im:
        reference = np.asarray(im.convert("RGB").resize((1440, 1080), Image.LANCZOS), dtype=np.float64)
    reduced = decode_reduced(files["12mp"], (1920, 1080))
    psnr = 10 * np.log10(255**2 / np.mean((reduced - reference) ** 2))
    assert psnr > 38


def test_gray_decode_is_the_luma_of_the_rgb_decode(files) -> None:
    rgb = decode_reduced(files["12mp"], (1920, 1080))
    gray = decode_reduced_gray(files["12mp"], (1920, 1080))
    assert gray.shape == rgb.shape[:2]
    assert np.abs(gray.astype(int) - cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)).mean() < 1.5


@pytest.mark.parametrize("mode", ["RGBA", "LA", "I;16", "L", "P", "CMYK"])
def test_unusual_modes_decode_to_rgb(tmp_path, mode) -> None:
    path = tmp_path / ("x.tiff" if mode == "CMYK" else "x.png")
    im = Image.fromarray(photo("rocket"))
    if mode == "I;16":
        im = Image.fromarray(np.asarray(im.convert("L"), np.uint16) * 257)
    elif mode in ("RGBA", "LA"):
        im = im.convert(mode)
        im.putalpha(0)  # fully transparent: flattened onto mid-gray, not black or white
    else:
        im = im.convert(mode)
    im.save(path)
    rgb = decode_reduced(path, (640, 640))
    assert rgb.shape == (427, 640, 3)
    if mode in ("RGBA", "LA"):
        assert np.all(rgb == 128)


def test_media_error_keeps_its_reason_through_pickle() -> None:
    copy = pickle.loads(pickle.dumps(MediaError("empty file")))
    assert isinstance(copy, MediaError) and copy.reason == "empty file"


def test_blurring_never_imports_qt() -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "import blurring.decode, blurring.errors, blurring.filters, blurring.preview, "
        "blurring.sniff, blurring.video\n"
        "assert not any(m.startswith('PySide6') and sys.modules[m] for m in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, timeout=60)
