"""The wellness viewer in the real window: filtered by default, reveals end by themselves,
no reveal for suspected CSAM, exposure adds up, reminders at their thresholds."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from moderator import export
from moderator.ingest import import_paths
from moderator.settings import Settings
from tests.conftest import photo, write_image
from tests.desk_helpers import held_for, on_screen, open_decoders, open_desk

FAST = Settings(reveal_seconds=0.3, palate_cleanser=False)


def exposure_rows(store):
    return [dict(r) for r in store.db.execute("SELECT kind, ms, fraction, decision_uuid FROM exposure_events ORDER BY id")]


@pytest.fixture
def store(good_store):
    """Most tests here work on the good_folder photos: a copy of the session's template store."""
    return good_store


@pytest.fixture
def desk(qtbot, store, policy):
    window = open_desk(qtbot, store, policy, FAST)
    yield window
    window.close()  # waits for every queued op, before the store closes


def import_locked(store, work):
    write_image(work / "a.jpg", photo("astronaut"))
    (work / "m.jsonl").write_text(json.dumps({"path": "a.jpg", "category": "csam_suspected"}) + "\n")
    import_paths(store, [work / "m.jsonl"], "tester")


def import_clip(store, work):
    from moderator.demo import _write_video

    _write_video(work / "clip.mp4", [photo("astronaut"), photo("coffee"), photo("rocket")])
    import_paths(store, [work / "clip.mp4"], "tester")


@pytest.fixture
def template_desk(qtbot, store_templates, tmp_path, policy):
    """open(name, build): the desk on a copy of a template store (built once per session)."""
    stores = []

    def open_copy(name, build):
        stores.append(store_templates.copy(name, build, tmp_path / f"{name}-data"))
        return open_desk(qtbot, stores[-1], policy, FAST)

    yield open_copy
    for s in stores:
        s.close()


@pytest.fixture
def csam_desk(template_desk):
    window = template_desk("wellness-locked", import_locked)
    yield window
    window.close()


def test_every_item_is_filtered_by_default(qtbot, desk):
    for _ in range(len(desk.reviewer.items)):
        qtbot.waitUntil(lambda: on_screen(desk))
        spec = desk.viewer.prepared.spec
        assert spec.blur >= 3 and spec.grayscale and desk.viewer.prepared.filtered.isGrayscale()
        assert desk.reveal.kind is None
        QTest.keyClick(desk.viewer, Qt.Key.Key_J)


def test_timed_reveal_ends_by_itself_and_is_counted(qtbot, desk, store):
    QTest.keyClick(desk.viewer, Qt.Key.Key_R)
    assert desk.reveal.kind == "reveal" and desk.viewer._countdown.isActive()  # the badge counts down
    qtbot.waitUntil(lambda: desk.reveal.kind is None, timeout=3000)
    qtbot.waitUntil(lambda: len(exposure_rows(store)) == 1)
    row = exposure_rows(store)[0]
    assert row["kind"] == "reveal" and row["fraction"] == 1.0 and 295 <= row["ms"] <= 2000
    assert not desk.viewer._countdown.isActive()


