"""Memory bounds, measured as peak RSS of a fresh process: huge video frames are refused before the
first decode, huge WebP stills before any decode, and big PNGs decode reduced in bounded memory."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# What a child process that only imports numpy, OpenCV and Pillow already holds is ~50-70 MB.
# Peak RSS is the child's VmHWM: ru_maxrss would carry over the forking pytest process's own
# high-water mark across exec (Linux keeps it in the signal struct).
_MEASURE = """
import json, sys
sys.path.insert(0, {root!r})
from blurring.errors import MediaError
import blurring.decode as decode, blurring.video as video
calls = {{"probe_video": lambda p: video.probe_video(p), "verify_image": lambda p: decode.verify_image(p),
          "decode_reduced": lambda p: decode.decode_reduced(p, (1280, 1280))}}
try:
    calls[sys.argv[1]](sys.argv[2])
    reason = None
except MediaError as exc:
    reason = exc.reason
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"reason": reason, "peak_mb": int(hwm.split()[1]) // 1024}}))
"""

# Writes a file of zeros in a child, so the test process never holds the full-size array.
_WRITE_ZEROS = """
import sys, cv2, numpy as np
w, h, path, *params = sys.argv[1:]
ok, data = cv2.imencode(path[path.rindex("."):], np.zeros((int(h), int(w), 3), np.uint8), [int(p) for p in params])
open(path, "wb").write(data.tobytes())
"""


def measure(call: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE.format(root=str(ROOT)), call, str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def zeros_file(path: Path, width: int, height: int, *params: int) -> Path:
    subprocess.run([sys.executable, "-c", _WRITE_ZEROS, str(width), str(height), str(path), *map(str, params)],
                   check=True)
    return path


def mjpeg_avi(path: Path, jpeg: bytes, width: int, height: int, frames: int = 2, fps: int = 5) -> Path:
    """A minimal AVI (RIFF hdrl/movi/idx1) of MJPEG frames, as cameras and cv2.VideoWriter write."""
    def chunk(fourcc: bytes, data: bytes) -> bytes:
        return fourcc + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)

    def riff_list(kind: bytes, data: bytes) -> bytes:
        return chunk(b"LIST", kind + data)

    avih = struct.pack("<14I", 1_000_000 // fps, 0, 0, 0x10, frames, 0, 1, len(jpeg), width, height, 0, 0, 0, 0)
    strh = b"vidsMJPG" + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, frames, len(jpeg),
                                     0xFFFFFFFF, 0, 0, 0, width, height)
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    hdrl = riff_list(b"hdrl", chunk(b"avih", avih) + riff_list(b"strl", chunk(b"strh", strh) + chunk(b"strf", strf)))
    frame = chunk(b"00dc", jpeg)
    index = b"".join(b"00dc" + struct.pack("<III", 0x10, 4 + i * len(frame), len(jpeg)) for i in range(frames))
    body = b"AVI " + hdrl + riff_list(b"movi", frame * frames) + chunk(b"idx1", index)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def test_the_avi_writer_makes_a_video_opencv_reads(tmp_path):
    ok, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 200, np.uint8))
    from blurring.video import probe_video

    info = probe_video(mjpeg_avi(tmp_path / "small.avi", jpeg.tobytes(), 64, 48, frames=3))
    assert (info.width, info.height, info.frame_count) == (64, 48, 3)


def test_a_video_with_huge_frames_is_refused_before_decoding(tmp_path):
    jpeg = zeros_file(tmp_path / "frame.jpg", 8000, 8000).read_bytes()  # 64 MP, 1 MB of JPEG
    avi = mjpeg_avi(tmp_path / "huge.avi", jpeg, 8000, 8000)
    result = measure("probe_video", avi)
    assert result["reason"] == "video frames too large: 8000x8000 exceeds 36 MP"
    assert result["peak_mb"] < 150, result  # decoding one such frame took ~450 MB


def test_a_tiny_webp_of_huge_size_is_refused_before_decoding(tmp_path):
    webp = zeros_file(tmp_path / "huge.webp", 6000, 6000, cv2.IMWRITE_WEBP_QUALITY, 101)  # lossless
    assert webp.stat().st_size < 10_000  # 36 MP in a few KB: the bomb
    for call in ("verify_image", "decode_reduced"):
        result = measure(call, webp)
        assert result["reason"].startswith("image too large: 6000x6000 pixels exceeds the 25 MP limit for WEBP")
        assert result["peak_mb"] < 150, result  # Pillow's WebP decode took ~16 bytes a pixel: 600 MB


def test_a_big_png_decodes_reduced_in_bounded_memory(tmp_path):
    png = zeros_file(tmp_path / "big.png", 7000, 7000)  # 49 MP: under the 50 MP PNG limit
    result = measure("decode_reduced", png)
    assert result["reason"] is None
    assert result["peak_mb"] < 350, result  # full-size RGB copies before the resize took ~500 MB
