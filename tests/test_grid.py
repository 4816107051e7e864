"""The grid in the real window, driven with keys and the mouse; every decision is read back from the
SQLite file: one batch (one batch_id, source "batch"), one undo superseding all of it, the tiles
leaving and coming back from the Changes alone (no re-read of the queue)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from moderator.settings import Settings
from tests.desk_helpers import open_desk
from tests.grid_helpers import build_grid_store, decisions, focus, grid_ready, open_grid, row_of

SHIFT, CTRL = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def grid_store(store_templates, tmp_path):
    store = store_templates.copy("grid", build_grid_store, tmp_path / "data")
    yield store
    store.close()


def desk_with_grid(qtbot, store, policy, settings=None):
    window = open_desk(qtbot, store, policy, settings or Settings(palate_cleanser=False))
    return window, open_grid(qtbot, window)


@pytest.fixture
def desk(qtbot, grid_store, policy):
    window, _grid = desk_with_grid(qtbot, grid_store, policy)
    yield window
    window.close()


def tile_ids(grid) -> list[str]:
    return list(grid.model.rows.ids)


def saved(window) -> bool:
    return not window.reviewer.saving and not window.runner.busy


def test_g_toggles_the_grid_over_the_same_queue(qtbot, desk):
    grid = desk.grid
    assert grid.isVisible() and not desk.viewer.isVisible() and not desk.queue_panel.isVisible()
    assert tile_ids(grid) == [i.id for i in desk.reviewer.items]  # the list's queue, in its order
    assert grid.list.currentIndex().row() == 0  # on the item the viewer showed
    qtbot.keyClick(grid.list, Qt.Key.Key_G)
    assert desk.viewer.isVisible() and not grid.isVisible()
    qtbot.keyClick(desk.viewer, Qt.Key.Key_G)
    assert grid.isVisible()


def test_select_a_range_with_keys_label_it_and_undo_it(qtbot, desk, grid_store):
    grid, r = desk.grid, desk.reviewer
    reads = r.queue.reads
    before = tile_ids(grid)
    qtbot.keyClick(grid.list, Qt.Key.Key_Home)
    qtbot.keyClick(grid.list, Qt.Key.Key_Right)
    qtbot.keyClick(grid.list, Qt.Key.Key_Right, SHIFT)
    qtbot.keyClick(grid.list, Qt.Key.Key_Right, SHIFT)
    assert grid.selected_rows() == [1, 2, 3]
    qtbot.keyClick(grid.list, Qt.Key.Key_2)  # spam: remove, severity 1, three items: no question
    qtbot.waitUntil(lambda: len(decisions(grid_store)) == 3 and saved(desk))

    rows = decisions(grid_store)
    assert [d["item_id"] for d in rows] == before[1:4]
    assert {(d["labels"], d["action"], d["source"]) for d in rows} == {(json.dumps(["spam"]), "remove", "batch")}
    assert len({d["batch_id"] for d in rows}) == 1 and rows[0]["batch_id"]
    qtbot.waitUntil(lambda: tile_ids(grid) == [before[0]] + before[4:])  # decided items left the grid
    assert [i.id for i in r.items] == tile_ids(grid)  # and the list, from the same Changes
    statuses = dict(grid_store.db.execute("SELECT id, status FROM items").fetchall())
    assert [statuses[i] for i in before[1:4]] == ["decided"] * 3

    qtbot.keyClick(grid.list, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: len(decisions(grid_store)) == 6 and saved(desk))
    undos = decisions(grid_store)[3:]
    assert {d["action"] for d in undos} == {"undo"}
    assert sorted(d["supersedes"] for d in undos) == sorted(d["uuid"] for d in rows)  # the whole batch
    assert len({d["batch_id"] for d in undos}) == 1 and undos[0]["batch_id"] != rows[0]["batch_id"]
    qtbot.waitUntil(lambda: tile_ids(grid) == before)  # undone items came back, in queue order
    assert r.queue.reads == reads  # no full re-read of the queue for either
    assert "3 items are back" in desk.statusBar().currentMessage()


def test_mouse_click_shift_click_ctrl_click_and_a_rubber_band(qtbot, desk, grid_store):
    grid = desk.grid
    view = grid.list.viewport()

    def centre(row: int) -> QPoint:
        return grid.list.tile_rect(row).center()

    QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre(0))
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, SHIFT, centre(2))
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, CTRL, centre(4))
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, CTRL, centre(1))
    assert grid.selected_rows() == [0, 2, 4]
    # a band from inside tile 3 to inside tile 4 (one line of tiles) selects those two only
    a, b = grid.list.tile_rect(3).topLeft() + QPoint(4, 4), grid.list.tile_rect(4).bottomRight() - QPoint(4, 4)
    assert a.y() < b.y() and grid.list.tile_rect(3).top() == grid.list.tile_rect(4).top()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    QTest.mouseMove(view, b)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    assert grid.selected_rows() == [3, 4]
    ids = tile_ids(grid)
    qtbot.keyClick(grid.list, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: len(decisions(grid_store)) == 2 and saved(desk))
    assert [d["item_id"] for d in decisions(grid_store)] == ids[3:5]


def test_ctrl_a_selects_every_tile_the_filter_shows(qtbot, desk, grid_store):
    grid = desk.grid
    grid.filters.set_choice("category", "none")
    qtbot.waitUntil(lambda: grid_ready(desk))
    shown = tile_ids(grid)
    assert 0 < len(shown) < len(desk.reviewer.items)
    assert all(desk.reviewer.queue.get(i).category is None for i in shown)
    qtbot.keyClick(grid.list, Qt.Key.Key_A, CTRL)
    assert grid.selected_rows() == list(range(len(shown)))
    qtbot.keyClick(grid.list, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: len(decisions(grid_store)) == len(shown) and saved(desk))
    assert sorted(d["item_id"] for d in decisions(grid_store)) == sorted(shown)
    qtbot.waitUntil(lambda: grid.model.rowCount() == 0)
    assert len(desk.reviewer.items) > 0  # the other categories are still open, just not shown


def test_enter_opens_the_focused_item_in_the_single_viewer(qtbot, desk):
    grid = desk.grid
    focus(qtbot, grid, "chelsea.jpg")
    qtbot.keyClick(grid.list, Qt.Key.Key_Return)
    assert desk.viewer.isVisible() and not grid.isVisible()
    assert desk.reviewer.current.external_id == "chelsea.jpg"
    qtbot.waitUntil(lambda: desk.viewer.prepared is not None and desk.viewer.prepared.item_id == desk.reviewer.current.id)


def test_thumbnail_size_keys(qtbot, desk):
    grid = desk.grid
    width = grid.list.gridSize().width()
    qtbot.keyClick(grid.list, Qt.Key.Key_Equal, CTRL)
    assert grid.delegate.picture == 208 and grid.list.gridSize().width() > width
    qtbot.waitUntil(lambda: grid_ready(desk))
    first = grid.model.item_at(0)
    assert grid.requester.image(first).width() == 208 or grid.requester.image(first).height() == 208
    qtbot.keyClick(grid.list, Qt.Key.Key_Minus, CTRL)
    qtbot.keyClick(grid.list, Qt.Key.Key_Minus, CTRL)
    assert grid.delegate.picture == 128


# -- confirmation ---------------------------------------------------------------------------------
def select(qtbot, grid, count: int) -> None:
    qtbot.keyClick(grid.list, Qt.Key.Key_Home)
    for _ in range(count - 1):
        qtbot.keyClick(grid.list, Qt.Key.Key_Right, SHIFT)
    assert len(grid.selected_rows()) == count


def test_a_severe_removal_asks_first_esc_cancels_enter_confirms(qtbot, desk, grid_store):
    grid = desk.grid
    select(qtbot, grid, 2)
    qtbot.keyClick(grid.list, Qt.Key.Key_4)  # sexual: remove, severity 3
    assert grid.confirm.isVisible() and "severity 3" in grid.confirm.text.text()
    assert "2 items as Sexual activity → remove" in grid.confirm.text.text()
    qtbot.keyClick(grid.confirm, Qt.Key.Key_Escape)
    assert not grid.confirm.isVisible()
    desk.runner.wait()
    assert decisions(grid_store) == []  # nothing written
    grid.list.setFocus()
    qtbot.keyClick(grid.list, Qt.Key.Key_4)
    assert grid.confirm.isVisible()
    qtbot.keyClick(grid.confirm, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(decisions(grid_store)) == 2 and saved(desk))
    assert {d["labels"] for d in decisions(grid_store)} == {json.dumps(["sexual"])}


def test_an_escalating_label_asks_even_for_one_item(qtbot, desk, grid_store):
    grid = desk.grid
    select(qtbot, grid, 1)
    qtbot.keyClick(grid.list, Qt.Key.Key_7)  # self_harm: escalate
    assert grid.confirm.isVisible() and "escalates" in grid.confirm.text.text()
    qtbot.keyClick(grid.confirm, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(decisions(grid_store)) == 1 and saved(desk))


def test_a_batch_over_the_setting_asks_and_a_mild_small_one_does_not(qtbot, grid_store, policy):
    window, grid = desk_with_grid(qtbot, grid_store, policy, Settings(palate_cleanser=False, batch_confirm_over=2))
    try:
        select(qtbot, grid, 2)
        qtbot.keyClick(grid.list, Qt.Key.Key_2)  # spam, two items: at the limit, not over it
        qtbot.waitUntil(lambda: len(decisions(grid_store)) == 2 and saved(window))
        assert not grid.confirm.isVisible()
        select(qtbot, grid, 3)
        qtbot.keyClick(grid.list, Qt.Key.Key_2)
        assert grid.confirm.isVisible() and "more than 2 items" in grid.confirm.text.text()
        qtbot.keyClick(grid.confirm, Qt.Key.Key_Escape)
        window.runner.wait()
        assert len(decisions(grid_store)) == 2
    finally:
        window.close()


# -- families -------------------------------------------------------------------------------------
def test_f_folds_near_duplicates_and_one_key_labels_a_whole_family(qtbot, desk, grid_store):
    grid = desk.grid
    qtbot.keyClick(grid.list, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: bool(grid.model.rows.members) and grid_ready(desk), timeout=30000)
    families = {grid.model.queue_item(t).external_id: sorted(grid.model.queue_item(m).external_id for m in ms)
                for t, ms in grid.model.rows.members.items()}
    assert families == {"astronaut.jpg": ["astronaut-small.jpg", "astronaut.jpg"],
                        "coffee.png": ["coffee-again.jpg", "coffee.png"]}
    assert grid.model.rowCount() == len(desk.reviewer.items) - 2
    hashed = grid_store.db.execute("SELECT COUNT(DISTINCT sha256) FROM media_hashes").fetchone()[0]
    assert hashed >= 6  # the queue was hashed for grouping, though no bank exists
    focus(qtbot, grid, "coffee.png")
    qtbot.keyClick(grid.list, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: len(decisions(grid_store)) == 2 and saved(desk))
    rows = decisions(grid_store)
    names = dict(grid_store.db.execute("SELECT id, external_id FROM items").fetchall())
    assert sorted(names[d["item_id"]] for d in rows) == ["coffee-again.jpg", "coffee.png"]
    assert rows[0]["batch_id"] == rows[1]["batch_id"]
    qtbot.waitUntil(lambda: "coffee.png" not in [grid.model.item_at(r).external_id for r in range(grid.model.rowCount())])
    qtbot.keyClick(grid.list, Qt.Key.Key_F)  # unfolded again
    qtbot.waitUntil(lambda: not grid.model.rows.members and grid_ready(desk))
    assert grid.model.rowCount() == len(desk.reviewer.items)


def test_the_grid_follows_changes_made_while_it_was_hidden(qtbot, desk, grid_store):
    grid = desk.grid
    qtbot.keyClick(grid.list, Qt.Key.Key_G)  # back to the viewer
    first = desk.reviewer.current.id
    qtbot.waitUntil(lambda: desk.viewer.prepared is not None and desk.viewer.prepared.item_id == first)
    qtbot.keyClick(desk.viewer, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: len(decisions(grid_store)) == 1 and saved(desk))
    qtbot.keyClick(desk.viewer, Qt.Key.Key_G)
    qtbot.waitUntil(lambda: grid_ready(desk))
    assert first not in tile_ids(grid) and tile_ids(grid) == [i.id for i in desk.reviewer.items]
    assert row_of(grid, desk.reviewer.current.external_id) == grid.list.currentIndex().row()