def test_spotlight_toggle_and_hold_end_by_themselves(qtbot, desk, store):
    QTest.mouseMove(desk.viewer, QPoint(desk.viewer.width() // 2, desk.viewer.height() // 2))
    QTest.keyClick(desk.viewer, Qt.Key.Key_L)
    assert desk.reveal.kind == "spotlight"
    qtbot.waitUntil(lambda: desk.reveal.kind is None, timeout=3000)
    qtbot.keyPress(desk.viewer, Qt.Key.Key_Alt)
    assert desk.reveal.kind == "spotlight"
    qtbot.keyRelease(desk.viewer, Qt.Key.Key_Alt)
    assert desk.reveal.kind is None
    qtbot.waitUntil(lambda: len(exposure_rows(store)) == 2)
    fractions = [r["fraction"] for r in exposure_rows(store)]
    assert all(0.0 < f < 0.5 for f in fractions)  # a circle, not the whole picture


def test_navigation_ends_any_reveal(qtbot, desk):
    QTest.keyClick(desk.viewer, Qt.Key.Key_R)
    assert desk.reveal.kind == "reveal"
    QTest.keyClick(desk.viewer, Qt.Key.Key_J)
    assert desk.reveal.kind is None


def test_window_deactivation_ends_a_peek(qtbot, desk):
    qtbot.keyPress(desk.viewer, Qt.Key.Key_Space)
    assert desk.viewer.peeking
    QApplication.sendEvent(desk, QEvent(QEvent.Type.WindowDeactivate))
    assert not desk.viewer.peeking


@pytest.mark.parametrize("key", [Qt.Key.Key_Space, Qt.Key.Key_R, Qt.Key.Key_L, Qt.Key.Key_Alt])
def test_no_key_reveals_suspected_csam(qtbot, csam_desk, key):
    assert csam_desk.viewer.prepared.spec.blur == 6
    qtbot.keyPress(csam_desk.viewer, key)
    assert csam_desk.reveal.kind is None
    qtbot.keyRelease(csam_desk.viewer, key)
    assert "does not allow" in csam_desk.statusBar().currentMessage()
    assert csam_desk.viewer.prepared.filtered.isGrayscale()


def test_blur_keys_never_go_below_policy(qtbot, desk):
    assert desk.viewer.prepared.spec.blur == 3
    QTest.keyClick(desk.viewer, Qt.Key.Key_BracketRight)
    qtbot.waitUntil(lambda: on_screen(desk) and desk.viewer.prepared.spec.blur == 4)
    for _ in range(3):
        QTest.keyClick(desk.viewer, Qt.Key.Key_BracketLeft)
    qtbot.waitUntil(lambda: on_screen(desk) and desk.viewer.prepared.spec.blur == 3)
    assert "policy's minimum" in desk.statusBar().currentMessage()


def test_exposure_rows_add_up_to_the_decision(qtbot, desk, store):
    first = desk.reviewer.current.id
    qtbot.keyPress(desk.viewer, Qt.Key.Key_Space)
    held_for(qtbot, desk.reveal, 60)
    qtbot.keyRelease(desk.viewer, Qt.Key.Key_Space)
    QTest.keyClick(desk.viewer, Qt.Key.Key_R)
    held_for(qtbot, desk.reveal, 60)
    QTest.keyClick(desk.viewer, Qt.Key.Key_1)  # deciding ends the reveal first
    qtbot.waitUntil(lambda: len(export.export_rows(store.db)) == 1)
    decision = export.export_rows(store.db)[0]
    rows = exposure_rows(store)
    assert decision["item_id"] == first and [r["kind"] for r in rows] == ["peek", "reveal"]
    assert all(r["decision_uuid"] == decision["uuid"] for r in rows)
    assert decision["exposure_ms"] == sum(r["ms"] for r in rows) > 0


def test_high_severity_reminder_and_break(qtbot, store, policy):
    window = open_desk(qtbot, store, policy, Settings(break_after_high_severity=2, palate_cleanser=False,
                                                     break_minutes=1))
    for _ in range(2):
        qtbot.waitUntil(lambda: on_screen(window))
        QTest.keyClick(window.viewer, Qt.Key.Key_7)  # self-harm: severity 4
    qtbot.waitUntil(lambda: window.break_banner.isVisible())
    assert "2 high-severity items" in window.break_banner.text.text()
    window.break_banner.start_button.click()
    assert "On a break" in window.break_banner.text.text()
    qtbot.waitUntil(lambda: on_screen(window))
    QTest.keyClick(window.viewer, Qt.Key.Key_1)  # work goes on during a break: nothing is blocked
    qtbot.waitUntil(lambda: len(export.export_rows(store.db)) == 3)
    window.runner.wait()


def test_active_time_reminder_and_snooze(qtbot, desk):
    desk.wellness.settings = desk.wellness.advisor.settings = Settings(break_every_active_min=1)
    QTest.keyClick(desk.viewer, Qt.Key.Key_J)  # activity
    desk.wellness.tick(30_000)
    assert not desk.break_banner.isVisible()
    desk.wellness.tick(30_000)
    assert desk.break_banner.isVisible() and "1 minute of active review" in desk.break_banner.text.text()
    desk.break_banner.snooze_button.click()
    assert not desk.break_banner.isVisible()
    desk.wellness.tick(60_000)
    assert not desk.break_banner.isVisible()  # snoozed for 10 minutes


def test_palate_cleanser_after_a_high_severity_item(qtbot, store, policy):
    window = open_desk(qtbot, store, policy, Settings(palate_cleanser_seconds=0.4))
    QTest.keyClick(window.viewer, Qt.Key.Key_7)
    qtbot.waitUntil(lambda: window.viewer.calm)
    assert window.viewer.prepared is None
    QTest.keyClick(window.viewer, Qt.Key.Key_1)  # no decision on an item that is not on screen
    qtbot.waitUntil(lambda: on_screen(window), timeout=5000)
    window.runner.wait()
    assert len(export.export_rows(store.db)) == 1


def test_budget_leaves_only_peek(qtbot, store, policy):
    window = open_desk(qtbot, store, policy, Settings(daily_exposure_budget_s=1, reveal_seconds=1.2,
                                                     palate_cleanser=False))
    QTest.keyClick(window.viewer, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.reveal.over_budget, timeout=5000)
    assert "Exposure today 0:01" in window.meter.text()
    QTest.keyClick(window.viewer, Qt.Key.Key_R)
    assert window.reveal.kind is None and "budget" in window.statusBar().currentMessage()
    qtbot.keyPress(window.viewer, Qt.Key.Key_Space)
    assert window.viewer.peeking
    qtbot.keyRelease(window.viewer, Qt.Key.Key_Space)
    window.runner.wait()


@pytest.fixture
def video_desk(template_desk):
    window = template_desk("wellness-clip", import_clip)
    yield window
    window.close()


def test_video_starts_as_a_filtered_contact_sheet_and_plays_filtered(qtbot, video_desk):
    v = video_desk.viewer
    assert v.prepared.frames == 3 and v.prepared.filtered.isGrayscale()  # one keyframe per scene
    assert not video_desk.player.playing
    QTest.keyClick(v, Qt.Key.Key_Period)
    qtbot.waitUntil(lambda: v.caption.startswith("frame 1 / 60"))
    QTest.keyClick(v, Qt.Key.Key_P)
    assert video_desk.player.playing
    qtbot.waitUntil(lambda: "frame 6 /" in v.caption, timeout=5000)
    filtered, original = v._pictures
    assert filtered.isGrayscale() and not original.isGrayscale()
    QTest.keyClick(v, Qt.Key.Key_P)
    assert not video_desk.player.playing
    QTest.keyClick(v, Qt.Key.Key_Comma)
    qtbot.waitUntil(lambda: "paused" in v.caption and not video_desk.player._busy)


def test_exposure_cli_summarises_by_day_and_category(qtbot, desk, store, capsys):
    from moderator.cli import main

    QTest.keyClick(desk.viewer, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: desk.reveal.kind is None, timeout=3000)
    qtbot.waitUntil(lambda: len(exposure_rows(store)) == 1)
    assert main(["exposure", "--json", "--data-dir", str(store.data_dir), "--actor", "tester"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1 and rows[0]["kind"] == "reveal" and rows[0]["ms"] == exposure_rows(store)[0]["ms"]
    assert main(["exposure", "--json", "--data-dir", str(store.data_dir), "--actor", "someone-else"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_held_peek_ends_by_itself(qtbot, desk, store):
    qtbot.keyPress(desk.viewer, Qt.Key.Key_Space)
    assert desk.viewer.peeking
    qtbot.waitUntil(lambda: not desk.viewer.peeking, timeout=3000)  # 2 × reveal_seconds
    qtbot.keyRelease(desk.viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(exposure_rows(store)) == 1)
    assert exposure_rows(store)[0]["kind"] == "peek"


def test_settings_dialog_applies_now_and_is_saved(qtbot, desk, store):
    from moderator.settings import load_settings

    QTest.keyClick(desk.viewer, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dialog = desk.settings_dialog
    assert dialog.isVisible() and dialog.fields["reveal_seconds"].value() == 0.3
    dialog.fields["blur"].setValue(5)
    dialog.fields["style"].setCurrentIndex(dialog.fields["style"].findData("drawing"))
    dialog.fields["reveal_seconds"].setValue(2.5)
    dialog._on_save()
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: on_screen(desk) and desk.viewer.spec.blur == 5 and desk.viewer.spec.style == "drawing")
    assert desk.reveal.reveal_seconds == 2.5
    qtbot.waitUntil(lambda: "Settings saved" in desk.statusBar().currentMessage())
    assert load_settings().blur == 5 and load_settings().style == "drawing"


def test_closing_the_desk_mid_play_leaves_no_decoder_and_no_op_running(qtbot, video_desk):
    QTest.keyClick(video_desk.viewer, Qt.Key.Key_P)  # the first frame's read opens the decoder, on a worker
    assert video_desk.player.playing
    video_desk.close()
    assert video_desk.runner.closed and video_desk.runner.active_threads == 0
    assert open_decoders() == []
    assert video_desk.runner.run(lambda: 1) == 0  # a late callback can start nothing now
