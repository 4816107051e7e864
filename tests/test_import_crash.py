"""A media row and its cached file exist together or not at all: after a refused row, after kill -9 of
a real `moderator import` at several points, and after the sweep a writable store runs when it opens.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from moderator.cli import main
from storage.media_cache import GRACE_SECONDS, MediaCache
from storage.store import Store
from tests.conftest import PHOTOS, photo, write_image

ROOT = Path(__file__).resolve().parent.parent
MODERATOR = [sys.executable, "-m", "moderator"]  # the interpreter running the tests, wherever its venv is


def distinct_photos(folder: Path, count: int) -> list[Path]:
    """`count` real photos with different bytes: crops of the skimage photos at shifting offsets."""
    folder.mkdir()
    out = []
    for n in range(count):
        rgb = photo(PHOTOS[n % len(PHOTOS)])
        crop = rgb[n * 7: n * 7 + 384, n * 5: n * 5 + 384]
        out.append(write_image(folder / f"p{n:02}.{'png' if n % 3 == 0 else 'jpg'}", crop))
    return out


def assert_row_and_file_together(data: Path) -> int:
    """Every committed media row has its file (with those bytes) and an item, every cached file has its
    row, and nothing staged is left; returns the number of items."""
    media = data / "media"
    with Store(data) as s:  # opening a writable store sweeps
        rows = {r[0]: r[1] for r in s.db.execute("SELECT sha256, media_file(path) FROM media")}
        items = s.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        unreported = s.db.execute("SELECT COUNT(*) FROM media WHERE sha256 NOT IN (SELECT sha256 FROM items)")
        assert unreported.fetchone()[0] == 0, "a media row no item refers to"
    leftovers = sorted(p.name for p in media.iterdir() if p.name.startswith("."))
    assert leftovers == []
    cached = {p.name.split(".")[0]: p for p in media.glob("??/*")}
    assert set(cached) == set(rows), "a cached file without a row, or a row without its file"
    for sha, path in rows.items():
        assert Path(path) == cached[sha]
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha
    assert items >= len(rows)  # many items (reports) may share one media row
    return items


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_refused_rows_leave_no_file(tmp_path, capsys):
    """A duplicate external_id used to leave its copy in the cache, an orphan no row refers to."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "a.jpg", photo("astronaut"))
    write_image(folder / "b.jpg", photo("coffee"))
    write_image(folder / "c.jpg", photo("rocket"))
    (folder / "bad.jpg").write_bytes((folder / "c.jpg").read_bytes()[:5000])  # copied, then fails to decode
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in [
        {"path": "in/a.jpg", "external_id": "r-1"},
        {"path": "in/b.jpg", "external_id": "r-1"},  # refused: external_id already imported
        {"path": "in/a.jpg", "external_id": "r-2"},  # a second report of the same content: shares it
        {"path": "in/a.jpg"},  # refused: same content and no report id of its own
        {"path": "in/bad.jpg"},
    ]))
    data = tmp_path / "store"
    assert main(["import", str(tmp_path / "m.jsonl"), "--data-dir", str(data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["imported"]) == 2 and len(report["skipped"]) == 3
    assert len(list((data / "media").glob("??/*"))) == 1
    assert assert_row_and_file_together(data) == 2


def test_sweep_finishes_or_removes_what_a_dead_import_left(tmp_path):
    """Each state a killed import can leave, made with the real cache and store, then a reopen."""
    data = tmp_path / "store"
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("astronaut", "coffee"):
        write_image(folder / f"{name}.jpg", photo(name))
    assert main(["import", str(folder), "--data-dir", str(data)]) == 0
    media, pid = data / "media", dead_pid()
    with Store(data) as s:
        (sha, final), _ = s.db.execute("SELECT sha256, media_file(path) FROM media").fetchall()
    # committed, then killed before the rename: the row exists, its file is still staged
    staged_committed = media / f".staged-{pid}-0000abcd-{sha}.jpg"
    os.replace(final, staged_committed)
    # copied and staged, killed before the commit; and killed half-way through the copy
    cache = MediaCache(media)
    with open(folder / "coffee.jpg", "rb") as f:
        orphan = cache.stage(f, "image/jpeg")
    os.replace(orphan.path, media / f".staged-{pid}-0000beef-{'0' * 64}.jpg")
    (media / f".partial-{pid}-0000cafe").write_bytes(b"\xff\xd8half a copy")
    # a live importer's files (this process) are never touched
    with open(folder / "coffee.jpg", "rb") as f:
        in_flight = cache.stage(f, "image/jpeg")
    (media / f".partial-{os.getpid()}-0000f00d").write_bytes(b"being copied")
    # unreferenced cache files: old ones (an older version's orphans) go, recent ones stay
    old = media / "ab" / f"ab{'1' * 62}.jpg"
    recent = media / "ab" / f"ab{'2' * 62}.jpg"
    legacy = media / ".incoming-x1y2z3"
    for p in (old, recent, legacy):
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"orphan")
    long_ago = time.time() - GRACE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(legacy, (long_ago, long_ago))

    with Store(data):
        pass
    assert Path(final).exists() and hashlib.sha256(Path(final).read_bytes()).hexdigest() == sha
    assert sorted(p.name for p in media.iterdir() if p.name.startswith(".")) == sorted(
        [in_flight.path.name, f".partial-{os.getpid()}-0000f00d"])
    assert not old.exists() and recent.exists()
    cache.discard(in_flight)
    (media / f".partial-{os.getpid()}-0000f00d").unlink()
    recent.unlink()
    assert assert_row_and_file_together(data) == 2


@pytest.mark.parametrize("kill_after", [[1, 4, 8]])
def test_kill_9_of_a_real_import_leaves_rows_and_files_together(tmp_path, kill_after):
    """SIGKILL a real `moderator import` after its Nth file (it prints N/TOTAL as it goes), several
    times on one store; after each the store holds no orphan and no row without its file, and a last
    uninterrupted run imports every remaining file exactly once."""
    files = distinct_photos(tmp_path / "in", 12)
    data = tmp_path / "store"
    argv = [*MODERATOR, "import", str(tmp_path / "in"), "--data-dir", str(data), "--progress"]
    env = {**os.environ, "MODERATOR_ACTOR": "crash-test"}
    for n in kill_after:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        for line in proc.stderr:
            if line.startswith(f"{n}/"):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, f"the import finished before file {n}"
        assert assert_row_and_file_together(data) >= 1
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert done.returncode in (0, 1), done.stderr
    assert assert_row_and_file_together(data) == len(files)

