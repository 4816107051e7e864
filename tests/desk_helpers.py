"""Driving the real desk window in tests: when is an item on screen, and opening a desk on a store."""

from __future__ import annotations

from moderator.keymap import load_keymap
from moderator.settings import Settings
from ui.app import build_window


def on_screen(window) -> bool:
    """The current item's filtered picture is painted and no decision is being saved."""
    r, shown = window.reviewer, window.viewer.prepared
    return r.current is not None and shown is not None and shown.item_id == r.current.id and not r.saving


def open_desk(qtbot, store, policy, settings: Settings | None = None):
    window = build_window(store, policy, load_keymap(), "tester", settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.viewer.setFocus()
    qtbot.waitUntil(lambda: on_screen(window), timeout=10000)
    return window
