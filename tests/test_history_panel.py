"""The history panel (H): my decisions newest first, named as I know the items; undo any standing one
after a confirmation (a superseding row through ReviewService); open one read-only, filtered, no
exposure. Real store, real window, SQLite read back, painted pixels."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from moderator.history import my_history
from tests.desk_helpers import on_screen, open_desk, qimage_rgb, saturation


def rows(store) -> list[tuple[str, str, str | None]]:
    return [(r[0], r[1], r[2]) for r in store.db.execute("SELECT item_id, action, supersedes FROM decisions ORDER BY seq")]


def decide(qtbot, desk, key) -> None:
    qtbot.waitUntil(lambda: on_screen(desk) and not desk.runner.busy, timeout=10000)
    qtbot.keyClick(desk.viewer, key)
    qtbot.waitUntil(lambda: not desk.reviewer.saving and not desk.runner.busy, timeout=10000)


def open_history(qtbot, desk):
    qtbot.keyClick(desk.viewer, Qt.Key.Key_H)
    panel = desk.history
    qtbot.waitUntil(lambda: panel.isVisible() and panel.table.rowCount() > 0 and not desk.runner.busy, timeout=10000)
    return panel


def test_newest_first_with_names_labels_and_local_times(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    names = [i.source_name for i in desk.reviewer.items]
    decide(qtbot, desk, Qt.Key.Key_2)  # spam on the first
    decide(qtbot, desk, Qt.Key.Key_1)  # no violation on the next one (the top)
    panel = open_history(qtbot, desk)
    cells = [[panel.table.item(r, c).text() for c in range(4)] for r in range(panel.table.rowCount())]
    assert [c[1:] for c in cells] == [[names[1], "No violation → allow", "stands"],
                                      [names[0], "Spam / scam → remove", "stands"]]
    assert all(len(c[0]) == 8 and c[0][2] == ":" for c in cells)  # HH:MM:SS today, local
    desk.close()


def test_undo_an_older_decision_after_a_confirmation(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    first = desk.reviewer.current
    decide(qtbot, desk, Qt.Key.Key_2)
    decide(qtbot, desk, Qt.Key.Key_1)
    panel = open_history(qtbot, desk)
    panel.table.selectRow(1)  # the older one: Ctrl+Z would undo the other
    qtbot.keyClick(panel.table, Qt.Key.Key_U)
    box = panel.confirm
    qtbot.waitUntil(lambda: box is not None and box.isVisible())
    assert "not your most recent decision" in box.text() and first.source_name in box.text()
    next(b for b in box.buttons() if b.text() == "Keep it").click()
    qtbot.wait(50)
    assert [a for _, a, _ in rows(good_store)] == ["remove", "allow"]  # kept: nothing written
    panel.undo_button.click()  # the button asks the same
    box = panel.confirm
    qtbot.waitUntil(lambda: box.isVisible())
    next(b for b in box.buttons() if b.text() == "Undo it").click()
    qtbot.waitUntil(lambda: len(rows(good_store)) == 3 and not desk.runner.busy and not desk.reviewer.saving,
                    timeout=10000)
    written = rows(good_store)
    spam_uuid = good_store.db.execute("SELECT uuid FROM decisions WHERE action = 'remove'").fetchone()[0]
    assert written[2] == (first.id, "undo", spam_uuid)  # supersedes the older decision, not the last
    assert desk.statusBar().currentMessage() == f"Undone: {first.source_name} · Spam / scam → remove"
    assert first.id in [i.id for i in desk.reviewer.items]
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2 and panel.table.item(1, 3).text() == "undone", timeout=10000)
    assert not panel.undo_button.isEnabled()  # an undone one cannot be undone again
    states = [e.state for e in my_history(good_store.db, "tester", policy)]
    assert states == ["stands", "undone"]
    desk.close()


def test_open_read_only_is_filtered_and_records_no_exposure(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    decide(qtbot, desk, Qt.Key.Key_2)
    panel = open_history(qtbot, desk)
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    view = panel.viewer
    qtbot.waitUntil(lambda: view is not None and view.isVisible() and view.spec is not None, timeout=10000)
    QApplication.processEvents()
    assert view.spec.grayscale and view.spec.blur >= 3  # the policy's and settings' filter, as in the queue
    picture = qimage_rgb(view.picture.pixmap().toImage())
    assert picture.shape[0] > 100 and saturation(picture).max() <= 12  # gray: filtered
    assert good_store.db.execute("SELECT COUNT(*) FROM exposure_events").fetchone()[0] == 0
    assert [a for _, a, _ in rows(good_store)] == ["remove"]  # read-only: nothing written
    desk.close()


def test_an_escalation_shows_its_target_reason_and_note_in_the_history(qtbot, good_store, policy):
    from moderator.escalation import Escalation
    from moderator.review import ReviewService

    item_id = good_store.db.execute("SELECT id FROM items ORDER BY rowid LIMIT 1").fetchone()[0]
    ReviewService(good_store, policy, "tester").escalate(
        item_id, Escalation("caption names a school\nsee the other posts", "child_safety", "Possible child exploitation"))
    entry = my_history(good_store.db, "tester", policy)[0]
    assert entry.what.endswith("→ Child safety team · Possible child exploitation · caption names a school"
                               " · see the other posts")
    desk = open_desk(qtbot, good_store, policy)
    panel = open_history(qtbot, desk)
    assert "→ Child safety team · Possible child exploitation" in panel.table.item(0, 2).text()
    desk.close()
