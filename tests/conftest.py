"""Shared fixtures: Qt offscreen, a real store in tmp_path, real photos and real bad files."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import gc
import shutil
import struct
import sys
import threading
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from moderator.policy import load_policy
from moderator.review import ReviewService
from storage.store import Store
from tests.hub_fixtures import hub, hub_factory, pg_server  # noqa: F401 (hub tests: a real hub process)

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


@pytest.fixture(autouse=True)
def _no_leaked_workers(request):
    """After a test (its windows closed by pytest-qt, its stores closed), no op is still queued or
    running on a TaskRunner, every runner of a window is shut down, and no video decoder is open."""
    tasks = sys.modules.get("ui.tasks")
    before = weakref.WeakSet(tasks.live_runners() if tasks else ())
    decoders_before = weakref.WeakSet(_open_decoders(request))
    yield
    tasks = sys.modules.get("ui.tasks")
    if tasks is None:
        return
    try:
        new = [r for r in tasks.live_runners() if r not in before]
        open_windows = [r for r in new if not r.closed and r.parent() is not None]
        assert not open_windows, f"{len(open_windows)} window(s) left open: their runner was never shut down"
        pending = [r for r in new if r.busy or (r.closed and r.active_threads)]
        assert not pending, f"{len(pending)} task runner(s) still have ops queued or running after the test"
        leaked = [d for d in _open_decoders(request) if d not in decoders_before]
        assert not leaked, f"{len(leaked)} video decoder(s) left open"
    finally:
        if "qtbot" in request.fixturenames:
            from PySide6.QtCore import QCoreApplication, QEvent

            # Delete the windows pytest-qt closed (deleteLater) now, on this thread: a closed window
            # left to the garbage collector may be destroyed on a worker thread, and its timers and
            # application-wide event filters would run on through the tests that follow.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _open_decoders(request) -> list:
    if "qtbot" not in request.fixturenames or "blurring.video" not in sys.modules:
        return []  # a decoder is opened by the desk's video player, or by tests that close theirs
    from tests.desk_helpers import open_decoders

    return open_decoders()


@pytest.fixture(scope="session", autouse=True)
def _drain_workers_before_exit():
    """Every pool thread is idle before the interpreter exits (see ui.tasks.drain_all)."""
    yield
    tasks = sys.modules.get("ui.tasks")
    if tasks is not None:
        assert tasks.drain_all(), "a task runner still had ops running at the end of the session"
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # closed windows, now
        gc.collect()


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


def write_good_folder(folder: Path) -> Path:
    folder.mkdir()
    write_image(folder / "astronaut.jpg", photo("astronaut"))
    write_image(folder / "coffee.png", photo("coffee"))
    write_image(folder / "chelsea.webp", photo("chelsea"))
    sub = folder / "nested"
    sub.mkdir()
    write_image(sub / "rocket.jpg", photo("rocket"))
    return folder


@pytest.fixture
def good_folder(tmp_path) -> Path:
    return write_good_folder(tmp_path / "good")


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


class StoreTemplates:
    """Stores built once per session and copied for each test that wants one.

    Writing and importing the photos is most of a desk test's setup. A closed store's folder is
    safe to copy: closing checkpoints the WAL into the database file (see Store.close).
    """

    def __init__(self, root: Path):
        self._root = root
        self._built: set[str] = set()

    def copy(self, name: str, build: Callable[[Store, Path], object], dest: Path) -> Store:
        """A fresh store in `dest`, a copy of template `name`; build(store, work_dir) makes it once."""
        template = self._root / name
        if name not in self._built:
            work = self._root / f"{name}-input"
            work.mkdir()
            with Store(template) as s:
                build(s, work)
            self._built.add(name)
        shutil.copytree(template, dest)
        return Store(dest)


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory) -> StoreTemplates:
    return StoreTemplates(tmp_path_factory.mktemp("store-templates"))


def import_good_folder(store: Store, work: Path) -> None:
    from moderator.ingest import import_paths

    report = import_paths(store, [write_good_folder(work / "good")], "tester")
    assert len(report.imported) == 4 and not report.skipped, report


@pytest.fixture
def good_store(store_templates, tmp_path):
    """A store holding the good_folder photos, imported by "tester" (a copy of a session template)."""
    s = store_templates.copy("good", import_good_folder, tmp_path / "good-data")
    yield s
    s.close()


@pytest.fixture
def service(store, policy):
    return ReviewService(store=store, policy=policy, actor="tester")
