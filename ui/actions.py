"""The desk's commands as Qt objects: one factory per DeskAction (Picard's `add_action`), keys from the keymap.

A factory gets the window and the command's keys and returns the QObject that owns its shortcuts;
the window only does `dict(create_actions(self, keymap))`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from moderator.actions import DeskAction
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


def create_label_actions(window: MainWindow) -> dict[str, KeyCommand]:
    """The policy's labels on their digit keys: one key applies the label (policy.toml is their data)."""
    r = window.reviewer
    return {lb.name: KeyCommand(window, (lb.key,), lambda n=lb.name: r.decide(n)) for lb in r.service.policy.labels}


@add_action(DeskAction.NEXT)
def _next(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.reviewer.move(1))


@add_action(DeskAction.PREVIOUS)
def _previous(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.reviewer.move(-1))


@add_action(DeskAction.SKIP)
def _skip(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.reviewer.skip)


@add_action(DeskAction.ESCALATE)
def _escalate(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    def open_note() -> None:
        if w.reviewer.current is not None and not w.reviewer.saving:
            w.viewer.end_reveal()
            w.escalate_bar.open_bar()
    return KeyCommand(w, keys, open_note)


@add_action(DeskAction.UNDO)
def _undo(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.reviewer.undo)


@add_action(DeskAction.ACCEPT_SUGGESTION)
def _accept_suggestion(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.reviewer.accept_suggestion)


@add_action(DeskAction.ADD_TO_BANK)
def _add_to_bank(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.bank_actions.open_add_bar)


@add_action(DeskAction.BANK_DECISIONS)
def _bank_decisions(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.bank_actions.show_bank_decisions)


@add_action(DeskAction.PEEK)
def _peek(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return HoldKey(w, keys, w.viewer.start_peek, w.viewer.end_peek)


@add_action(DeskAction.SPOTLIGHT)
def _spotlight(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return HoldKey(w, keys, w.viewer.start_spotlight, w.viewer.end_spotlight)


@add_action(DeskAction.SPOTLIGHT_TOGGLE)
def _spotlight_toggle(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.reveal.toggle("spotlight", w.viewer.spec))


@add_action(DeskAction.REVEAL)
def _reveal(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.reveal.toggle("reveal", w.viewer.spec))


@add_action(DeskAction.BLUR_MORE)
def _blur_more(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.reviewer.change_blur(1))


@add_action(DeskAction.BLUR_LESS)
def _blur_less(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.reviewer.change_blur(-1))


@add_action(DeskAction.PLAY)
def _play(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.player.toggle_play)


@add_action(DeskAction.FRAME_NEXT)
def _frame_next(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.player.step(1))


@add_action(DeskAction.FRAME_PREVIOUS)
def _frame_previous(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.player.step(-1))


@add_action(DeskAction.IMPORT_MEDIA)
def _import_media(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.importer.ask)


@add_action(DeskAction.SETTINGS)
def _settings(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, lambda: w.settings_dialog.edit(w.settings))


@add_action(DeskAction.HELP)
def _help(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.help.show)


@add_action(DeskAction.FOCUS_QUEUE)
def _focus_queue(w: MainWindow, keys: tuple[str, ...]) -> QObject:
    return KeyCommand(w, keys, w.queue_panel.view.setFocus)
