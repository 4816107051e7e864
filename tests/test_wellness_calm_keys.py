"""The calm screen is dark (painted pixels) and comes only after high-severity decisions; the break
banner's buttons have keys; the exposure meter counts a reveal while it runs."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from moderator.domain import Action
from moderator.settings import Settings
from moderator.viewing import needs_calm_screen
from tests.desk_helpers import on_screen, open_desk, qimage_rgb

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def desk(qtbot, good_store, policy):
    window = open_desk(qtbot, good_store, policy, Settings(palate_cleanser_seconds=1.5, reveal_seconds=3))
    yield window
    window.runner.wait()
    window.close()


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.2126, 0.7152, 0.0722])


def test_the_calm_screen_after_a_high_severity_item_is_dark(qtbot, desk):
    QTest.keyClick(desk.viewer, Qt.Key.Key_7)  # self-harm: severity 4
    qtbot.waitUntil(lambda: desk.viewer.calm)
    painted = qimage_rgb(desk.viewer.grab().toImage())
    light = luminance(painted)
    assert np.percentile(light, 95) < 50 and light.mean() < 45  # no bright flash; only the words are light
    spread = painted.astype(int).max(axis=2) - painted.astype(int).min(axis=2)
    assert np.percentile(spread, 95) < 30  # and no vivid colour either
    assert light.max() > 120  # the sentence is still readable on it
    qtbot.waitUntil(lambda: on_screen(desk), timeout=5000)


def test_only_high_severity_decisions_earn_a_calm_screen(qtbot, desk, policy):
    settings = desk.settings
    for label in policy.labels:
        assert needs_calm_screen(policy, settings, [label.name], label.action) == (label.severity >= 4)
    assert needs_calm_screen(policy, settings, [], Action.ESCALATE)  # an escalation without a label
    calm_seen = []

    def next_item_shown() -> bool:  # polled every few ms: a 1.5 s calm screen could not slip by
        calm_seen.append(desk.viewer.calm)
        return on_screen(desk) and desk.reviewer.current.id != first

    first = desk.reviewer.current.id
    QTest.keyClick(desk.viewer, Qt.Key.Key_2)  # spam: severity 1
    qtbot.waitUntil(next_item_shown, timeout=5000)
    desk.runner.wait()
    for _ in range(20):
        qtbot.wait(25)
        calm_seen.append(desk.viewer.calm)
    assert True not in calm_seen


def test_the_break_banner_buttons_name_their_keys_and_the_keys_work(qtbot, desk):
    banner = desk.break_banner
    desk.wellness.advisor.add_decision(9)
    banner.remind("1 high-severity item since your last break")
    assert "Ctrl+Shift+B" in banner.start_button.text() and "Ctrl+Shift+N" in banner.snooze_button.text()
    QTest.keyClick(desk.viewer, Qt.Key.Key_N, CTRL_SHIFT)
    assert banner.isHidden() and desk.wellness.advisor.snoozed_until_ms > 0
    QTest.keyClick(desk.viewer, Qt.Key.Key_N, CTRL_SHIFT)  # no reminder showing: nothing to snooze
    assert banner.isHidden()
    QTest.keyClick(desk.viewer, Qt.Key.Key_B, CTRL_SHIFT)
    assert not banner.isHidden() and "On a break" in banner.text.text()
    left = desk.wellness._break_left
    QTest.keyClick(desk.viewer, Qt.Key.Key_B, CTRL_SHIFT)  # a second press does not restart it
    assert desk.wellness._break_left == left
    assert on_screen(desk)  # keys reach the review as before: nothing is blocked


def test_the_meter_counts_a_reveal_while_it_runs(qtbot, desk):
    assert "Exposure today 0:00" in desk.meter.text()
    QTest.keyClick(desk.viewer, Qt.Key.Key_R)
    assert desk.reveal.kind == "reveal"
    qtbot.waitUntil(lambda: "Exposure today 0:01" in desk.meter.text(), timeout=2500)
    assert desk.reveal.kind == "reveal"  # still running: the meter did not wait for the save
    QTest.keyClick(desk.viewer, Qt.Key.Key_R)  # end it
    qtbot.waitUntil(lambda: desk.wellness.today is not None and desk.wellness.today.exposure_ms >= 1000)
    assert "Exposure today 0:01" in desk.meter.text()


def test_the_meter_counts_a_grid_peek_while_it_is_held(qtbot, good_store, policy):
    from tests.grid_helpers import open_grid

    window = open_desk(qtbot, good_store, policy, Settings(palate_cleanser=False, reveal_seconds=5))
    grid = open_grid(qtbot, window)
    qtbot.keyPress(grid.list, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: grid.peek.peeking)
    qtbot.waitUntil(lambda: "Exposure today 0:01" in window.meter.text(), timeout=2500)
    assert grid.peek.peeking  # counted while held, before the release saves it
    qtbot.keyRelease(grid.list, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.wellness.today is not None and window.wellness.today.exposure_ms >= 1000)
    window.runner.wait()
    window.close()
