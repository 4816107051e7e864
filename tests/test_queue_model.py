"""The shared queue model: a valid Qt model while deltas move its rows, dataChanged names its roles,
and the desk applies a decision's Changes to it without reading the whole queue (10,000 items)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from moderator.domain import Changes, Item, ItemChange, ItemField, ItemStatus, MediaKind
from moderator.queue_state import QueueState
from tests.desk_helpers import on_screen, open_desk
from tests.test_queue_state import fill_queue
from ui.queue_model import COLUMNS, ItemIdRole, ItemRole, QueueModel, StatusRole, SuggestedLabelRole


def item(n: int, **kw) -> Item:
    return Item(id=f"i{n}", sha256=f"s{n}", kind=MediaKind.IMAGE, mime="image/jpeg", media_path="x",
                width=1, height=1, priority=n % 3, **kw)


def rows_of(model: QueueModel) -> list[Item]:
    return [model.index(r, 0).data(ItemRole) for r in range(model.rowCount())]


def status_change(item_id: str, status: ItemStatus) -> Changes:
    return Changes(items=(item_id,), item_changes=(ItemChange(item_id, frozenset({ItemField.STATUS}), status),))


def test_the_model_follows_the_state_through_deltas(qtmodeltester, qtbot):
    state, model = QueueState(), QueueModel()
    assert state.load(state.read(lambda: sorted((item(n) for n in range(12)), key=lambda i: (-i.priority, i.id))))
    model.reset(state.items, state.version)
    qtmodeltester.check(model)  # stays connected: every change below is checked as it happens
    for change, rows in [
        (status_change("i2", ItemStatus.DECIDED), {}),  # removed
        (status_change("i4", ItemStatus.SKIPPED), {}),  # moved behind the pending items
        (status_change("i2", ItemStatus.PENDING), {"i2": item(2)}),  # back (undo)
    ]:
        model.apply(state.apply(change, rows))
        assert rows_of(model) == state.items and model.version == state.version
    assert model.index(state.row_of("i4"), 2).data() == "image ·skipped"
    assert model.index(0, 0).data(ItemIdRole) == state.items[0].id


def test_data_changed_names_the_roles_that_changed(qtbot):
    state, model = QueueState([item(1)]), QueueModel()
    model.reset(state.items, state.version)
    change = Changes(item_changes=(ItemChange("i1", frozenset({ItemField.SUGGESTED_LABEL})),))
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.apply(state.apply(change, {"i1": replace(item(1), suggested_label="spam")}))
    top, bottom, roles = blocker.args
    assert (top.row(), bottom.row(), bottom.column()) == (0, 0, model.columnCount() - 1)
    assert set(roles) == {ItemRole, SuggestedLabelRole} and model.index(0, 0).data(SuggestedLabelRole) == "spam"
    assert StatusRole not in roles


def test_deciding_at_10000_queued_items_reads_no_queue(qtbot, good_store, policy):
    fill_queue(good_store, 10_000 - 4)
    window = open_desk(qtbot, good_store, policy)
    r = window.reviewer
    assert len(r.items) == 10_000 and r.queue.reads == 1  # the load
    first, second = r.items[0].id, r.items[1].id
    qtbot.keyClick(window.viewer, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: on_screen(window) and r.current.id == second and not window.runner.busy, timeout=20000)
    qtbot.keyClick(window.viewer, Qt.Key.Key_S)  # a skip hides the item for a while
    qtbot.waitUntil(lambda: not r.saving and r.current.id != second and not window.runner.busy, timeout=20000)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the decision comes back
    qtbot.waitUntil(lambda: not r.saving and r.current.id == first and not window.runner.busy, timeout=20000)
    assert r.queue.reads == 1  # no full re-read on any thread
    # and yet the same as the store's (overdue items pinned on top, as the desk orders them)
    assert len(r.items) == 9_999 and r.items == sorted(r.service.queue(), key=r.queue.key)
    assert rows_of(window.queue_panel.model) == r.items and window.queue_panel.model is r.model
    assert window.queue_panel.title.text().startswith("Queue · 9999 open")
    window.close()


def test_the_kind_column_has_room_for_a_skipped_video(qtbot, good_store, policy):
    """Columns are measured at a reset only; a skip later widens a row's Kind, which must still fit."""
    window = open_desk(qtbot, good_store, policy)
    view = window.queue_panel.view
    kind = COLUMNS.index("Kind")
    assert view.horizontalHeader().sectionSize(kind) >= view.fontMetrics().horizontalAdvance("video ·skipped")
    window.close()
