"""Driving the grid in tests: a store of colourful photos (two near-duplicate pairs, a video, a
suspected-CSAM item), opening the grid with G, and the pixels each tile paints."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt

from moderator.ingest import import_paths
from tests.conftest import photo, write_image
from tests.desk_helpers import qimage_rgb
from tests.test_painted_pixels import VIDEO_SIZE, scene, write_video

# source name -> (photo, manifest fields)
STILLS = {
    "astronaut.jpg": ("astronaut", {"category": "gore", "sla_minutes": 20}),
    "astronaut-small.jpg": ("astronaut", {}),  # the same photo at 60 %: a near-duplicate
    "coffee.png": ("coffee", {"sla_minutes": 600}),
    "coffee-again.jpg": ("coffee", {}),  # the same photo re-compressed: a near-duplicate
    "chelsea.jpg": ("chelsea", {"category": "sexual"}),
    "rocket.jpg": ("rocket", {"priority": -1}),
}
CSAM = "locked.jpg"  # the astronaut again, reported as suspected CSAM
VIDEO = "clip.mp4"


def write_clip(path: Path) -> Path:
    return write_video(path, [scene(n) for n in ("astronaut", "coffee", "chelsea")], frames_per_scene=10)


def build_grid_store(store, work: Path) -> None:
    rows = []
    for file, (name, fields) in STILLS.items():
        rgb = photo(name)
        if file == "astronaut-small.jpg":
            rgb = cv2.resize(rgb, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
        write_image(work / file, rgb, quality=40 if file == "coffee-again.jpg" else 90)
        rows.append({"path": file, "external_id": file, **fields})
    write_image(work / CSAM, photo("astronaut")[::-1].copy())  # flipped: not the same bytes as astronaut.jpg
    rows.append({"path": CSAM, "external_id": CSAM, "category": "csam_suspected", "priority": -2})
    write_clip(work / VIDEO)
    rows.append({"path": VIDEO, "external_id": VIDEO, "priority": -3})
    (work / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = import_paths(store, [work / "m.jsonl"], "tester")
    assert len(report.imported) == len(rows) and not report.skipped, report


def unfiltered(external_id: str) -> np.ndarray:
    """What the test wrote for an item, as RGB (a video: its first scene)."""
    if external_id == VIDEO:
        return cv2.resize(photo("astronaut"), VIDEO_SIZE, interpolation=cv2.INTER_AREA)
    if external_id == CSAM:
        return photo("astronaut")[::-1]
    return photo(STILLS[external_id][0])


# -- the grid ---------------------------------------------------------------------------------------
def grid_ready(window) -> bool:
    """The grid is on screen, and every tile on screen has its thumbnail (or a reason it has none)."""
    grid = window.grid
    if grid is None or not grid.isVisible() or not grid.requester.idle or grid.model.rowCount() == 0:
        return False
    first, last = grid.list.visible_rows()
    items = [grid.model.item_at(r) for r in range(first, last + 1)]
    return first >= 0 and all(grid.requester.image(i) is not None or grid.requester.failure(i) for i in items)


def open_grid(qtbot, window, timeout: int = 20000):
    qtbot.keyClick(window.viewer, Qt.Key.Key_G)
    qtbot.waitUntil(lambda: grid_ready(window), timeout=timeout)
    return window.grid


def row_of(grid, external_id: str) -> int:
    return next(r for r in range(grid.model.rowCount()) if grid.model.item_at(r).external_id == external_id)


def focus(qtbot, grid, external_id: str) -> None:
    """Put the focus on a tile with Home and arrow keys, as a moderator would."""
    target = row_of(grid, external_id)
    qtbot.keyClick(grid.list, Qt.Key.Key_Home)
    for _ in range(target):
        qtbot.keyClick(grid.list, Qt.Key.Key_Right)
    assert grid.list.currentIndex().row() == target


def tile_pictures(grid) -> dict[str, np.ndarray]:
    """external id -> the pixels the grid paints where that tile's picture is, for every tile on
    screen that has one (the thumbnail's box inside the tile's square; a peek paints in the same box)."""
    from ui.grid_delegate import fitted, picture_rect

    shown = qimage_rgb(grid.list.viewport().grab().toImage())
    first, last = grid.list.visible_rows()
    out = {}
    for row in range(first, last + 1):
        item = grid.model.item_at(row)
        image = grid.peek.picture_for(item) or grid.requester.image(item)
        if image is None:
            continue
        box = fitted(image, picture_rect(grid.list.tile_rect(row).adjusted(1, 1, -1, -1), grid.delegate.picture))
        box = box.intersected(grid.list.viewport().rect()).adjusted(1, 1, -1, -1)
        if box.height() > 20 and box.width() > 20:
            out[item.external_id] = shown[box.top() : box.bottom() + 1, box.left() : box.right() + 1]
    return out


def decisions(store) -> list[dict]:
    cur = store.db.execute("SELECT seq, uuid, item_id, labels, action, source, batch_id, supersedes, handle_ms "
                           "FROM decisions ORDER BY seq")
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def clone_item(store, n: int) -> None:
    """The store's one item and media row cloned into n items, each with its own content hash (so each
    thumbnail is its own decode): a 10,000-item queue without 10,000 imports."""
    media = dict(store.db.execute("SELECT * FROM media").fetchone())
    item = dict(store.db.execute("SELECT * FROM items").fetchone())

    def write(db):
        shas = [uuid.uuid4().hex * 2 for _ in range(n - 1)]
        db["media"].insert_all({**media, "sha256": sha} for sha in shas)
        db["items"].insert_all({**item, "id": str(uuid.uuid4()), "sha256": sha, "external_id": None,
                                "priority": k % 3} for k, sha in enumerate(shas))

    store.write(write)
