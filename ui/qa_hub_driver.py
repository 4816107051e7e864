"""The QA desk's rounds with the team hub (`moderator desk --qa` with a hub): every few seconds, on the
network pool, judgements kept while offline are pushed, the leases of tasks not judged yet renewed, and
the state shown in the status bar; on quit the leases of tasks not judged are handed back. The GUI
thread only schedules and paints (as ui/sync_driver.py does for moderation leases)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from moderator.qa_service import QaService
from ui.qa_reviewer import Phase, QaReviewer
from ui.tasks import TaskRunner

ROUND_MS = 5000


def status_text(online: bool | None, counts: dict[str, int]) -> str:
    parts = ["● hub online" if online else "○ hub offline" if online is False else "○ connecting to the hub…"]
    parts.append(f"{counts['unsent']} QA label{'s' if counts['unsent'] != 1 else ''} unsent" if counts.get("unsent")
                 else "all QA labels sent")
    if counts.get("rejected"):
        parts.append(f"{counts['rejected']} refused by the hub (kept)")
    return " · ".join(parts)


class QaHubDriver(QObject):
    message = Signal(str)

    def __init__(self, qa: QaService, reviewer: QaReviewer, runner: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.qa, self.reviewer, self.runner = qa, reviewer, runner
        self.indicator = QLabel("○ connecting to the hub…")
        self.indicator.setObjectName("syncIndicator")
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(ROUND_MS)
        self._timer.timeout.connect(self.sync_round)

    def start(self) -> None:
        self._timer.start()

    def sync_round(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.runner.run(self._round, self._on_round, self._on_failed, network=True)

    def _round(self):
        """On the network pool: push what waits, renew what is held, and count."""
        hub = self.qa.hub
        settled = hub.push_pending()
        lost = hub.renew()
        return settled, lost, hub.counts(), hub.online

    def _on_round(self, result) -> None:
        self._busy = False
        settled, lost, counts, online = result
        self._show(online, counts)
        if settled:
            self.message.emit(f"{settled} QA label{'s' if settled != 1 else ''} kept on this desk reached the hub")
        if lost:
            current = self.reviewer.current
            this = current is not None and current.id in lost
            self.reviewer.drop_tasks(lost, "The QA lease of this task ran out: it went back to the hub" if this else
                                     f"The QA lease of {len(lost)} task{'s' if len(lost) != 1 else ''} ran out: "
                                     "back to the hub")
        r = self.reviewer
        if not r.items and r.phase is Phase.JUDGING and not r.saving:
            r.reload()  # nothing in hand: ask the hub for more

    def _on_failed(self, exc: Exception) -> None:
        self._busy = False
        hub = self.qa.hub
        self._show(hub.online, {})
        self.message.emit(f"Hub: {exc}")

    def _show(self, online: bool | None, counts: dict[str, int]) -> None:
        self.indicator.setText(status_text(online, counts or {}))
        self.indicator.setToolTip(f"Hub: {self.qa.hub.client.url}" + (
            f"\nLast problem: {self.qa.hub.last_error}" if self.qa.hub.last_error else ""))
        state = "online" if online else "offline"
        if self.indicator.property("state") != state:
            self.indicator.setProperty("state", state)
            self.indicator.style().unpolish(self.indicator)
            self.indicator.style().polish(self.indicator)

    def release_on_quit(self) -> None:
        """Hand back the leases of tasks not judged; queued before the runner shuts down, which waits."""
        self._timer.stop()
        self.runner.run(self.qa.hub.release_all, network=True)
