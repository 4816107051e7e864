"""The desk's sync with a team hub: rounds on the network worker, their Changes applied to the queue,
the state in the status bar. The GUI thread only schedules and paints; every hub call and store
write runs in moderator.sync_service on the runner's network pool."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel

from moderator.sync_service import SyncResult, SyncService, SyncStatus
from ui.reviewer import Reviewer
from ui.tasks import TaskRunner

ROUND_MS = 5000  # a full round (push, renew, lease, banks, policy) this often
PUSH_DELAY_MS = 150  # after a decision: soon, but a burst of keys goes up as one push


def status_text(s: SyncStatus) -> str:
    """The status bar's words: online or offline, and what has not reached the hub."""
    state = "● online" if s.online else "○ offline"
    parts = [state, f"{s.unsynced} unsynced" if s.unsynced else "all synced"]
    if not s.online and s.retry_in_s > 0:
        parts.append(f"retry in {s.retry_in_s:.0f} s")
    if s.rejected:
        parts.append(f"{s.rejected} refused by the hub")
    if s.conflicts:
        parts.append(f"⚠ {len(s.conflicts)} decided elsewhere")
    return " · ".join(parts)


def status_tooltip(s: SyncStatus) -> str:
    lines = [f"Hub: {s.hub_url}", f"Items in hand: {s.in_hand} (leases held: {s.held})"]
    if s.last_error:
        lines.append(f"Last problem: {s.last_error}")
    for c in s.conflicts[-10:]:
        lines.append(f"Decided elsewhere: {c.item_id} — {c.reason}")
    return "\n".join(lines)


class SyncIndicator(QLabel):
    def __init__(self) -> None:
        super().__init__("○ connecting to the hub…")
        self.setObjectName("syncIndicator")

    def show_status(self, status: SyncStatus) -> None:
        self.setText(status_text(status))
        self.setToolTip(status_tooltip(status))
        state = "offline" if not status.online else "conflict" if status.conflicts else "online"
        if self.property("state") != state:
            self.setProperty("state", state)  # theme.qss colours it
            self.style().unpolish(self)
            self.style().polish(self)


class SyncDriver(QObject):
    message = Signal(str)
    status_changed = Signal(object)  # SyncStatus

    def __init__(self, service: SyncService, reviewer: Reviewer, runner: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.service, self.reviewer, self.runner = service, reviewer, runner
        self.indicator = SyncIndicator()
        self.status: SyncStatus = service.last_status
        self._busy = False
        self._again: str | None = None  # a step asked for while one ran: "round" or "push"
        self._known_conflicts: set[str] = set()
        self._seen_policy = False  # the first pull only confirms the policy this desk started with
        self._timer = QTimer(self)
        self._timer.setInterval(ROUND_MS)
        self._timer.timeout.connect(self.sync_round)
        self._push_timer = QTimer(self)
        self._push_timer.setSingleShot(True)
        self._push_timer.setInterval(PUSH_DELAY_MS)
        self._push_timer.timeout.connect(self.push)
        reviewer.saved.connect(lambda *_: self._push_timer.start())
        reviewer.skipped.connect(self.return_item)

    def start(self) -> None:
        self.sync_round()
        self._timer.start()

    def sync_round(self) -> None:
        self._run(self.service.sync_round, "round")

    def push(self) -> None:
        self._run(self.service.push, "push")

    @property
    def unsynced(self) -> int:
        return self.status.unsynced

    def return_item(self, item_id: str) -> None:
        """A skip: the item's lease goes back to the hub at once, so another desk can take it."""
        def done(result: SyncResult) -> None:
            self.reviewer.apply_changes(result.changes)
            self._show(result.status)

        self.runner.run(lambda: self.service.return_item(item_id), done, self._on_failed_return, network=True)

    def _on_failed_return(self, exc: Exception) -> None:
        self.message.emit(f"Skipped here; the hub keeps the lease until it expires ({exc})")

    def release_on_quit(self) -> None:
        """Hand back the leases of undecided items; queued before the runner shuts down, which waits for it."""
        self._timer.stop()
        self._push_timer.stop()
        self.runner.run(self.service.release_all, network=True)

    def _run(self, step, name: str) -> None:
        if self._busy:  # one step at a time; a round covers a push, not the other way round
            self._again = "round" if "round" in (name, self._again) else "push"
            return
        self._busy = True
        self.runner.run(step, self._on_result, self._on_failed, network=True)

    def _on_result(self, result: SyncResult) -> None:
        self._busy = False
        self.reviewer.apply_changes(result.changes)
        if result.counts.get("policy_updated") and self._seen_policy:
            self.message.emit("The team's policy changed on the hub: it applies when the desk next starts")
        self._seen_policy = self._seen_policy or "policy_updated" in result.counts
        self._show(result.status)
        self._next()

    def _on_failed(self, exc: Exception) -> None:
        self._busy = False
        self.message.emit(f"Sync stopped: {exc}")
        self._next()

    def _next(self) -> None:
        again, self._again = self._again, None
        if again:
            self._run(self.service.sync_round if again == "round" else self.service.push, again)

    def _show(self, status: SyncStatus) -> None:
        self.status = status
        self.indicator.show_status(status)
        new = [c for c in status.conflicts if c.decision_uuid not in self._known_conflicts]
        self._known_conflicts.update(c.decision_uuid for c in new)
        if new:
            self._announce_conflict(new[-1].item_id, len(new) - 1)
        self.status_changed.emit(status)

    def _announce_conflict(self, item_id: str, others: int) -> None:
        """Name the item as the moderator knows it (its report id or file name), read on a worker."""
        def say(name: str) -> None:
            more = f" (and {others} more)" if others else ""
            self.message.emit(f"Decided elsewhere: {name}{more}. Your decision is kept as evidence, not applied.")

        self.runner.run(lambda: self.reviewer.service.item(item_id),
                        lambda item: say(item.external_id or item.source_name or item_id),
                        lambda _exc: say(item_id))


def confirm_quit(parent, unsynced: int, quit_now) -> None:
    """Ask before quitting with decisions the hub has not got; `quit_now` runs on "Quit anyway"."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Warning, "Decisions not synced yet",
                      f"{unsynced} decision{'s have' if unsynced != 1 else ' has'} not reached the hub yet. "
                      "They are kept on this desk and go up the next time it is online.", parent=parent)
    box.setObjectName("unsyncedQuitBox")
    quit_button = box.addButton("Quit anyway", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Keep working", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(box.buttons()[-1])
    box.buttonClicked.connect(lambda b: quit_now() if b is quit_button else None)
    box.open()
