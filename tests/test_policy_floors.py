"""Policy floors: the policy's [floors] sets the least protection, a moderator's settings can only be
stricter, the loader refuses a wrong floor in one line, and the settings dialog and the desk say when
the policy overrides a value."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from moderator.domain import WellnessFloors
from moderator.policy import PolicyError, default_policy_path, load_policy, parse_policy
from moderator.policy_floors import apply_floors
from moderator.settings import Settings, load_settings
from tests.desk_helpers import on_screen, open_desk
from ui.settings_dialog import SettingsDialog

FLOORS = WellnessFloors(min_blur=4, grayscale=True, max_daily_exposure_s=600, breaks=True,
                        max_break_every_active_min=60)


def policy_text(floors: str) -> str:
    """The shipped policy with `floors` instead of its own [floors] table."""
    shipped = re.sub(r"(?ms)^\[floors\]\n.*?(?=^\[|\Z)", "", default_policy_path().read_text())
    return shipped + "\n" + floors


def write_policy(tmp_path, floors: str):
    path = tmp_path / "policy.toml"
    path.write_text(policy_text(floors))
    return path


def test_the_loader_reads_the_floors(tmp_path):
    path = write_policy(tmp_path, "[floors]\nmin_blur = 4\ngrayscale = true\nmax_daily_exposure_s = 600\n"
                                  "breaks = true\nmax_break_every_active_min = 60\n")
    assert load_policy(path).floors == FLOORS


def test_the_shipped_policy_and_a_policy_without_floors_load():
    data = tomllib.loads(default_policy_path().read_text())
    data.pop("floors", None)
    assert parse_policy(data).floors == WellnessFloors()
    assert load_policy().floors.min_blur >= 0


@pytest.mark.parametrize(("floors", "named"), [
    ("[floors]\nmin_blur = 7\n", "floors.min_blur: expected an integer 0..6, got 7"),
    ("[floors]\ngrayscale = 1\n", "floors.grayscale: expected true or false, got 1"),
    ("[floors]\nmax_daily_exposure_s = -5\n", "floors.max_daily_exposure_s"),
    ("[floors]\nbreak = true\n", "floors.break: expected a known key"),
])
def test_a_wrong_floor_is_one_line_naming_the_file_and_key(tmp_path, floors, named):
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy(tmp_path, floors))
    message = str(caught.value)
    assert str(tmp_path / "policy.toml") in message and named in message and "\n" not in message


def test_settings_below_the_floors_are_raised_and_named():
    lax = Settings(blur=0, grayscale=False, daily_exposure_budget_s=0, break_every_active_min=0,
                   break_after_high_severity=0, palate_cleanser=False)
    applied, overrides = apply_floors(lax, FLOORS)
    assert (applied.blur, applied.grayscale, applied.daily_exposure_budget_s) == (4, True, 600)
    assert applied.break_every_active_min == 45 and applied.break_after_high_severity == 10 and applied.palate_cleanser
    assert {o.name for o in overrides} == {"blur", "grayscale", "daily_exposure_budget_s", "break_every_active_min",
                                           "break_after_high_severity", "palate_cleanser"}
    assert next(o for o in overrides if o.name == "daily_exposure_budget_s").chosen == 0


def test_stricter_settings_are_kept_as_they_are():
    strict = Settings(blur=6, grayscale=True, daily_exposure_budget_s=120, break_every_active_min=20)
    assert apply_floors(strict, FLOORS) == (strict, [])
    assert apply_floors(Settings(break_every_active_min=90), FLOORS)[0].break_every_active_min == 60  # capped
    assert apply_floors(Settings(blur=0), WellnessFloors()) == (Settings(blur=0), [])  # no floors: nothing


def test_the_dialog_says_what_the_policy_overrides(qtbot):
    dialog = SettingsDialog(floors=FLOORS)
    qtbot.addWidget(dialog)
    dialog.edit(Settings(blur=5))
    assert dialog.policy_note.isHidden()  # every value is at or above its floor
    dialog.fields["blur"].setValue(1)
    dialog.fields["grayscale"].setChecked(False)
    note = dialog.policy_note.text()
    assert not dialog.policy_note.isHidden() and "The policy overrides" in note
    assert "Default blur (the policy may blur more): 1 → 4 (the policy's minimum blur is 4)" in note
    assert "Grayscale by default: off → on" in note
    dialog.fields["blur"].setValue(5)
    dialog.fields["grayscale"].setChecked(True)
    assert dialog.policy_note.isHidden()


def test_the_desk_applies_the_floors_and_says_so_on_save(qtbot, good_store, tmp_path):
    policy = load_policy(write_policy(tmp_path, "[floors]\nmin_blur = 4\nmax_daily_exposure_s = 600\n"))
    desk = open_desk(qtbot, good_store, policy, Settings(blur=0, daily_exposure_budget_s=0, palate_cleanser=False))
    assert desk.settings.blur == 4 and desk.settings.daily_exposure_budget_s == 600  # from the first item on
    QTest.keyClick(desk.viewer, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    dialog = desk.settings_dialog
    dialog.fields["daily_exposure_budget_s"].setValue(0)
    assert "Daily exposure budget, seconds (0 = none): 0 → 600" in dialog.policy_note.text()
    dialog._on_save()
    qtbot.waitUntil(lambda: "Settings saved; the policy overrides" in desk.statusBar().currentMessage())
    assert "0 → 600" in desk.statusBar().currentMessage()
    assert desk.settings.daily_exposure_budget_s == 600 and load_settings().daily_exposure_budget_s == 600
    qtbot.waitUntil(lambda: on_screen(desk))
    assert desk.viewer.spec.blur >= 4
    desk.runner.wait()
    desk.close()
    assert replace(desk.settings, blur=4) == desk.settings
