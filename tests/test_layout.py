"""The desk's layout: the media gets the room. Ctrl+1 / Ctrl+3 hide and show the queue and the side
panel, both keep readable minimum widths, the viewer never moves when the side panel's text changes,
and at 1024x700 no label, status counter or help row is cut."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from moderator.settings import Settings
from tests.desk_helpers import on_screen, open_desk
from ui.main_window import QUEUE_MIN_WIDTH, SIDE_WIDTH

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def desk(qtbot, good_store, policy):
    window = open_desk(qtbot, good_store, policy, Settings(palate_cleanser=False))
    yield window
    window.close()


def settle(qtbot, window, size=None):
    if size:
        window.resize(*size)
    for _ in range(3):
        QApplication.processEvents()
    qtbot.wait(20)


def plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text).replace("&nbsp;", " ").replace("&amp;", "&")


def clipped_labels(window) -> list[str]:
    """Every visible one-line label whose text is wider than the label (what a person sees cut off)."""
    cut = []
    for label in window.findChildren(QLabel):
        text = plain(label.text())
        if not label.isVisible() or label.wordWrap() or not text.strip() or label.width() <= 0:
            continue
        for line in text.splitlines():
            if label.fontMetrics().horizontalAdvance(line) > label.contentsRect().width():
                cut.append(f"{label.objectName() or type(label.parent()).__name__}: {line!r} "
                           f"({label.fontMetrics().horizontalAdvance(line)} px in {label.contentsRect().width()})")
    return cut


def test_ctrl_1_and_ctrl_3_give_the_viewer_the_room_and_give_it_back(qtbot, desk):
    settle(qtbot, desk, (1024, 700))
    narrow = desk.viewer.width()
    QTest.keyClick(desk.viewer, Qt.Key.Key_1, CTRL)
    settle(qtbot, desk)
    assert desk.queue_panel.isHidden() and desk.viewer.width() >= narrow + QUEUE_MIN_WIDTH
    QTest.keyClick(desk.viewer, Qt.Key.Key_3, CTRL)
    settle(qtbot, desk)
    assert desk.side_panel.isHidden() and desk.viewer.width() >= narrow + QUEUE_MIN_WIDTH + SIDE_WIDTH
    assert on_screen(desk)  # nothing but the room changed: the item is still on screen
    QTest.keyClick(desk.viewer, Qt.Key.Key_1, CTRL)
    QTest.keyClick(desk.viewer, Qt.Key.Key_3, CTRL)
    settle(qtbot, desk)
    assert not desk.queue_panel.isHidden() and not desk.side_panel.isHidden()
    assert desk.viewer.width() == narrow


def test_the_collapse_keys_are_in_the_keymap_and_the_help(desk):
    keys = {b.command: b.keys for b in desk.bindings}
    assert keys["toggle_queue"] == ("Ctrl+1",) and keys["toggle_side"] == ("Ctrl+3",)
    rows = {desk.help.table.item(r, 0).text(): desk.help.table.item(r, 1).text()
            for r in range(desk.help.table.rowCount())}
    assert "queue panel" in rows["Ctrl+1"] and "side panel" in rows["Ctrl+3"]


def test_panels_keep_their_minimum_widths(qtbot, desk):
    settle(qtbot, desk, (1024, 700))
    desk.splitter.setSizes([10, 2000, 10])  # a drag as far as it goes
    settle(qtbot, desk)
    assert desk.queue_panel.width() >= QUEUE_MIN_WIDTH and desk.side_panel.width() == SIDE_WIDTH
    assert desk.width() <= 1024  # the minimums fit a 1024 px laptop window


def test_the_viewer_never_moves_when_the_side_panel_text_changes(qtbot, desk):
    settle(qtbot, desk, (1024, 700))
    before = QRect(desk.viewer.mapTo(desk, desk.viewer.rect().topLeft()), desk.viewer.size())
    item = desk.reviewer.current
    long_one = replace(item, external_id="x" * 120, reason="a very long report reason " * 12,
                       category="an_unusually_long_category_name_without_spaces_at_all")
    desk.facts.show_item(long_one)
    settle(qtbot, desk)
    assert QRect(desk.viewer.mapTo(desk, desk.viewer.rect().topLeft()), desk.viewer.size()) == before
    assert desk.side_panel.width() == SIDE_WIDTH


@pytest.mark.parametrize("size", [(1024, 700), (1600, 1000)])
def test_no_label_is_cut_and_the_status_counters_stand_apart(qtbot, desk, size):
    settle(qtbot, desk, size)
    desk.wellness.advisor.add_decision(5)
    desk.break_banner.remind("1 high-severity item since your last break")
    settle(qtbot, desk)
    assert clipped_labels(desk) == []
    counters = [desk.meter, desk.status_label]
    assert all(c.isVisible() and c.fontMetrics().horizontalAdvance(c.text()) <= c.contentsRect().width()
               for c in counters)
    # Where each text is drawn (left-aligned in its contents): a visible gap, not one run of text.
    left_end = desk.meter.mapTo(desk, desk.meter.contentsRect().topLeft()).x() + \
        desk.meter.fontMetrics().horizontalAdvance(desk.meter.text())
    right_start = desk.status_label.mapTo(desk, desk.status_label.contentsRect().topLeft()).x()
    assert right_start - left_end >= 16
    media = desk.facts._values["Media"]
    assert media.fontMetrics().horizontalAdvance(media.text()) <= media.contentsRect().width()  # one line
    for button in (desk.break_banner.start_button, desk.break_banner.snooze_button):
        assert button.fontMetrics().horizontalAdvance(button.text()) < button.width()


@pytest.mark.parametrize("size", [(1024, 700), (1600, 1000)])
def test_the_help_sheet_fits_the_window_and_cuts_no_row(qtbot, desk, size):
    settle(qtbot, desk, size)
    desk.help.show()
    qtbot.waitUntil(desk.help.isVisible)
    settle(qtbot, desk)
    assert desk.help.width() <= size[0] and desk.help.height() <= size[1]
    table = desk.help.table
    width = table.columnWidth(1)
    for row in range(table.rowCount()):
        text = table.item(row, 1).text()
        needed = table.fontMetrics().boundingRect(QRect(0, 0, width - 8, 10_000),
                                                  Qt.TextFlag.TextWordWrap, text).height()
        assert needed <= table.rowHeight(row), f"row {row} ({text!r}) is cut"
        keys = table.item(row, 0).text()
        assert table.fontMetrics().horizontalAdvance(keys) <= table.columnWidth(0)
    desk.help.hide()


@pytest.fixture
def csam_desk(qtbot, store, policy, tmp_path):
    import json

    from moderator.ingest import import_paths
    from tests.conftest import photo, write_image

    work = tmp_path / "work"
    work.mkdir()
    items = [("astronaut", "csam_suspected"), ("coffee", "hate_symbol")]
    for n, (name, _category) in enumerate(items):
        write_image(work / f"{n}.jpg", photo(name))
    (work / "m.jsonl").write_text("".join(json.dumps({"path": f"{n}.jpg", "category": c}) + "\n"
                                          for n, (_name, c) in enumerate(items)))
    import_paths(store, [work / "m.jsonl"], "tester")
    window = open_desk(qtbot, store, policy, Settings(palate_cleanser=False))
    yield window
    window.close()


@pytest.mark.parametrize("size", [(1024, 700), (1600, 1000)])
def test_queue_categories_are_read_whole(qtbot, csam_desk, size):
    from ui.queue_model import COLUMNS

    settle(qtbot, csam_desk, size)
    view, model = csam_desk.queue_panel.view, csam_desk.queue_panel.model
    category = COLUMNS.index("Category")
    names = [model.index(r, category).data() for r in range(model.rowCount())]
    assert "csam_suspected" in names
    for name in names:
        assert view.fontMetrics().horizontalAdvance(name) + 8 <= view.columnWidth(category), name
    assert view.isColumnHidden(COLUMNS.index("Kind")) == (size[0] == 1024)  # narrow: Kind gives way


def test_the_settings_dialog_fits_a_1024x700_window(qtbot, desk):
    settle(qtbot, desk, (1024, 700))
    dialog = desk.settings_dialog
    dialog.floors = replace(desk.reviewer.service.policy.floors, min_blur=5, max_daily_exposure_s=900)
    dialog.edit(desk.settings)
    dialog.fields["daily_exposure_budget_s"].setValue(0)  # the note under the form takes two lines
    settle(qtbot, desk)
    hint = dialog.sizeHint()
    assert hint.height() <= 700 - 40 and hint.width() <= 1024
    assert "0 → 900" in dialog.policy_note.text()
    dialog.reject()
