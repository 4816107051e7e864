"""Under a status filter that shows decided items, a batch's tiles stay where they were, painted dimmed
(still filtered) with the label they were given; Ctrl+Z makes them open tiles again. Under the usual
filter they leave. Checked on the painted pixels of the real list view, with qtmodeltester watching."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from moderator.grid_view import DECIDED, WITH_DECIDED
from moderator.settings import Settings
from tests.desk_helpers import open_desk, qimage_rgb
from tests.grid_helpers import build_grid_store, decisions, grid_ready, open_grid, tile_pictures
from tests.test_grid_pixels import assert_gray_and_blurred
from ui.grid_delegate import DECIDED as BADGE_COLOUR
from ui.grid_delegate import LINE, PAD

SHIFT, CTRL = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def desk(qtbot, store_templates, tmp_path, policy):
    store = store_templates.copy("grid", build_grid_store, tmp_path / "data")
    window = open_desk(qtbot, store, policy, Settings(palate_cleanser=False))
    open_grid(qtbot, window)
    yield window, store
    window.close()
    store.close()


def idle(window) -> bool:
    return not window.reviewer.saving and not window.runner.busy


def brightness(grid) -> dict[str, float]:
    """external id -> mean painted value of its tile's picture."""
    return {name: float(pixels.mean()) for name, pixels in tile_pictures(grid).items()}


def badge_pixels(grid, row: int) -> int:
    """Pixels of the decided badge's colour on the tile's second caption line."""
    tile = grid.list.tile_rect(row).adjusted(1, 1, -1, -1)
    top = tile.y() + PAD + grid.delegate.picture + PAD // 2 + LINE
    shown = qimage_rgb(grid.list.viewport().grab().toImage())
    line = shown[top : top + LINE, tile.left() : tile.right()].astype(int)
    want = np.array([BADGE_COLOUR.red(), BADGE_COLOUR.green(), BADGE_COLOUR.blue()])
    return int((np.abs(line - want).max(axis=2) < 40).sum())


def label_rows_1_to_3(qtbot, grid) -> None:
    qtbot.keyClick(grid.list, Qt.Key.Key_Home)
    qtbot.keyClick(grid.list, Qt.Key.Key_Right)
    qtbot.keyClick(grid.list, Qt.Key.Key_Right, SHIFT)
    qtbot.keyClick(grid.list, Qt.Key.Key_Right, SHIFT)
    qtbot.keyClick(grid.list, Qt.Key.Key_2)  # spam: three items, no question


def test_decided_tiles_stay_dimmed_with_their_label_and_undo_makes_them_open(qtbot, qtmodeltester, desk):
    window, store = desk
    grid = window.grid
    qtmodeltester.check(grid.model)  # it keeps watching every signal until the test ends
    grid.filters.set_choice("status", WITH_DECIDED)
    qtbot.waitUntil(lambda: grid_ready(window))
    before_ids = list(grid.model.rows.ids)
    names = [grid.model.item_at(r).external_id for r in (1, 2, 3)]
    open_light = brightness(grid)
    assert all(badge_pixels(grid, r) == 0 for r in (1, 2, 3))

    label_rows_1_to_3(qtbot, grid)
    qtbot.waitUntil(lambda: len(decisions(store)) == 3 and idle(window))
    qtbot.waitUntil(lambda: grid.model.decided_count() == 3 and grid_ready(window))
    assert list(grid.model.rows.ids) == before_ids  # they stayed, in their places
    assert len(window.reviewer.items) == len(before_ids) - 3  # while the queue lost them
    assert [grid.model.item_at(r).status.value for r in (1, 2, 3)] == ["decided"] * 3
    assert [grid.model.decided_label(grid.model.rows.ids[r]) for r in (1, 2, 3)] == ["spam"] * 3
    dimmed = brightness(grid)
    for name in names:
        assert dimmed[name] < 0.6 * open_light[name], (name, dimmed[name], open_light[name])
    for name in set(open_light) - set(names):
        assert dimmed[name] == pytest.approx(open_light[name], rel=0.05), name  # the open ones as they were
    assert_gray_and_blurred({n: dimmed_tile for n, dimmed_tile in tile_pictures(grid).items()})
    assert all(badge_pixels(grid, r) > 20 for r in (1, 2, 3)) and badge_pixels(grid, 0) == 0
    assert "3 decided here" in grid.status.text()

    grid.list.select_rows(range(2, 3))  # a label key on a decided tile writes nothing
    qtbot.keyClick(grid.list, Qt.Key.Key_3)
    assert len(decisions(store)) == 3 and not window.reviewer.saving

    qtbot.keyClick(grid.list, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: len(decisions(store)) == 6 and idle(window))
    qtbot.waitUntil(lambda: grid.model.decided_count() == 0 and grid_ready(window))
    assert list(grid.model.rows.ids) == before_ids
    assert [grid.model.item_at(r).status.value for r in (1, 2, 3)] == ["pending"] * 3
    back = brightness(grid)
    for name in names:
        assert back[name] == pytest.approx(open_light[name], rel=0.05), name
    assert all(badge_pixels(grid, r) == 0 for r in (1, 2, 3))


