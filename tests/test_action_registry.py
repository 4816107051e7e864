"""One registry of desk commands: every DeskAction has a key and a factory, and a key rebound in the
user's keymap.toml is the one that works and the one every hint and the `?` sheet show."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest
from PySide6.QtCore import Qt

from moderator.actions import GRID_VIEW_KEYS, DeskAction, hints
from moderator.ingest import import_paths
from moderator.keymap import COMMANDS, DESCRIPTIONS, HOLD_COMMANDS, load_keymap
from moderator.paths import config_dir
from moderator.resources import resource_path
from tests.desk_helpers import on_screen
from ui.actions import FACTORIES, add_action
from ui.app import build_window, load_config
from ui.shortcuts import HoldKey, KeyCommand

REBOUND = '[keys]\nskip = ["X"]\nhelp = ["F2"]\naccept_suggestion = ["Ctrl+Return"]\n'


def test_every_command_has_a_binding_and_a_factory_and_nothing_else():
    shipped = tomllib.loads(resource_path("keymap.toml").read_text(encoding="utf-8"))["keys"]
    assert set(shipped) == {a.value for a in DeskAction}  # no command without a key, no key without a command
    assert set(FACTORIES) == set(DeskAction)  # no command without a factory, no factory without a command
    assert COMMANDS == tuple(a.value for a in DeskAction)
    assert DESCRIPTIONS == {a.value: a.description for a in DeskAction} and all(DESCRIPTIONS.values())
    assert HOLD_COMMANDS == ("peek", "spotlight")


def test_a_second_factory_for_a_command_is_refused():
    before = FACTORIES[DeskAction.SKIP]
    with pytest.raises(ValueError, match="two factories for the desk command skip"):
        add_action(DeskAction.SKIP)(lambda window, keys: None)
    assert FACTORIES[DeskAction.SKIP] is before


def test_the_hint_line_is_written_in_the_bound_keys():
    shipped = " · ".join(hints(load_keymap()))
    assert shipped.startswith("J next · K previous · S skip · E escalate · Ctrl+Z undo")
    assert "hold Space to peek" in shipped and "? all keys" in shipped


@pytest.fixture
def rebound_desk(qtbot, store, good_folder):
    (config_dir() / "keymap.toml").write_text(REBOUND, encoding="utf-8")
    import_paths(store, [good_folder], "tester")
    policy, keymap, settings = load_config(None)  # the desk's own loading: shipped keymap + the user's
    window = build_window(store, policy, keymap, "tester", settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.viewer.setFocus()
    qtbot.waitUntil(lambda: on_screen(window), timeout=10000)
    yield window
    window.runner.wait()


def test_the_desk_builds_every_command_on_its_keys(rebound_desk):
    actions = rebound_desk.key_actions
    assert list(actions) == list(DeskAction)
    assert actions[DeskAction.SKIP].keys == ("X",) and actions[DeskAction.NEXT].keys == ("J", "Down")
    assert all(isinstance(actions[a], HoldKey) == a.held for a in DeskAction)
    own_window = {DeskAction.DASHBOARD_REFRESH}  # its keys live in the dashboard, made on its first open
    assert all(isinstance(actions[a], KeyCommand) for a in DeskAction if not a.held and a not in own_window)
    assert rebound_desk._dashboard is None  # nothing made before it is asked for
    refresh = rebound_desk.dashboard.refresh_key
    assert isinstance(refresh, KeyCommand) and refresh.keys == ("F5", "Ctrl+R")
    assert all(sc.parent() is rebound_desk.dashboard for sc in refresh.shortcuts)
    shortcuts = [sc for a in DeskAction if not a.held and a not in own_window for sc in actions[a].shortcuts]
    shortcuts += refresh.shortcuts
    assert shortcuts and not any(sc.autoRepeat() for sc in shortcuts)
    digits = rebound_desk.label_actions
    assert [c.keys for c in digits.values()] == [(lb.key,) for lb in rebound_desk.reviewer.service.policy.labels]


def test_a_rebound_key_works_and_the_old_one_does_nothing(qtbot, rebound_desk):
    desk = rebound_desk
    first = desk.reviewer.current.id
    qtbot.keyClick(desk.viewer, Qt.Key.Key_S)
    assert not desk.reviewer.saving  # S started no skip
    desk.runner.wait()
    qtbot.waitUntil(lambda: not desk.runner.busy)
    assert desk.reviewer.current.id == first and desk.facts.text_of("Status") == "pending"
    qtbot.keyClick(desk.viewer, Qt.Key.Key_X)
    qtbot.waitUntil(lambda: on_screen(desk) and desk.reviewer.current.id != first, timeout=10000)
    qtbot.keyClick(desk.viewer, Qt.Key.Key_Question)
    assert not desk.help.isVisible()  # help is F2 only now
    qtbot.keyClick(desk.viewer, Qt.Key.Key_F2)
    assert desk.help.isVisible()


def test_a_rebound_key_is_the_one_the_hints_and_the_help_show(rebound_desk):
    desk = rebound_desk
    hint = desk.labels.hint.text().replace("\u00a0", " ")
    assert "X skip" in hint and "S skip" not in hint
    assert "F2 all keys" in hint and "? all keys" not in hint
    assert "Ctrl+Return: suggested label" in hint
    desk.facts.show_item(dataclasses.replace(desk.reviewer.current, suggested_label="spam"))
    assert desk.facts.text_of("Suggested") == "spam (Ctrl+Return applies it)"
    table = desk.help.table
    rows = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    assert rows[DeskAction.SKIP.description] == "X"
    assert rows[DeskAction.HELP.description] == "F2"
    assert rows[DeskAction.NEXT.description] == "J / Down"
    assert len(rows) == len(desk.reviewer.service.policy.labels) + len(DeskAction) + len(GRID_VIEW_KEYS)
