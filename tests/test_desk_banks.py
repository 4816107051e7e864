"""Banks in the real window: background matching routes the queue, badges and the suggested label
show, Enter applies it, an allow-bank match closes the item, and B adds a decided item to a bank."""

from __future__ import annotations

import cv2
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from moderator import export
from moderator.bank_formats import BankRow, write_bank_file
from moderator.banks import BankService
from moderator.settings import Settings
from moderator.signals import PDQ
from tests.conftest import photo, write_image
from tests.desk_helpers import on_screen, open_desk

SETTINGS = Settings(palate_cleanser=False)


def bank_of_edited_copy(tmp_path, name: str, label: str, kind: str, action: str, policy, store):
    """A bank holding the PDQ of a recompressed, half-size copy of the rocket photo (not the file we import)."""
    edited = cv2.resize(photo("rocket"), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    copy = write_image(tmp_path / f"{name}-source.jpg", edited, quality=30)
    bank_file = tmp_path / f"{name}.csv"
    write_bank_file([BankRow("pdq", PDQ.hash_file(copy).hex, label, "test")], bank_file, "csv")
    BankService(store, policy, "lead").import_bank(bank_file, name, kind=kind, action=action)


@pytest.fixture
def store(good_store):
    """The good_folder photos, imported: a copy of the session's template store."""
    return good_store


@pytest.fixture
def rocket_id(store):
    return store.db.execute("SELECT id FROM items WHERE source_name = 'rocket.jpg'").fetchone()[0]


def test_escalate_bank_moves_item_up_and_enter_applies_the_label(qtbot, store, policy, tmp_path, rocket_id):
    bank_of_edited_copy(tmp_path, "known-gore", "violence_gore", "block", "escalate", policy, store)
    window = open_desk(qtbot, store, policy, SETTINGS)
    r = window.reviewer
    qtbot.waitUntil(lambda: r.items[0].id == rocket_id, timeout=20000)  # routed to the top; current stays
    assert r.queue.reads == 1  # routing applied its Changes: no full re-read after the first load
    for _ in range(r.index):
        qtbot.waitUntil(lambda: on_screen(window))
        QTest.keyClick(window.viewer, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: r.current.id == rocket_id and on_screen(window))
    item = r.current
    assert item.suggested_label == "violence_gore" and item.match_badges[0].startswith("known-gore:violence_gore d=")
    assert window.queue_panel.model.index(0, 4).data() == "● known-gore"
    assert "known-gore:violence_gore" in window.queue_panel.model.index(0, 4).data(Qt.ItemDataRole.ToolTipRole)
    assert "known-gore" in window.facts.text_of("Bank matches")
    assert window.labels.suggested() == "violence_gore"
    QTest.keyClick(window.viewer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(export.export_rows(store.db)) == 1)
    row = export.export_rows(store.db)[0]
    assert (row["item_id"], row["labels"], row["actor"]) == (rocket_id, ["violence_gore"], "tester")
    window.runner.wait()


def test_allow_bank_closes_the_item_by_bank(qtbot, store, policy, tmp_path, rocket_id):
    bank_of_edited_copy(tmp_path, "known-ok", "no_violation", "allow", "allow", policy, store)
    window = open_desk(qtbot, store, policy, SETTINGS)
    qtbot.waitUntil(lambda: len(window.reviewer.items) == 3, timeout=20000)
    assert rocket_id not in [i.id for i in window.reviewer.items]
    assert window.reviewer.queue.reads == 1
    row = export.export_rows(store.db)[0]
    assert (row["item_id"], row["actor"], row["source"], row["action"]) == (rocket_id, "bank:known-ok", "bank", "allow")
    window.runner.wait()


def test_b_adds_the_decided_item_to_a_bank(qtbot, store, policy, tmp_path, rocket_id):
    BankService(store, policy, "lead").create_bank("team-removals", "block", action="escalate")
    window = open_desk(qtbot, store, policy, SETTINGS)
    first = window.reviewer.current
    QTest.keyClick(window.viewer, Qt.Key.Key_2)  # spam → remove
    qtbot.waitUntil(lambda: window.reviewer.last_decided is not None)
    QTest.keyClick(window.viewer, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: window.bank_bar.isVisible())
    assert window.bank_bar.label.text() == "spam" and window.bank_bar.banks.currentData() == "team-removals"
    QTest.keyClick(window.bank_bar.label, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: store.db.execute("SELECT COUNT(*) FROM bank_entries").fetchone()[0] == 1, timeout=10000)
    entry = store.db.execute("SELECT label, source FROM bank_entries").fetchone()
    assert tuple(entry) == ("spam", f"item:{first.id}")
    events = [tuple(r) for r in store.db.execute("SELECT event, subject FROM audit_log WHERE event = 'bank_add'")]
    assert events == [("bank_add", first.id)]
    assert len(export.export_rows(store.db)) == 1  # the bar never decided anything itself
    window.runner.wait()


def test_b_before_any_decision_says_what_to_do(qtbot, store, policy):
    window = open_desk(qtbot, store, policy, SETTINGS)
    QTest.keyClick(window.viewer, Qt.Key.Key_B)
    assert not window.bank_bar.isVisible() and "Decide an item first" in window.statusBar().currentMessage()
    QTest.keyClick(window.viewer, Qt.Key.Key_Return)  # no suggestion: nothing is decided
    window.runner.wait()
    assert export.export_rows(store.db) == [] and "No bank match" in window.statusBar().currentMessage()


def test_ctrl_b_lists_bank_decisions_and_reopens(qtbot, store, policy, tmp_path, rocket_id):
    bank_of_edited_copy(tmp_path, "known-ok", "no_violation", "allow", "allow", policy, store)
    window = open_desk(qtbot, store, policy, SETTINGS)
    qtbot.waitUntil(lambda: len(window.reviewer.items) == 3, timeout=20000)
    dialog = window.bank_actions.dialog
    QTest.keyClick(window.viewer, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.table.rowCount() == 1)
    assert dialog.table.item(0, 0).text() == "rocket.jpg" and dialog.table.item(0, 1).text() == "bank:known-ok"
    dialog.reopen_button.click()
    qtbot.waitUntil(lambda: len(window.reviewer.items) == 4 and dialog.table.rowCount() == 0, timeout=10000)
    history = export.export_rows(store.db, include_history=True)
    assert [(r["actor"], r["action"]) for r in history] == [("bank:known-ok", "allow"), ("tester", "undo")]
    assert dialog.reopen_button.isEnabled() is False
    assert window.reviewer.queue.reads == 1  # the reopen's Changes brought the item back, no re-read
    window.runner.wait()


def test_a_bank_suggesting_csam_locks_the_item_filtered(qtbot, store, policy, tmp_path, rocket_id):
    bank_of_edited_copy(tmp_path, "hotline", "csam_suspected", "block", "escalate", policy, store)
    window = open_desk(qtbot, store, policy, SETTINGS)
    r = window.reviewer
    qtbot.waitUntil(lambda: r.items[0].id == rocket_id, timeout=20000)
    for _ in range(r.index):
        qtbot.waitUntil(lambda: on_screen(window))
        QTest.keyClick(window.viewer, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: r.current.id == rocket_id and on_screen(window) and window.viewer.spec.blur == 6)
    assert window.viewer.spec.reveal.value == "none"  # no category hint: the match alone decides
    qtbot.keyPress(window.viewer, Qt.Key.Key_Space)
    assert not window.viewer.peeking
    qtbot.keyRelease(window.viewer, Qt.Key.Key_Space)
    window.runner.wait()