def test_the_decided_filter_shows_only_what_was_labelled_and_the_usual_one_drops_it(qtbot, qtmodeltester, desk):
    window, store = desk
    grid = window.grid
    qtmodeltester.check(grid.model)
    before_ids = list(grid.model.rows.ids)
    label_rows_1_to_3(qtbot, grid)
    qtbot.waitUntil(lambda: len(decisions(store)) == 3 and idle(window))
    qtbot.waitUntil(lambda: list(grid.model.rows.ids) == [before_ids[0]] + before_ids[4:])  # the usual: they leave

    grid.filters.set_choice("status", DECIDED)
    qtbot.waitUntil(lambda: grid_ready(window))
    assert list(grid.model.rows.ids) == before_ids[1:4]
    grid.filters.set_choice("status", WITH_DECIDED)
    assert list(grid.model.rows.ids) == before_ids  # back in their queue places
    grid.filters.set_choice("status", "any")
    assert list(grid.model.rows.ids) == [before_ids[0]] + before_ids[4:]

    grid.filters.set_choice("status", DECIDED)
    qtbot.keyClick(grid.list, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: len(decisions(store)) == 6 and idle(window))
    qtbot.waitUntil(lambda: grid.model.rowCount() == 0)  # open again: not decided any more
    grid.filters.set_choice("status", "any")
    assert list(grid.model.rows.ids) == before_ids


def test_a_failed_batch_leaves_no_decided_tile(qtbot, desk):
    """Only a saved batch marks tiles: a refused one (one of its items went from the store) marks none,
    and the next save, an undo of an earlier batch, does not mark its items either."""
    window, store = desk
    grid = window.grid
    grid.filters.set_choice("status", WITH_DECIDED)
    grid.list.select_rows(range(4, 5))
    qtbot.keyClick(grid.list, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: len(decisions(store)) == 1 and idle(window))
    qtbot.waitUntil(lambda: grid.model.decided_count() == 1)
    grid.list.select_rows(range(0, 2))
    victim = grid.model.item_at(1).id
    store.write(lambda db: db.execute("UPDATE items SET id = id || '-gone' WHERE id = ?", (victim,)))
    qtbot.keyClick(grid.list, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: idle(window))
    assert len(decisions(store)) == 1 and grid.model.decided_count() == 1
    qtbot.keyClick(grid.list, Qt.Key.Key_Z, CTRL)  # saved: the undo of the first batch
    qtbot.waitUntil(lambda: len(decisions(store)) == 2 and idle(window))
    qtbot.waitUntil(lambda: grid.model.decided_count() == 0)
    assert grid.model.decided_label(grid.model.rows.ids[0]) is None
