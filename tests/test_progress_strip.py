"""The progress strip: decided / total this session and today, per label, overdue and due within the
hour, median handle time; it moves with every decision and undo. The empty queue shows the shift."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt

from moderator.clock import iso, utc_now
from moderator.progress import compute, shift_summary
from moderator.review import ReviewService
from tests.desk_helpers import on_screen, open_desk


def set_due(store, item_id: str, minutes: float) -> None:
    due = iso(utc_now() + timedelta(minutes=minutes))
    store.write(lambda db: db.execute("UPDATE items SET sla_due_at = ? WHERE id = ?", (due, item_id)))


def test_counts_from_the_stored_rows(good_store, policy):
    service = ReviewService(good_store, policy, "tester")
    a, b, c, d = [i.id for i in service.queue()]
    set_due(good_store, c, -5)  # breached
    set_due(good_store, d, 30)  # due within the hour
    start = iso(utc_now() - timedelta(seconds=1))
    service.decide(a, "spam", handle_ms=4000)
    service.decide(b, "spam", handle_ms=2000)
    escalation = service.escalate(c, "legal should see this", handle_ms=9000).decision
    service.undo_decision(escalation.uuid)  # the escalation goes back: it counts no more
    p = compute(good_store.db, "tester", policy, service.queue(), start, utc_now())
    assert (p.session_decided, p.today_decided, p.open_items, p.session_total) == (2, 2, 2, 4)
    assert p.per_label == (("Spam / scam", 2),) and p.escalations == 0
    assert (p.overdue, p.due_within_hour) == (1, 1) and p.median_handle_s == 3.0
    other = compute(good_store.db, "someone-else", policy, service.queue(), start, utc_now())
    assert other.today_decided == 0  # per moderator


def test_the_strip_moves_with_each_decision(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    strip = desk.progress
    qtbot.waitUntil(lambda: "0 / 4 decided this session" in strip.main.text(), timeout=10000)
    assert strip.isVisible() and strip.geometry().bottom() <= desk.viewer.geometry().top()  # above the viewer
    for n, key in enumerate((Qt.Key.Key_2, Qt.Key.Key_1), start=1):
        qtbot.waitUntil(lambda: on_screen(desk))
        qtbot.keyClick(desk.viewer, key)
        qtbot.waitUntil(lambda n=n: f"{n} / 4 decided this session" in strip.main.text(), timeout=10000)
    assert strip.labels.text() == "Spam / scam 1 · No violation 1"
    assert desk.status_label.text() == "2 / 4 decided · 2 open"
    desk.close()


def test_an_empty_queue_shows_the_shift_summary(qtbot, good_store, policy):
    desk = open_desk(qtbot, good_store, policy)
    for _ in range(4):
        qtbot.waitUntil(lambda: on_screen(desk), timeout=10000)
        qtbot.keyClick(desk.viewer, Qt.Key.Key_2)
        qtbot.waitUntil(lambda: not desk.reviewer.saving, timeout=10000)
    qtbot.waitUntil(lambda: "Decided: 4 this session" in desk.viewer._message, timeout=10000)
    text = desk.viewer._message
    assert "Decided: 4 this session, 4 today" in text and "Spam / scam 4" in text
    assert "Escalations today: 0" in text and "Breaks this session: 0" in text
    assert text.endswith("`moderator import PATH`.")  # no hub: how to get more work
    desk.close()


def test_with_a_hub_the_summary_waits_for_work():
    from moderator.progress import Progress

    text = shift_summary(Progress(session_decided=3, today_decided=5), "Waiting for work from the hub…")
    assert text.startswith("The queue is empty. Your shift so far:") and text.endswith("Waiting for work from the hub…")
    assert "Import" not in text
