"""Key commands made from the keymap data; a hold key (peek, spotlight) is watched for press and release."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)
# Held modifier keys have no QKeySequence of their own.
MODIFIER_KEYS = {"alt": Qt.Key.Key_Alt, "shift": Qt.Key.Key_Shift, "ctrl": Qt.Key.Key_Control, "meta": Qt.Key.Key_Meta}


def key_code(text: str) -> Qt.Key:
    return MODIFIER_KEYS.get(text.lower()) or QKeySequence(text)[0].key()


class KeyCommand(QObject):
    """One command on its keys: a QShortcut per key, never auto-repeating, so holding a key decides once."""

    def __init__(self, window: QWidget, keys: tuple[str, ...], slot: Callable[[], object]):
        super().__init__(window)
        self.keys = tuple(keys)
        self.shortcuts: list[QShortcut] = []
        for key in self.keys:
            sc = QShortcut(QKeySequence(key), window)
            sc.setAutoRepeat(False)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self.shortcuts.append(sc)


class HoldKey(QObject):
    """Calls on_press when one of `keys` goes down and on_release when it comes up (or focus leaves)."""

    def __init__(self, window: QWidget, keys: tuple[str, ...], on_press: Callable[[], object],
                 on_release: Callable[[], None]):
        super().__init__(window)
        self._window = window
        self.keys = tuple(keys)
        self._keys = {key_code(k) for k in keys}
        self._on_press, self._on_release = on_press, on_release
        self._held = False
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and self._applies(obj, event):
            if not event.isAutoRepeat():
                self._toggle(kind == QEvent.Type.KeyPress)
            return True
        if kind == QEvent.Type.WindowDeactivate and obj is self._window:
            self._toggle(False)  # never leave media revealed behind another window
        return False

    def _applies(self, obj: QObject, event: QKeyEvent) -> bool:
        if not isinstance(obj, QWidget) or obj.window() is not self._window:
            return False
        if isinstance(QApplication.focusWidget(), TEXT_INPUTS):
            return False
        if event.key() not in self._keys:
            return False
        return event.key() in MODIFIER_KEYS.values() or not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier

    def _toggle(self, down: bool) -> None:
        if down and not self._held:
            self._held = True
            self._on_press()
        elif not down and self._held:
            self._held = False
            self._on_release()
