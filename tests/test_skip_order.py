"""SLA-aware ordering: a skip hides the item for a while (or until it would breach) and it comes back
in its place, never behind items due later; after a decision the desk goes to the top of the queue
order; overdue items are pinned on top in the breach colour. Real store, real window, SQLite."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt

from moderator.clock import iso, parse_iso, utc_now
from moderator.review import ReviewService, skip_until
from tests.desk_helpers import on_screen, open_desk, qimage_rgb
from ui.queue_model import BREACHED_ROW


def due_in(minutes: float) -> str:
    return iso(utc_now() + timedelta(minutes=minutes))


def set_due(store, dues: dict[str, str | None]) -> None:
    store.write(lambda db: db.conn.executemany("UPDATE items SET sla_due_at = ? WHERE id = ?",
                                               [(d, i) for i, d in dues.items()]))


def idle(window) -> bool:
    return on_screen(window) and not window.runner.busy


def test_a_skip_ends_when_the_item_would_breach():
    now = "2026-12-02T10:00:00.000Z"
    assert skip_until(now, 15, None) == "2026-12-02T10:15:00.000Z"
    assert skip_until(now, 15, "2026-12-02T10:05:00.000Z") == "2026-12-02T10:05:00.000Z"  # due first
    assert skip_until(now, 15, "2026-12-02T11:00:00.000Z") == "2026-12-02T10:15:00.000Z"


def test_skip_hides_the_item_and_it_comes_back_in_its_place(qtbot, good_store, policy):
    ids = [i.id for i in ReviewService(good_store, policy, "tester").queue()]
    set_due(good_store, {ids[0]: due_in(40), ids[1]: due_in(60), ids[2]: due_in(120), ids[3]: None})
    desk = open_desk(qtbot, good_store, policy)
    r = desk.reviewer
    assert [i.id for i in r.items] == ids
    qtbot.keyClick(desk.viewer, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: idle(desk) and r.current.id == ids[1], timeout=10000)
    assert [i.id for i in r.items] == ids[1:] and [i.id for i in desk.queue_panel.model._items] == ids[1:]
    until = good_store.db.execute("SELECT skip_until FROM items WHERE id = ?", (ids[0],)).fetchone()[0]
    minutes = (parse_iso(until) - utc_now()).total_seconds() / 60
    assert 14 < minutes <= 15  # skip_hide_minutes, before its SLA (40 min) would breach
    assert r.queue.hidden == {ids[0]: until}
    # Its time is up: it comes back first again, not behind the items due later than it.
    good_store.write(lambda db: db.execute("UPDATE items SET skip_until = ? WHERE id = ?", (due_in(-0.1), ids[0])))
    r.queue.hidden[ids[0]] = due_in(-0.1)
    r.tick()
    qtbot.waitUntil(lambda: len(r.items) == 4 and not desk.runner.busy, timeout=10000)
    assert [i.id for i in r.items] == ids and [i.id for i in desk.queue_panel.model._items] == ids
    desk.close()


def test_a_skip_hidden_across_a_restart_stays_hidden(qtbot, good_store, policy):
    service = ReviewService(good_store, policy, "tester")
    ids = [i.id for i in service.queue()]
    service.skip(ids[2], 15)
    desk = open_desk(qtbot, good_store, policy)
    assert [i.id for i in desk.reviewer.items] == [ids[0], ids[1], ids[3]] and ids[2] in desk.reviewer.queue.hidden
    desk.close()


def test_after_a_decision_the_desk_goes_to_the_top_not_the_row_below(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    r = desk.reviewer
    ids = [i.id for i in r.items]
    r.go_to(2)
    qtbot.waitUntil(lambda: idle(desk) and r.current.id == ids[2], timeout=10000)
    qtbot.keyClick(desk.viewer, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: idle(desk) and len(r.items) == 3, timeout=10000)
    assert r.current.id == ids[0] and desk.viewer.prepared.item_id == ids[0]  # top, not ids[3]
    assert desk.queue_panel.view.selectionModel().selectedRows()[0].row() == 0
    desk.close()


def test_the_early_paint_predicts_the_top_too(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    r = desk.reviewer
    qtbot.waitUntil(lambda: r.cache.idle and not desk.runner.busy, timeout=10000)
    ids = [i.id for i in r.items]
    r.go_to(1)
    qtbot.waitUntil(lambda: idle(desk) and r.current.id == ids[1], timeout=10000)
    qtbot.waitUntil(lambda: r.cache.idle and not desk.runner.busy, timeout=10000)
    painted = []
    desk.viewer.shown.connect(painted.append)
    qtbot.keyClick(desk.viewer, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: idle(desk) and len(r.items) == 3, timeout=10000)
    assert painted and set(painted) == {ids[0]}  # painted once ahead, then kept: the same item
    desk.close()


def test_overdue_items_are_pinned_on_top_in_the_breach_colour(qtbot, good_store, policy):
    service = ReviewService(good_store, policy, "tester")
    ids = [i.id for i in service.queue()]
    good_store.write(lambda db: db.execute("UPDATE items SET priority = 0 WHERE id = ?", (ids[3],)))
    set_due(good_store, {ids[3]: due_in(-30), ids[2]: due_in(-5), ids[0]: due_in(90)})
    desk = open_desk(qtbot, good_store, policy)
    r = desk.reviewer
    assert [i.id for i in r.items][:2] == [ids[3], ids[2]]  # most overdue first, whatever the priority
    assert r.current.id == ids[3]
    view = desk.queue_panel.view
    qtbot.waitUntil(lambda: view.isVisible() and view.viewport().height() > 0)
    view.clearSelection()  # the selection colour would cover the row's own
    picture = qimage_rgb(view.viewport().grab().toImage())
    row = view.visualRect(desk.queue_panel.model.index(1, 3))
    y, x = row.center().y(), row.center().x()
    patch = picture[y - 2:y + 3, x + 20:x + 40].reshape(-1, 3)
    breach = (BREACHED_ROW.red(), BREACHED_ROW.green(), BREACHED_ROW.blue())
    assert (abs(patch.astype(int) - breach).sum(axis=1) < 12).mean() > 0.5  # painted in the breach colour
    calm = view.visualRect(desk.queue_panel.model.index(2, 3)).center()
    patch = picture[calm.y() - 2:calm.y() + 3, calm.x() + 20:calm.x() + 40].reshape(-1, 3)
    assert (abs(patch.astype(int) - breach).sum(axis=1) < 12).mean() < 0.1  # a row not overdue is not
    desk.close()


def test_an_item_that_becomes_overdue_moves_to_the_top_on_the_next_tick(qtbot, good_store, policy):
    service = ReviewService(good_store, policy, "tester")
    ids = [i.id for i in service.queue()]
    good_store.write(lambda db: db.execute("UPDATE items SET priority = -1 WHERE id = ?", (ids[3],)))
    set_due(good_store, {ids[3]: due_in(0.02)})  # due in about a second; the lowest priority
    desk = open_desk(qtbot, good_store, policy)
    r = desk.reviewer
    assert [i.id for i in r.items][-1] == ids[3]
    qtbot.wait(1500)
    r.tick()
    qtbot.waitUntil(lambda: [i.id for i in r.items][0] == ids[3], timeout=5000)
    assert [i.id for i in desk.queue_panel.model._items] == [i.id for i in r.items]
    assert r.current.id == ids[0]  # the item on screen stays on screen; the list re-ordered around it
    desk.close()


def test_with_a_hub_a_skip_returns_the_lease_so_another_desk_can_take_it(qtbot, tmp_path, policy, hub_factory):
    from tests.hub_fixtures import poll
    from tests.test_desk_sync import add_photos, close_desk, open_hub_desk
    from upstream.leases import live_lease

    hub = hub_factory("sqlite", "--lease-seconds", "600")
    ids = add_photos(hub, ["astronaut", "coffee", "chelsea"])
    store, window = open_hub_desk(qtbot, tmp_path, policy, hub)
    r = window.reviewer
    qtbot.waitUntil(lambda: len(r.items) == 3 and on_screen(window), timeout=30000)
    engine = hub.engine()
    try:
        def held(item_id):
            with engine.connect() as conn:
                return live_lease(conn, item_id)[0] is not None

        assert held(ids[0])
        qtbot.keyClick(window.viewer, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: not held(ids[0]), timeout=20000)  # back on the hub, free for another desk
        poll(lambda: store.db.execute("SELECT state FROM hub_leases WHERE item_id = ? ORDER BY rowid DESC",
                                      (ids[0],)).fetchone()[0] == "returned")
        assert held(ids[1]) and r.current.id == ids[1]  # the others stay in hand; the desk went to the top
        window.sync.sync_round()  # the hub offers it to this desk again: straight back while it is hidden here
        poll(lambda: store.db.execute("SELECT COUNT(*) FROM hub_leases WHERE item_id = ? AND reason = 'skipped here'",
                                      (ids[0],)).fetchone()[0] >= 1)
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=20000)
        assert not held(ids[0]) and ids[0] not in [i.id for i in r.items]
        strip = window.progress  # with a hub the strip says the sync state too
        qtbot.waitUntil(lambda: "● online, synced" in strip.main.toolTip(), timeout=20000)
        assert strip.next_step == "Waiting for work from the hub…"  # what the empty queue says after the summary
    finally:
        engine.dispose()
    close_desk(qtbot, window, store)
