"""The grid's model under Qt's own model checker while batches, undos, filters and families move its
rows; and with 10,000 queued items, thumbnails are decoded for the tiles that were on screen only."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from moderator.ingest import import_paths
from moderator.settings import Settings
from tests.conftest import photo, write_image
from tests.desk_helpers import open_desk
from tests.grid_helpers import build_grid_store, clone_item, decisions, grid_ready, open_grid

SHIFT, CTRL = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier
QUEUE_SIZE = 10_000


def idle(window) -> bool:
    return not window.reviewer.saving and not window.runner.busy


def test_the_model_passes_qts_model_tester_while_its_rows_move(qtbot, qtmodeltester, store_templates, tmp_path, policy):
    store = store_templates.copy("grid", build_grid_store, tmp_path / "data")
    window = open_desk(qtbot, store, policy, Settings(palate_cleanser=False))
    try:
        grid = open_grid(qtbot, window)
        qtmodeltester.check(grid.model)  # and it keeps watching every signal until the test ends
        for key, modifier in ((Qt.Key.Key_Home, None), (Qt.Key.Key_Right, SHIFT), (Qt.Key.Key_Right, SHIFT),
                              (Qt.Key.Key_2, None)):
            qtbot.keyClick(grid.list, key, modifier or Qt.KeyboardModifier.NoModifier)
        qtbot.waitUntil(lambda: len(decisions(store)) == 3 and idle(window))
        qtbot.keyClick(grid.list, Qt.Key.Key_Z, CTRL)
        qtbot.waitUntil(lambda: len(decisions(store)) == 6 and idle(window))
        qtbot.waitUntil(lambda: grid.model.rowCount() == len(window.reviewer.items))
        grid.filters.set_choice("sort", "SLA")
        grid.filters.set_choice("category", "none")
        grid.filters.set_choice("category", "any")
        qtbot.keyClick(grid.list, Qt.Key.Key_F)
        qtbot.waitUntil(lambda: bool(grid.model.rows.members), timeout=30000)
        qtmodeltester.check(grid.model)
    finally:
        window.close()
        store.close()


# -- 10,000 items ---------------------------------------------------------------------------------
def clone_queue(store, work, n: int = QUEUE_SIZE) -> None:
    """One imported photo, its media and item rows cloned into n items (each its own content hash,
    so each thumbnail is its own decode)."""
    write_image(work / "one.jpg", photo("chelsea"))
    import_paths(store, [work / "one.jpg"], "tester")
    clone_item(store, n)


@pytest.fixture
def big_desk(qtbot, store_templates, tmp_path, policy):
    store = store_templates.copy("ten-thousand", clone_queue, tmp_path / "data")
    window = open_desk(qtbot, store, policy, Settings(palate_cleanser=False))
    yield window
    window.close()
    store.close()


def test_decode_requests_stay_within_the_tiles_that_were_on_screen(qtbot, big_desk):
    assert len(big_desk.reviewer.items) == QUEUE_SIZE
    grid = open_grid(qtbot, big_desk, timeout=60000)
    assert grid.model.rowCount() == QUEUE_SIZE
    asked: set[str] = set()  # every tile the grid wanted while it was on screen (with its margin line)
    grid.list.visible_changed.connect(lambda *_: asked.update(grid._visible))
    asked.update(grid._visible)
    top = set(grid._visible)
    assert 0 < len(top) < 100
    assert set(grid.requester.requested) == top  # the first screen, each once

    bar = grid.list.verticalScrollBar()
    bar.setValue(bar.maximum())  # a jump to the end: nothing in between is asked for
    qtbot.waitUntil(lambda: grid_ready(big_desk), timeout=60000)
    bottom = set(grid._visible)
    assert len(grid.requester.requested) == len(set(grid.requester.requested))  # nothing decoded twice
    assert set(grid.requester.requested) == top | bottom

    bar.setValue(0)
    qtbot.waitUntil(lambda: grid_ready(big_desk), timeout=60000)
    before = len(grid.requester.requested)
    for step in range(1, 41):  # scroll down through the whole grid, a screen at a time, without waiting
        bar.setValue(bar.maximum() * step // 40)
        QApplication.processEvents()  # one turn of the event loop per step: the view lays out, paints, asks
    qtbot.waitUntil(lambda: grid_ready(big_desk), timeout=60000)
    during = grid.requester.requested[before:]
    assert set(during) <= asked  # only tiles that were on screen when asked for
    assert len(during) == len(set(during)) and len(asked) < QUEUE_SIZE // 4
