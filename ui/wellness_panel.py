"""Wellness in the desk: today's exposure meter, the daily budget, and non-modal break reminders."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from moderator import exposure
from moderator.clock import utc_now
from moderator.review import ReviewService
from moderator.settings import Settings
from moderator.wellness import IDLE_AFTER_MS, BreakAdvisor, Today, today
from ui.reveal import RevealController
from ui.tasks import TaskRunner

TICK_MS = 15_000
HUB_REFRESH_MS = 60_000  # other desks' exposure changes without a local event: ask the hub this often
LIVE_MS = 500  # the meter's refresh while a reveal runs


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
        self.text.setStyleSheet("background: transparent;")  # the banner's green, not a box of the page colour
        self.start_button = QPushButton("Start break")
        self.snooze_button = QPushButton("Snooze 10 min")
        self.start_button.setObjectName("breakStart")
        self.snooze_button.setObjectName("breakSnooze")
        for b in (self.start_button, self.snooze_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the review
        # The reason on its own line, the buttons under it: in a narrow viewer (1024 px window, both
        # panels shown) the text keeps the whole width instead of a column one word wide.
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.snooze_button)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.break_started)
        self.snooze_button.clicked.connect(self.snoozed)
        self.hide()

    def set_keys(self, start: tuple[str, ...], snooze: tuple[str, ...]) -> None:
        """Name the keys on the buttons (from the keymap): a break is one key away, like everything else."""
        self.start_button.setText(f"Start break ({start[0]})" if start else "Start break")
        self.snooze_button.setText(f"Snooze ({snooze[0]})" if snooze else "Snooze 10 min")
        self.snooze_button.setToolTip("Remind me again in 10 minutes of active review")

    @property
    def reminding(self) -> bool:
        return not self.isHidden() and not self.snooze_button.isHidden()

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
    """Counts active review time, watches decisions and exposure, and raises reminders.

    Today's exposure is the person's, not the store's: this store's rows plus every other store on
    the machine (the ledger of moderator.exposure) plus, with a hub, other desks (`hub_ms`). While a
    reveal runs the meter counts its running time too, so the budget is visible before it is spent."""

    updated = Signal(object)  # Today

    def __init__(self, service: ReviewService, runner: TaskRunner, reveal: RevealController,
                 settings: Settings, banner: BreakBanner, parent: QObject | None = None):
        super().__init__(parent)
        self.service, self.runner, self.reveal, self.banner = service, runner, reveal, banner
        self.advisor = BreakAdvisor(settings)
        self.settings = settings
        self.today: Today | None = None
        self.hub_ms = None  # a callable returning other desks' exposure today (ms), run on the network lane
        self._hub_last, self._hub_asking = 0, False
        self._hub_tick = QTimer(self)
        self._hub_tick.timeout.connect(self.refresh)
        self._last_key = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.timeout.connect(lambda: self.tick(TICK_MS))
        self._tick.start(TICK_MS)
        self._break = QTimer(self)
        self._break.timeout.connect(self._on_break_tick)
        self._break_left = 0
        self._live_reveals: list[RevealController] = []
        self._live_clock = QElapsedTimer()
        self._live = QTimer(self)
        self._live.setInterval(LIVE_MS)
        self._live.timeout.connect(self._show_live)
        self.watch(reveal)
        banner.snoozed.connect(self._on_banner_snoozed)
        banner.break_started.connect(self.start_break)
        QApplication.instance().installEventFilter(self)

    def use_hub(self, other_desks_ms) -> None:
        """Add the hub's figure for this person's other desks (a blocking call: run on a worker)."""
        self.hub_ms = other_desks_ms
        self._hub_tick.start(HUB_REFRESH_MS)

    def watch(self, reveal: RevealController) -> None:
        """Count `reveal`'s spells on the meter while they run (the desk's viewer, the grid's peek)."""
        self._live_reveals.append(reveal)
        reveal.changed.connect(self._on_reveal_changed)

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
        """Read today's exposure again; with a hub, also ask it for the other desks' figure, on the
        network lane (a slow hub never holds up the meter or a preview), and read again if it moved."""
        self._read_today()
        if self.hub_ms is not None and not self._hub_asking:
            self._hub_asking = True
            self.runner.run(self.hub_ms, self._on_hub, self._on_hub_failed, network=True)

    def _read_today(self) -> None:
        actor, day, budget = self.service.actor, utc_now().date().isoformat(), self.settings.daily_exposure_budget_s
        store, hub_part = self.service.store, self._hub_last

        def read() -> Today:  # on a worker: the store and the ledger are I/O
            return today(store.db, actor, day, budget, exposure.other_stores_ms(actor, day, store.path) + hub_part)

        self.runner.run(read, self._on_today)

    def _on_hub(self, ms: int) -> None:
        self._hub_asking = False
        if ms != self._hub_last:
            self._hub_last = ms
            self._read_today()

    def _on_hub_failed(self, exc: Exception) -> None:
        self._hub_asking = False
        self.runner.failed.emit(str(exc))

    def live_ms(self) -> int:
        """Today's exposure as the meter shows it now: the saved total and the running reveal."""
        saved = self.today.exposure_ms if self.today else 0
        return saved + (int(self._live_clock.elapsed()) if self._live.isActive() else 0)

    # -- breaks (the banner's buttons and their keys) ------------------------------------------
    def start_break(self) -> None:
        self._break_left = self.settings.break_minutes * 60_000
        self.banner.count_down(self._break_left)
        self._break.start(1000)

    def start_break_by_key(self) -> None:
        if not self._break.isActive():  # the key twice does not restart a break under way
            self.start_break()

    def snooze_by_key(self) -> None:
        if self.banner.reminding:
            self._on_banner_snoozed()

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
        for reveal in self._live_reveals:
            reveal.over_budget = t.over_budget
        if not self._live.isActive():  # a running reveal keeps its live figure until it is saved
            self.updated.emit(t)

    # -- the live meter ------------------------------------------------------------------------
    def _on_reveal_changed(self) -> None:
        running = any(r.active for r in self._live_reveals)
        if running and not self._live.isActive():
            self._live_clock.start()
            self._live.start()
        elif not running and self._live.isActive():
            self._show_live()  # the spell's full length stays on the meter until its save is read back
            self._live.stop()

    def _show_live(self) -> None:
        t = self.today or Today(0, 0, self.settings.daily_exposure_budget_s * 1000)
        live = replace(t, exposure_ms=self.live_ms())
        self.updated.emit(live)
        for reveal in self._live_reveals:  # the budget ran out mid-spell: only hold-to-peek is left
            reveal.over_budget = live.over_budget
            if live.over_budget and reveal.active and reveal.kind != "peek":
                reveal.end()


class ExposureMeter(QLabel):
    """Today's exposure for this person (every store, and other desks with a hub) and the budget."""

    def show_today(self, t: Today) -> None:
        budget = f" of {_clock(t.budget_ms)}" if t.budget_ms else ""
        self.setText(f"Exposure today {_clock(t.exposure_ms)}{budget} · reviewed {t.reviewed}")
        style = "color: #e74c3c; font-weight: bold;" if t.over_budget else ""
        if self.styleSheet() != style:  # twice a second during a reveal: re-polish only on a change
            self.setStyleSheet(style)
        elsewhere = f"; {_clock(t.elsewhere_ms)} of it in other stores or desks" \
            if t.elsewhere_ms else ""
        self.setToolTip("Your unfiltered time on screen today (peek, spotlight, reveal) in every store on this "
                        f"machine{elsewhere}; past the budget only hold-to-peek is left")
