"""Ctrl+Z undoes only the last decision, only within undo_window_minutes, never an escalation; every
undo says what it undid and the counters go back. Real store, real desk window, SQLite read back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from moderator.clock import iso, utc_now
from moderator.domain import Action, Decision, DecisionSource
from moderator.review import ReviewService, UndoRefused
from moderator.settings import Settings
from moderator.undo_rules import quick_undo_refusal, undone_text
from tests.desk_helpers import on_screen, open_desk


def rows(store) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in store.db.execute("SELECT item_id, action FROM decisions ORDER BY seq")]


def idle(window) -> bool:
    return on_screen(window) and not window.runner.busy


def decision(action: Action, age_min: float) -> Decision:
    return Decision(uuid="u", item_id="i", labels=("spam",) if action is not Action.ESCALATE else (), action=action,
                    actor="a", decided_at=iso(utc_now() - timedelta(minutes=age_min)), policy_version="p",
                    source=DecisionSource.MANUAL)


def test_the_rule_allows_recent_decisions_only_and_never_an_escalation():
    now = utc_now()
    assert quick_undo_refusal(decision(Action.REMOVE, 9.5), now, 10) is None
    assert "last 10 minutes" in quick_undo_refusal(decision(Action.REMOVE, 10.5), now, 10)
    assert "history (H)" in quick_undo_refusal(decision(Action.ESCALATE, 0.1), now, 10)
    assert quick_undo_refusal(None, now, 10) is None  # nothing to undo: the caller says so


def test_ctrl_z_within_the_window_says_what_it_undid_and_the_counters_go_back(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    first = desk.reviewer.current
    qtbot.waitUntil(lambda: desk.progress.progress.session_total == 4, timeout=10000)
    qtbot.keyClick(desk.viewer, Qt.Key.Key_2)  # spam
    qtbot.waitUntil(lambda: idle(desk) and desk.progress.progress.session_decided == 1, timeout=10000)
    assert desk.status_label.text() == "1 / 4 decided · 3 open"
    qtbot.keyClick(desk.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: idle(desk) and len(rows(good_store)) == 2 and desk.progress.progress.session_decided == 0,
                    timeout=10000)
    assert rows(good_store) == [(first.id, "remove"), (first.id, "undo")]
    assert desk.statusBar().currentMessage() == f"Undone: {first.source_name} · Spam / scam → remove"
    assert desk.reviewer.current.id == first.id and len(desk.reviewer.items) == 4
    assert desk.status_label.text() == "0 / 4 decided · 4 open"
    desk.close()


def test_ctrl_z_outside_the_window_writes_nothing_and_points_to_the_history(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy, Settings(undo_window_minutes=0))
    qtbot.keyClick(desk.viewer, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: idle(desk) and len(rows(good_store)) == 1, timeout=10000)
    qtbot.wait(5)  # older than a window of 0 minutes
    qtbot.keyClick(desk.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "history (H)" in desk.statusBar().currentMessage() and idle(desk), timeout=10000)
    assert "Not saved" not in desk.statusBar().currentMessage()
    assert [a for _, a in rows(good_store)] == ["remove"] and len(desk.reviewer.items) == 3
    desk.close()


def test_an_escalation_is_not_undone_by_ctrl_z(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    qtbot.keyClick(desk.viewer, Qt.Key.Key_E)
    qtbot.keyClicks(desk.escalate_bar.edit, "same account as yesterday")
    qtbot.keyClick(desk.escalate_bar.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: idle(desk) and len(rows(good_store)) == 1, timeout=10000)
    qtbot.keyClick(desk.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "An escalation is undone from the history" in desk.statusBar().currentMessage(),
                    timeout=10000)
    assert [a for _, a in rows(good_store)] == ["escalate"]
    desk.close()


def test_the_service_refuses_before_writing(good_store, policy):
    service = ReviewService(good_store, policy, "tester")
    item = service.queue()[0]
    service.escalate(item.id, "needs legal")
    with pytest.raises(UndoRefused):
        service.undo_recent(10)
    assert [a for _, a in rows(good_store)] == ["escalate"]
    outcome = service.undo_decision(service.store.db.execute("SELECT uuid FROM decisions").fetchone()[0])
    assert undone_text(policy, outcome.title, list(outcome.undone)) == f"Undone: {item.source_name} · Escalated → escalate"
    assert [a for _, a in rows(good_store)] == ["escalate", "undo"]
