"""The desk's decisions alongside two `moderator import` runs on the same store: nobody sees
"database is locked", every decision is saved, both imports bring in every file."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from moderator.ingest import import_paths
from moderator.review import ReviewService
from storage.store import Store
from tests.conftest import PHOTOS, photo, write_image

ROOT = Path(__file__).resolve().parent.parent
MODERATOR = [sys.executable, "-m", "moderator"]  # the interpreter running the tests, wherever its venv is


def photos(folder: Path, count: int, offset: int) -> None:
    folder.mkdir()
    for n in range(count):
        rgb = photo(PHOTOS[n % len(PHOTOS)])
        k = offset + n
        write_image(folder / f"p{k:02}.jpg", rgb[k * 6: k * 6 + 320, k * 4: k * 4 + 320])


def test_decisions_and_two_imports_at_once_lose_nothing(tmp_path, policy):
    data = tmp_path / "store"
    photos(tmp_path / "first", 3, 0)
    photos(tmp_path / "a", 8, 10)
    photos(tmp_path / "b", 8, 30)
    store = Store(data)
    try:
        items = import_paths(store, [tmp_path / "first"], "tester", policy=policy).imported
        service = ReviewService(store=store, policy=policy, actor="moderator-1")
        label = policy.labels[0].name
        saved, errors, imports_done = [], [], threading.Event()

        def desk() -> None:  # a moderator deciding as fast as the keys go, as the desk does
            n = 0
            while not imports_done.is_set() or n < 20:
                try:
                    saved.append(service.decide(items[n % len(items)], label).decision.uuid)
                except Exception as exc:  # noqa: BLE001 - any refusal is the failure under test
                    errors.append(repr(exc))
                n += 1

        worker = threading.Thread(target=desk)
        worker.start()
        env = {**os.environ, "MODERATOR_ACTOR": "importer"}
        runs = [subprocess.Popen([*MODERATOR, "import", str(tmp_path / name), "--data-dir", str(data)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for name in ("a", "b")]
        outputs = [run.communicate(timeout=120) for run in runs]
        imports_done.set()
        worker.join(timeout=120)
    finally:
        store.close()

    assert errors == []
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and "imported 8, skipped 0" in out, err
        assert "locked" not in err
    with Store(data) as s:
        stored = {r[0] for r in s.db.execute("SELECT uuid FROM decisions")}
        files = s.db.execute("SELECT media_file(path) FROM media").fetchall()
        assert s.db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 19
    assert set(saved) <= stored and len(saved) >= 20
    assert len(files) == 19 and all(Path(f[0]).is_file() for f in files)
