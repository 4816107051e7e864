"""A one-line text field for the desk's bars: Enter and Esc belong to it, not to window shortcuts."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLineEdit

OWN_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape)


class BarField(QLineEdit):
    cancelled = Signal()

    def event(self, event: QEvent) -> bool:
        # QLineEdit claims printable keys from shortcuts but not Enter: without this, the desk's
        # Enter shortcut (apply the suggested label) would fire while a note is being typed.
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in OWN_KEYS:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)
