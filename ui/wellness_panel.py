"""Wellness in the desk: today's exposure meter, the daily budget, and non-modal break reminders."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from moderator.clock import utc_now
from moderator.review import ReviewService
from moderator.settings import Settings
from moderator.wellness import IDLE_AFTER_MS, BreakAdvisor, Today, today
from ui.reveal import RevealController
from ui.tasks import TaskRunner

TICK_MS = 15_000


def _clock(ms: int) -> str:
    s = ms // 1000
    return f"{s // 60}:{s % 60:02d}"


class BreakBanner(QFrame):
    """A reminder across the top of the viewer: it never blocks a key and never discards work."""

    snoozed = Signal()
    break_started = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("breakBanner")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.start_button = QPushButton("Start break")
        self.snooze_button = QPushButton("Snooze 10 min")
        for b in (self.start_button, self.snooze_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the review
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.start_button)
        layout.addWidget(self.snooze_button)
        self.start_button.clicked.connect(self.break_started)
        self.snooze_button.clicked.connect(self.snoozed)
        self.hide()

    def remind(self, reason: str) -> None:
        self.text.setText(f"Time for a short break: {reason}.")
        self.start_button.show()
        self.snooze_button.show()
        self.show()

    def count_down(self, remaining_ms: int) -> None:
        self.text.setText(f"On a break — {_clock(remaining_ms)} left. Your work is saved; stretch, look away.")
        self.start_button.hide()
        self.snooze_button.hide()
        self.show()


class WellnessMonitor(QObject):
    """Counts active review time, watches decisions and exposure, and raises reminders."""

    updated = Signal(object)  # Today

    def __init__(self, service: ReviewService, runner: TaskRunner, reveal: RevealController,
                 settings: Settings, banner: BreakBanner, parent: QObject | None = None):
        super().__init__(parent)
        self.service, self.runner, self.reveal, self.banner = service, runner, reveal, banner
        self.advisor = BreakAdvisor(settings)
        self.settings = settings
        self.today: Today | None = None
        self._last_key = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.timeout.connect(lambda: self.tick(TICK_MS))
        self._tick.start(TICK_MS)
        self._break = QTimer(self)
        self._break.timeout.connect(self._on_break_tick)
        self._break_left = 0
        banner.snoozed.connect(self._on_banner_snoozed)
        banner.break_started.connect(self.start_break)
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Shortcut keys are consumed before KeyPress reaches filters; ShortcutOverride comes first.
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            self._last_key.start()
        return False

    def tick(self, ms: int) -> None:
        """Count `ms` of active review when a key was pressed recently; remind when due."""
        if self._last_key.isValid() and self._last_key.elapsed() <= IDLE_AFTER_MS and not self._break.isActive():
            self.advisor.add_active(ms)
            self._check()

    def on_decided(self, severity: int) -> None:
        self.advisor.add_decision(severity)
        self._check()
        self.refresh()

    def refresh(self) -> None:
        actor, day, budget = self.service.actor, utc_now().date().isoformat(), self.settings.daily_exposure_budget_s
        self.runner.run(lambda: today(self.service.store.db, actor, day, budget), self._on_today)

    def start_break(self) -> None:
        self._break_left = self.settings.break_minutes * 60_000
        self.banner.count_down(self._break_left)
        self._break.start(1000)

    def _on_break_tick(self) -> None:
        self._break_left -= 1000
        if self._break_left > 0:
            self.banner.count_down(self._break_left)
            return
        self._break.stop()
        self.advisor.took_break()
        self.banner.hide()

    def _on_banner_snoozed(self) -> None:
        self.advisor.snooze(10)
        self.banner.hide()

    def _check(self) -> None:
        reason = self.advisor.due()
        if reason and not self._break.isActive() and not self.banner.isVisible():
            self.banner.remind(reason)

    def _on_today(self, t: Today) -> None:
        self.today = t
        self.reveal.over_budget = t.over_budget
        self.updated.emit(t)


class ExposureMeter(QLabel):
    def show_today(self, t: Today) -> None:
        budget = f" of {_clock(t.budget_ms)}" if t.budget_ms else ""
        self.setText(f"Exposure today {_clock(t.exposure_ms)}{budget} · reviewed {t.reviewed}")
        self.setStyleSheet("color: #e74c3c; font-weight: bold;" if t.over_budget else "")
        self.setToolTip("Unfiltered time on screen today (peek, spotlight, reveal); "
                        "past the budget only hold-to-peek is left")
