"""Shared fixtures: Qt offscreen, a real store in tmp_path, real photos and real bad files."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import struct
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from moderator.policy import load_policy
from moderator.review import ReviewService
from storage.store import Store

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "retina")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    """No test reads the developer's own keymap or data dir."""
    monkeypatch.setenv("MODERATOR_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("MODERATOR_DATA_DIR", str(tmp_path_factory.mktemp("default-data")))
    monkeypatch.setenv("MODERATOR_ACTOR", "tester")


@pytest.fixture(autouse=True)
def _no_leaked_store_threads():
    """Every Store a test opens is closed again: a leaked writer thread keeps a write connection."""
    before = {t.ident for t in threading.enumerate() if t.name == "store-writer"}
    yield
    leaked = [t for t in threading.enumerate() if t.name == "store-writer" and t.ident not in before]
    assert not leaked, f"{len(leaked)} store writer thread(s) left running"


def photo(name: str) -> np.ndarray:
    from skimage import data

    arr = getattr(data, name)()
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3])


def write_image(path: Path, rgb: np.ndarray, quality: int = 90) -> Path:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if path.suffix in (".jpg", ".jpeg") else []
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    return path


def png_bomb(path: Path, side: int = 50_000) -> Path:
    """A real PNG declaring side×side pixels whose few compressed bytes would expand to gigabytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + b"\x00" * side  # filter byte + one gray row
    comp = zlib.compressobj(9)
    idat = comp.compress(row * 64) + comp.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def good_folder(tmp_path) -> Path:
    folder = tmp_path / "good"
    folder.mkdir()
    write_image(folder / "astronaut.jpg", photo("astronaut"))
    write_image(folder / "coffee.png", photo("coffee"))
    write_image(folder / "chelsea.webp", photo("chelsea"))
    sub = folder / "nested"
    sub.mkdir()
    write_image(sub / "rocket.jpg", photo("rocket"))
    return folder


@pytest.fixture
def mixed_folder(good_folder) -> Path:
    """Good images plus every kind of bad file the issue names."""
    whole = (good_folder / "astronaut.jpg").read_bytes()
    (good_folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (good_folder / "notes.jpg").write_text("this is a text file, not a photo\n" * 20)
    (good_folder / "empty.png").write_bytes(b"")
    png_bomb(good_folder / "bomb.png")
    return good_folder


@pytest.fixture
def policy():
    return load_policy()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def service(store, policy):
    return ReviewService(store=store, policy=policy, actor="tester")
