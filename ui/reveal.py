"""Deliberate reveal: which unfiltered view is on, and when it ends by itself (whether one is
allowed is a rule of moderator.viewing, shared with every other view).

Kinds: "peek" (while a key is held), "spotlight" (a circle under the cursor, while held or for a
timed spell), "reveal" (the whole picture for `reveal_seconds`). Every spell ends by itself or on
any navigation, and is reported once as exposure: (kind, started_at, ms, largest fraction shown).
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal

from moderator.clock import now_iso
from moderator.domain import FilterSpec
from moderator.viewing import spec_refusal


class RevealController(QObject):
    changed = Signal()
    exposed = Signal(str, str, int, float)  # kind, started_at, ms, fraction
    refused = Signal(str)

    def __init__(self, reveal_seconds: float, parent: QObject | None = None):
        super().__init__(parent)
        self.reveal_seconds = reveal_seconds
        self.over_budget = False
        self.kind: str | None = None
        self.fraction = 0.0
        self._clock = QElapsedTimer()
        self._started_at = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may end 5 % early or late
        self._timer.timeout.connect(self.end)

    @property
    def active(self) -> bool:
        return self.kind is not None

    def remaining_ms(self) -> int:
        return self._timer.remainingTime() if self._timer.isActive() else -1

    def start(self, kind: str, spec: FilterSpec | None, *, timed: bool = False, fraction: float = 1.0) -> bool:
        """Begin a spell (ending any other first); False, with `refused` emitted, when not allowed."""
        if spec is None:
            return False
        reason = spec_refusal(spec, kind, self.over_budget)
        if reason:
            self.refused.emit(reason)
            return False
        self.end()
        self.kind, self.fraction = kind, fraction
        self._clock.start()
        self._started_at = now_iso()
        # Held spells end by themselves too, at twice the timed length: a key stuck down (or a
        # book on the keyboard) never leaves media unfiltered.
        self._timer.start(int(self.reveal_seconds * (1000 if timed else 2000)))
        self.changed.emit()
        return True

    def toggle(self, kind: str, spec: FilterSpec | None) -> None:
        """A key that turns a timed spell on, or off again before its time is up."""
        if self.kind == kind:
            self.end()
        else:
            self.start(kind, spec, timed=True, fraction=1.0 if kind == "reveal" else 0.0)

    def note_fraction(self, fraction: float) -> None:
        self.fraction = max(self.fraction, min(1.0, fraction))

    def end(self, kind: str | None = None) -> None:
        """End the current spell (only if it is of `kind`, when given) and report its exposure."""
        if self.kind is None or (kind is not None and kind != self.kind):
            return
        ended, fraction = self.kind, self.fraction
        self.kind = None
        self._timer.stop()
        self.changed.emit()
        self.exposed.emit(ended, self._started_at, int(self._clock.elapsed()), round(fraction, 4))
