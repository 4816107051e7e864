"""What the grid paints, read back from the real list view: every tile of colourful, sharp photos and
of a video is painted without colour and without fine detail, at every size; a held peek paints
colour in the focused tile only (so these checks can fail), and never on a suspected-CSAM item,
whose unfiltered picture is not even decoded."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from moderator.settings import Settings
from tests.desk_helpers import open_desk, saturation, sharpness, sharpness_at
from tests.grid_helpers import (
    CSAM,
    STILLS,
    VIDEO,
    build_grid_store,
    focus,
    grid_ready,
    open_grid,
    tile_pictures,
    unfiltered,
)

GRAY = 6  # most channel spread a painted gray pixel may have (the photos have > 100)
BLURRED = 0.1  # most sharpness a filtered tile may keep, as a share of the unfiltered photo's at that size
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def desk(qtbot, store_templates, tmp_path, policy):
    store = store_templates.copy("grid", build_grid_store, tmp_path / "data")
    window = open_desk(qtbot, store, policy, Settings(palate_cleanser=False, reveal_seconds=5))
    open_grid(qtbot, window)
    yield window
    window.close()
    store.close()


def assert_gray_and_blurred(tiles: dict[str, np.ndarray]) -> None:
    for name, painted in tiles.items():
        spread = np.percentile(saturation(painted), 99.9)
        assert spread <= GRAY, f"{name}: colour in its tile (channel spread {spread:.0f})"
        ratio = sharpness(painted) / sharpness_at(unfiltered(name), painted.shape)
        assert ratio < BLURRED, f"{name}: {ratio:.0%} of the unfiltered picture's detail in its tile"


def test_every_tile_is_painted_gray_and_blurred_at_every_size(qtbot, desk):
    grid = desk.grid
    for key in (None, Qt.Key.Key_Equal, Qt.Key.Key_Equal, Qt.Key.Key_Minus, Qt.Key.Key_Minus, Qt.Key.Key_Minus):
        if key is not None:
            qtbot.keyClick(grid.list, key, CTRL)
            qtbot.waitUntil(lambda: grid_ready(desk), timeout=20000)
        tiles = tile_pictures(grid)
        assert set(tiles) >= {*STILLS, CSAM, VIDEO}, sorted(tiles)  # every tile has its picture
        assert_gray_and_blurred(tiles)


def test_a_held_peek_paints_colour_in_the_focused_tile_only_and_its_release_filters_again(qtbot, desk):
    grid, store = desk.grid, desk.reviewer.service.store
    focus(qtbot, grid, "coffee.png")
    qtbot.keyPress(grid.list, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: grid.peek.picture_for(grid.focused_item()) is not None)
    tiles = tile_pictures(grid)
    peeked = tiles.pop("coffee.png")
    assert np.percentile(saturation(peeked), 99) > 60, "a peek shows no colour"
    assert sharpness(peeked) > 0.3 * sharpness_at(unfiltered("coffee.png"), peeked.shape), "a peek shows no detail"
    assert_gray_and_blurred(tiles)  # every other tile stays filtered
    qtbot.keyRelease(grid.list, Qt.Key.Key_Space)
    assert not grid.peek.peeking
    assert_gray_and_blurred(tile_pictures(grid))
    item = desk.reviewer.queue.get(grid.focused_item().id)
    qtbot.waitUntil(lambda: store.db.execute("SELECT COUNT(*) FROM exposure_events WHERE item_id = ? AND kind = 'peek'",
                                             (item.id,)).fetchone()[0] == 1)


def test_moving_the_focus_ends_a_peek(qtbot, desk):
    grid = desk.grid
    focus(qtbot, grid, "coffee.png")
    qtbot.keyPress(grid.list, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: grid.peek.picture_for(grid.focused_item()) is not None)
    qtbot.keyClick(grid.list, Qt.Key.Key_Right)  # Space still held
    assert not grid.peek.peeking
    assert_gray_and_blurred(tile_pictures(grid))
    qtbot.keyRelease(grid.list, Qt.Key.Key_Space)


def test_a_peek_at_suspected_csam_is_refused_and_its_original_never_decoded(qtbot, desk):
    grid = desk.grid
    focus(qtbot, grid, CSAM)
    qtbot.waitUntil(lambda: not grid.peek._settle.isActive())  # when a revealable tile's original is decoded
    desk.runner.wait()
    qtbot.keyPress(grid.list, Qt.Key.Key_Space)
    assert not grid.peek.peeking
    assert "does not allow revealing" in desk.statusBar().currentMessage()
    desk.runner.wait()
    assert grid.peek._original is None  # nothing unfiltered was made for it
    assert_gray_and_blurred(tile_pictures(grid))
    qtbot.keyRelease(grid.list, Qt.Key.Key_Space)
    assert_gray_and_blurred(tile_pictures(grid))


def test_a_video_tile_is_a_filtered_keyframe_and_a_peek_shows_it(qtbot, desk):
    grid = desk.grid
    tiles = tile_pictures(grid)
    assert tiles[VIDEO].shape[1] > tiles[VIDEO].shape[0] * 1.5  # one 16:9 frame
    assert_gray_and_blurred({VIDEO: tiles[VIDEO]})
    focus(qtbot, grid, VIDEO)
    qtbot.keyPress(grid.list, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: grid.peek.picture_for(grid.focused_item()) is not None)
    assert np.percentile(saturation(tile_pictures(grid)[VIDEO]), 99) > 60
    qtbot.keyRelease(grid.list, Qt.Key.Key_Space)
    assert_gray_and_blurred(tile_pictures(grid))
