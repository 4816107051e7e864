"""The progress strip above the viewer: where the moderator stands in the shift (moderator/progress.py
computes it on a worker; this only paints), and the empty queue's shift summary.

Recomputed after every save or queue change (coalesced: one read in flight, one more queued at
most) and every 30 s, because "due within the hour" changes with the clock alone.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from moderator import progress as progress_rules
from moderator.clock import utc_now
from moderator.progress import Progress

REFRESH_MS = 30_000
_STYLE = ("QWidget#progressStrip { background: #16181b; border-bottom: 1px solid #2a2e34; }"
          "QLabel#progressMain { color: #d7dbe0; font-weight: bold; }"
          "QLabel#progressLabels { color: #8a929c; }"
          "QLabel#progressMain[overdue=\"true\"] { color: #ff8a7a; }")


class ProgressStrip(QWidget):
    updated = Signal(object)  # Progress

    def __init__(self, window, parent: QWidget | None = None):
        super().__init__(parent)
        self.window = window
        self.reviewer, self.runner = window.reviewer, window.runner
        self.progress = Progress()
        self.breaks = 0
        # What follows the summary: import media, or with a hub "Waiting for work from the hub…".
        self.next_step = self.reviewer.empty_text.removeprefix("The queue is empty. ")
        self._busy = self._again = False
        self.setObjectName("progressStrip")
        self.setStyleSheet(_STYLE)
        self.main = QLabel("")
        self.main.setObjectName("progressMain")
        self.labels = QLabel("")
        self.labels.setObjectName("progressLabels")
        for label in (self.main, self.labels):
            # One line each, whatever the text: never wider than the column (1024 px laptops), and
            # the viewer below never moves (fit() shows the facts that fit, the tooltip all of them).
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 3, 8, 3)
        layout.setSpacing(1)
        layout.addWidget(self.main)
        layout.addWidget(self.labels)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def count_break(self) -> None:
        self.breaks += 1
        self.refresh()

    def refresh(self, *_args) -> None:
        """Recompute on a worker; the GUI thread hands it a copy of the open items only."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        r = self.reviewer
        items, hidden, start = tuple(r.items), len(r.queue.hidden), r.session_start
        service = r.service

        def read() -> Progress:
            return progress_rules.compute(service.store.db, service.actor, service.policy, items, start,
                                          utc_now(), hidden)

        self.runner.run(read, self._on_progress, self._on_failed)

    def _on_progress(self, p: Progress) -> None:
        self._busy = False
        sync = self.window.sync
        self.progress = p = _with(p, self.breaks, (sync.status.online, sync.status.unsynced) if sync else None)
        self.main.setToolTip("\n".join(progress_rules.strip_parts(p)))
        self.labels.setToolTip("Today, by label:\n" + "\n".join(progress_rules.label_parts(p)))
        if self.main.property("overdue") != bool(p.overdue):
            self.main.setProperty("overdue", bool(p.overdue))
            self.main.style().unpolish(self.main)
            self.main.style().polish(self.main)
        self.fit()
        self.reviewer.set_summary(progress_rules.shift_summary(p, self.next_step))
        self.updated.emit(p)
        if self._again:
            self._again = False
            self.refresh()

    def fit(self) -> None:
        """Each line shows the facts that fit its width, in their order of importance."""
        p = self.progress
        self.main.setText(_fitting(self.main, progress_rules.strip_parts(p)))
        self.labels.setText(_fitting(self.labels, progress_rules.label_parts(p)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit()

    def _on_failed(self, _exc: Exception) -> None:
        self._busy = False


def _fitting(label: QLabel, parts: list[str]) -> str:
    width, metrics = label.contentsRect().width(), label.fontMetrics()
    shown: list[str] = []
    for part in parts:
        if metrics.horizontalAdvance(" · ".join([*shown, part])) > width:
            break
        shown.append(part)
    if not shown and parts:  # not even the first: its words that fit, then an ellipsis
        return metrics.elidedText(parts[0], Qt.TextElideMode.ElideRight, width)
    return " · ".join(shown)


def _with(p: Progress, breaks: int, sync: tuple[bool, int] | None) -> Progress:
    return replace(p, breaks=breaks, sync=sync)


def attach_progress(window) -> ProgressStrip | None:
    """Put the strip above the viewer and keep it current (one call from MainWindow). Not in QA: a
    blind re-review shows nothing of decisions, so there the status bar counts the tasks only."""
    if type(window.reviewer).__name__ != "Reviewer":
        window.reviewer.queue_changed.connect(
            lambda n, i: window.status_label.setText(f"{i + 1 if n else 0} / {n} open"))
        return None
    strip = ProgressStrip(window)
    column = window.centre_column
    column.insertWidget(column.indexOf(window.viewer), strip)
    r = window.reviewer
    r.saved.connect(strip.refresh)
    r.queue_changed.connect(strip.refresh)
    window.break_banner.break_started.connect(strip.count_break)
    if window.sync is not None:
        window.sync.status_changed.connect(strip.refresh)
    strip.updated.connect(lambda p: window.status_label.setText(
        f"{p.session_decided} / {p.session_total} decided · "
        + ("reading the queue…" if r.partial else f"{len(r.items)} open")))
    strip.refresh()
    return strip
