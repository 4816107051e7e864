"""The real window, driven with keys through pytest-qt; every assertion reads the SQLite file."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from moderator import export
from moderator.actions import GRID_VIEW_KEYS, DeskAction
from moderator.ingest import import_paths
from moderator.keymap import load_keymap
from storage import audit
from tests.conftest import photo, write_image
from tests.desk_helpers import held_for, on_screen, open_desk
from ui.app import build_window


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.waitUntil(lambda: on_screen(window), timeout=10000)
    qtbot.keyClick(window.viewer, key, modifier)


@pytest.fixture
def desk(qtbot, good_store, policy):
    window = open_desk(qtbot, good_store, policy)
    yield window
    window.close()  # waits for every queued op, before the store closes


def decisions(store):
    return export.export_rows(store.db, include_history=True)


def test_first_item_is_shown_filtered(desk):
    prepared = desk.viewer.prepared
    assert prepared.spec.blur == 3 and prepared.spec.grayscale
    assert prepared.filtered.isGrayscale() and not prepared.original.isGrayscale()
    assert desk.queue_panel.model.rowCount() == 4
    assert desk.facts.text_of("Status") == "pending"


def test_the_issue_key_sequence(qtbot, desk, good_store):
    store = good_store
    ids = [i.id for i in desk.reviewer.items]
    press(qtbot, desk, Qt.Key.Key_1)
    press(qtbot, desk, Qt.Key.Key_3)
    press(qtbot, desk, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: desk.reviewer.current.id == ids[1] and on_screen(desk))  # undo goes back to it
    press(qtbot, desk, Qt.Key.Key_2)
    press(qtbot, desk, Qt.Key.Key_S)
    press(qtbot, desk, Qt.Key.Key_E)
    assert desk.escalate_bar.isVisible()
    qtbot.keyClicks(desk.escalate_bar.edit, "same uploader as last week")
    qtbot.keyClick(desk.escalate_bar.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(decisions(store)) == 5 and not desk.reviewer.saving)

    rows = decisions(store)
    assert [(r["item_id"], r["labels"], r["action"]) for r in rows] == [
        (ids[0], ["no_violation"], "allow"),
        (ids[1], ["nudity"], "age_restrict"),
        (ids[1], [], "undo"),
        (ids[1], ["spam"], "remove"),
        (ids[3], [], "escalate"),  # ids[2] was skipped, so E acted on the next one
    ]
    assert rows[2]["supersedes"] == rows[1]["uuid"] and rows[4]["note"] == "same uploader as last week"
    assert all(r["actor"] == "tester" and r["policy_version"] == "2026-11-01" for r in rows)
    events = [r[0] for r in store.db.execute("SELECT event FROM audit_log ORDER BY seq")]
    assert events == ["import"] * 4 + ["decision", "decision", "undo", "decision", "skip", "decision"]
    assert audit.verify(store.db) is None
    assert store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 5
    assert [r["labels"] for r in export.export_rows(store.db)] == [["no_violation"], ["spam"], []]
    assert [i.id for i in desk.reviewer.items] == []  # only the skipped item is open, hidden for a while
    assert list(desk.reviewer.queue.hidden) == [ids[2]]


def test_a_double_press_while_saving_counts_once(qtbot, desk, good_store):
    qtbot.keyClick(desk.viewer, Qt.Key.Key_2)
    qtbot.keyClick(desk.viewer, Qt.Key.Key_2)  # arrives while the first is being saved
    qtbot.waitUntil(lambda: not desk.reviewer.saving and on_screen(desk) and not desk.runner.busy)
    assert len(decisions(good_store)) == 1


def test_auto_repeat_never_decides(qtbot, desk, good_store):
    repeat = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_1, Qt.KeyboardModifier.NoModifier, "1", True)
    QApplication.sendEvent(desk.viewer, repeat)  # a decision would be queued by now: sent, not posted
    qtbot.waitUntil(lambda: not desk.runner.busy)
    assert decisions(good_store) == []


def test_peek_shows_original_and_counts_exposure(qtbot, desk, good_store):
    store = good_store
    first = desk.reviewer.current.id
    qtbot.keyPress(desk.viewer, Qt.Key.Key_Space)
    assert desk.viewer.peeking
    held_for(qtbot, desk.reveal, 120)
    qtbot.keyRelease(desk.viewer, Qt.Key.Key_Space)
    assert not desk.viewer.peeking
    press(qtbot, desk, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: len(decisions(store)) == 1)
    row = decisions(store)[0]
    assert row["item_id"] == first and row["exposure_ms"] >= 100
    kinds = store.db.execute("SELECT kind, decision_uuid FROM exposure_events").fetchall()
    assert [tuple(k) for k in kinds] == [("peek", row["uuid"])]


def test_csam_suspected_cannot_be_peeked(qtbot, store, policy, tmp_path):
    write_image(tmp_path / "brick.jpg", photo("astronaut"))
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "brick.jpg", "category": "csam_suspected"}) + "\n")
    import_paths(store, [tmp_path / "m.jsonl"], "tester")
    window = open_desk(qtbot, store, policy)
    assert window.viewer.prepared.spec.blur == 6
    qtbot.keyPress(window.viewer, Qt.Key.Key_Space)
    assert not window.viewer.peeking
    assert "does not allow" in window.statusBar().currentMessage()
    qtbot.keyRelease(window.viewer, Qt.Key.Key_Space)
    window.close()


def test_navigation_and_help(qtbot, desk):
    ids = [i.id for i in desk.reviewer.items]
    press(qtbot, desk, Qt.Key.Key_J)
    assert desk.reviewer.current.id == ids[1]
    press(qtbot, desk, Qt.Key.Key_Down)
    press(qtbot, desk, Qt.Key.Key_K)
    assert desk.reviewer.current.id == ids[1]
    assert desk.queue_panel.view.selectionModel().selectedRows()[0].row() == 1
    qtbot.keyClick(desk.viewer, Qt.Key.Key_Question)
    assert desk.help.isVisible()
    table = desk.help.table
    described = [table.item(r, 1).text() for r in range(table.rowCount())]
    assert any("Undo" in d for d in described) and len(described) == 9 + len(DeskAction) + len(GRID_VIEW_KEYS)


def test_queue_model(qtmodeltester, desk):
    qtmodeltester.check(desk.queue_panel.model)


def test_empty_queue_says_so(qtbot, store, policy):
    window = build_window(store, policy, load_keymap(), "tester")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.reviewer.current is None and not window.runner.busy)
    qtbot.keyClick(window.viewer, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: not window.runner.busy)
    assert "queue is empty" in window.viewer._message
    window.close()


def test_import_from_the_desk_adds_items_and_names_bad_files(qtbot, desk, tmp_path):
    more = tmp_path / "more"
    more.mkdir()
    write_image(more / "retina.jpg", photo("retina"))
    (more / "broken.jpg").write_text("not a photo")
    with qtbot.waitSignal(desk.importer.finished, timeout=20000) as blocker:
        desk.importer.start([more])
    report = blocker.args[0]
    assert len(report.imported) == 1 and [s.reason for s in report.skipped][0].startswith("not an image")
    qtbot.waitUntil(lambda: len(desk.reviewer.items) == 5)
    assert "imported 1, skipped 1" in desk.statusBar().currentMessage()
    # The status line stays short; each bad file and its reason is a row of the messages panel (M).
    assert any(r[:2] == ("not imported", "broken.jpg") and r[2].startswith("not an image") for r in desk.messages.rows())
    desk.importer.start([tmp_path / "missing"])
    qtbot.waitUntil(lambda: not desk.importer.running)
    assert "Not imported: no such file or folder" in desk.statusBar().currentMessage()
