"""The desk's commands as Qt objects: one factory per DeskAction (Picard's `add_action`), keys from the keymap.

A factory gets the window and the command's keys and returns the QObject that owns its shortcuts;
the window only does `dict(create_actions(self, keymap))`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from moderator.actions import DeskAction, DeskMode
from ui.shortcuts import HoldKey, KeyCommand

if TYPE_CHECKING:
    from ui.main_window import MainWindow

Factory = Callable[["MainWindow", tuple[str, ...]], QObject]
FACTORIES: dict[DeskAction, Factory] = {}


def add_action(action: DeskAction) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        if action in FACTORIES:
            raise ValueError(f"two factories for the desk command {action.value}")
        FACTORIES[action] = factory
        return factory
    return register


def create_actions(window: MainWindow, keymap: dict[str, tuple[str, ...]]) -> Iterator[tuple[DeskAction, QObject]]:
    """Every desk command on the keys `keymap` binds it to, in DeskAction order."""
    missing = [a.value for a in DeskAction if a not in FACTORIES]
    if missing:
        raise LookupError(f"desk commands without a factory: {', '.join(missing)}")
    for action in DeskAction:
        yield action, FACTORIES[action](window, keymap[action.value])


def set_mode(actions: dict[DeskAction, QObject], mode: DeskMode) -> None:
    """Only the commands live in `mode` answer their keys: a key two commands share (Enter accepts a
    bank suggestion in the desk, resolves a QA disagreement in QA) is never ambiguous to Qt."""
    for action, command in actions.items():
        for shortcut in getattr(command, "shortcuts", ()):  # held keys are live in every mode
            shortcut.setEnabled(mode in action.modes)


def create_label_actions(window: MainWindow) -> dict[str, KeyCommand]:
    """The policy's labels on their digit keys: one key applies the label (policy.toml is their data),
    to the item on screen, or in the grid to every selected item at once."""
    r = window.reviewer

    def apply(name: str) -> None:
        if window.grid_shown:
            window.grid.label(name)
        else:
            r.decide(name)
    return {lb.name: KeyCommand(window, (lb.key,), lambda n=lb.name: apply(n)) for lb in r.service.policy.labels}


# The commands that are one key press → one call: what each calls, given the window.
_KEY_COMMANDS: dict[DeskAction, Callable[[MainWindow], Callable[[], object]]] = {
    DeskAction.NEXT: lambda w: lambda: w.reviewer.move(1),
    DeskAction.PREVIOUS: lambda w: lambda: w.reviewer.move(-1),
    DeskAction.SKIP: lambda w: w.reviewer.skip,
    DeskAction.UNDO: lambda w: w.reviewer.undo,
    DeskAction.ACCEPT_SUGGESTION: lambda w: w.reviewer.accept_suggestion,
    DeskAction.ADD_TO_BANK: lambda w: w.bank_actions.open_add_bar,
    DeskAction.BANK_DECISIONS: lambda w: w.bank_actions.show_bank_decisions,
    DeskAction.SPOTLIGHT_TOGGLE: lambda w: lambda: w.reveal.toggle("spotlight", w.viewer.spec),
    DeskAction.REVEAL: lambda w: lambda: w.reveal.toggle("reveal", w.viewer.spec),
    DeskAction.BLUR_MORE: lambda w: lambda: w.reviewer.change_blur(1),
    DeskAction.BLUR_LESS: lambda w: lambda: w.reviewer.change_blur(-1),
    DeskAction.PLAY: lambda w: w.player.toggle_play,
    DeskAction.FRAME_NEXT: lambda w: lambda: w.player.step(1),
    DeskAction.FRAME_PREVIOUS: lambda w: lambda: w.player.step(-1),
    DeskAction.IMPORT_MEDIA: lambda w: w.importer.ask,
    DeskAction.SETTINGS: lambda w: lambda: w.settings_dialog.edit(w.settings),
    DeskAction.HELP: lambda w: lambda: w.help.show(),  # the sheet is made on first use
    DeskAction.FOCUS_QUEUE: lambda w: w.queue_panel.view.setFocus,
    # Live only in QA's verdict mode (set_mode), where the reviewer is a ui.qa_reviewer.QaReviewer.
    DeskAction.QA_RESOLVE: lambda w: lambda: w.reviewer.open_resolve(),
    DeskAction.QA_LEAVE_FOR_LEAD: lambda w: lambda: w.reviewer.leave_for_lead(),
    DeskAction.DASHBOARD: lambda w: lambda: w.dashboard.open_panel(),  # the panel is made on first use
    DeskAction.GRID: lambda w: w.toggle_grid,
    # Live only in the grid's mode, where w.grid exists.
    DeskAction.GRID_OPEN: lambda w: lambda: w.grid.open_focused(),
    DeskAction.GRID_SELECT_ALL: lambda w: lambda: w.grid.select_all(),
    DeskAction.GRID_LARGER: lambda w: lambda: w.grid.grow(1),
    DeskAction.GRID_SMALLER: lambda w: lambda: w.grid.grow(-1),
    DeskAction.GRID_FAMILIES: lambda w: lambda: w.grid.toggle_families(),
    DeskAction.HISTORY: lambda w: lambda: w.history.open_panel(),  # the panel is made on the first H
    DeskAction.TOGGLE_QUEUE: lambda w: w.toggle_queue,
    DeskAction.TOGGLE_SIDE: lambda w: w.toggle_side,
    DeskAction.BREAK_START: lambda w: w.wellness.start_break_by_key,
    DeskAction.BREAK_SNOOZE: lambda w: w.wellness.snooze_by_key,
    DeskAction.MESSAGES: lambda w: w.messages.toggle,
}
for _action, _target in _KEY_COMMANDS.items():
    add_action(_action)(lambda w, keys, target=_target: KeyCommand(w, keys, target(w)))


@add_action(DeskAction.DASHBOARD_REFRESH)
def _dashboard_refresh(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    # Its keys live in the dashboard's own window, made with the panel on its first open
    # (MainWindow.dashboard); live in every mode, so set_mode has nothing here to switch.
    return QObject(w)


@add_action(DeskAction.ESCALATE)
def _escalate(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    def open_note() -> None:
        if w.reviewer.current is not None and not w.reviewer.saving:
            w.viewer.end_reveal()
            w.escalate_bar.open_bar()
    return KeyCommand(w, keys, open_note)


@add_action(DeskAction.PEEK)
def _peek(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    def press() -> bool:  # the grid peeks at its focused tile, by the same rules
        return w.grid.start_peek() if w.grid_shown else w.viewer.start_peek()

    def release() -> None:
        w.viewer.end_peek()
        if w.grid is not None:
            w.grid.end_peek()
    return HoldKey(w, keys, press, release)


@add_action(DeskAction.SPOTLIGHT)
def _spotlight(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    def press() -> bool:
        if w.grid_shown:  # a circle over one tile shows nothing a peek does not: hold Space instead
            w.statusBar().showMessage("The spotlight is the single viewer's (G); in the grid hold Space to peek", 5000)
            return False
        return w.viewer.start_spotlight()
    return HoldKey(w, keys, press, w.viewer.end_spotlight)
