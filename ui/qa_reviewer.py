"""The blind QA re-review: the desk's Reviewer (same viewer, prefetch, filters, reveal rules and
wellness) over this analyst's QA tasks instead of the moderation queue.

The queue holds moderator.qa_view.blind_item copies, so no panel can show what was decided before the
QA label. A label key judges the task (QaService.judge, on the write worker); only the outcome brings
the original, shown as a Verdict. Then: on agreement any key moves on; on a disagreement the
analyst resolves it (final label + note) or leaves it for the lead before moving on.
"""

from __future__ import annotations

import enum

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget

from moderator.actions import DeskMode
from moderator.domain import Changes, FilterSpec, Item, ItemChange, ItemField, ItemStatus
from moderator.qa_service import QaOutcome, QaService
from moderator.qa_view import Verdict, blind_item, verdict_of
from moderator.review import ReviewService
from moderator.settings import Settings
from moderator.viewing import decision_severity, filter_spec, needs_calm_screen
from ui.qa_panels import QaQueueModel
from ui.reviewer import Reviewer
from ui.shortcuts import MODIFIER_KEYS
from ui.tasks import TaskRunner
from ui.viewer import MediaViewer


class Phase(enum.Enum):
    JUDGING = "judging"  # blind: a label key gives the QA label
    AGREED = "agreed"  # the verdict agrees (or misses a golden answer): any key moves on
    DISAGREED = "disagreed"  # resolve or leave it for the lead
    RESOLVING = "resolving"  # the resolve bar is open: the final label's key, a note, Enter


class QaReviewer(Reviewer):
    verdict_changed = Signal(object)  # the Verdict on screen, or None when the next task comes up
    mode_changed = Signal(object)  # DeskMode: the window enables the keys of that mode
    resolving = Signal(bool)  # the resolve bar opens (True) or closes
    final_label_picked = Signal(str)  # a label key while resolving: the final label

    def __init__(self, service: ReviewService, qa: QaService, runner: TaskRunner, viewer: MediaViewer,
                 settings: Settings | None = None, parent=None):
        super().__init__(service, runner, viewer, settings, parent)
        self.qa = qa
        self.empty_text = "No QA tasks for you. A lead samples decisions with `moderator qa sample`."
        self.model = QaQueueModel(self)
        self.tasks: dict[str, Item] = {}  # blind id (the task id) -> the item as stored, for its filter
        self.floors: dict[str, FilterSpec] = {}  # hub tasks: task id -> the hub's filter floor
        self.verdict: Verdict | None = None
        self.phase = Phase.JUDGING

    # -- reads --------------------------------------------------------------------------------
    def spec_for(self, item: Item) -> FilterSpec:
        """The filter the moderator had (category hint and bank suggestion count, so a known-CSAM
        match keeps its floor although the match itself stays hidden), under the analyst's settings."""
        stored = self.tasks.get(item.id, item)
        spec = filter_spec(self.service.policy, self.settings, stored, self.blur_offset)
        floor = self.floors.get(item.id)  # a hub task: the floor its (hidden) bank suggestion gives
        return spec.stricter(floor) if floor is not None else spec

    def load(self) -> None:
        found: dict[str, Item] = {}
        floors: dict[str, FilterSpec] = {}
        # Hub tasks: leasing and media downloads are network calls, on the network pool.
        self.runner.run(lambda: (self.queue.read(lambda: self._read_tasks(found, floors)), found, floors),
                        self._on_tasks_read,
                        self._on_tasks_failed, network=self.qa.remote)

    def _on_tasks_failed(self, exc: Exception) -> None:
        self.message.emit(f"QA tasks not loaded: {exc}")
        if not self.items:
            self.viewer.show_message(f"{self.empty_text}\n\n{exc}")

    def reload(self) -> None:
        self.load()

    def _read_tasks(self, found: dict[str, Item], floors: dict[str, FilterSpec]) -> list[Item]:
        """On a worker: the open tasks as blind items, in QaService's order."""
        blind = []
        for rank, task in enumerate(self.qa.open_tasks()):
            found[task.task_id] = stored = self.service.item(task.item.id)
            if task.floor is not None:
                floors[task.task_id] = task.floor
            blind.append(blind_item(stored, task.task_id, rank))
        return blind

    def _on_tasks_read(self, result) -> None:
        snapshot, found, floors = result
        self.tasks.update(found)
        self.floors.update(floors)
        self._on_queue_reread(snapshot)

    # -- keys ---------------------------------------------------------------------------------
    def decide(self, label_name: str) -> None:
        """A label key: the QA label while judging, the final label while resolving."""
        if self.phase is Phase.JUDGING:
            self._judge(label_name)
        elif self.phase is Phase.RESOLVING:
            self.final_label_picked.emit(label_name)
        elif self.phase is Phase.DISAGREED:
            self.message.emit("This disagreement waits: resolve it or leave it for the lead (keys below the picture)")

    def skip(self) -> None:
        if self.phase is Phase.JUDGING and self.index + 1 < len(self.items):
            self.message.emit("Skipped: the task stays open")
            self.move(1)
        elif self.phase is Phase.JUDGING:
            self.message.emit("The last task: it stays open")

    def move(self, delta: int) -> None:
        if self.phase is Phase.JUDGING:
            super().move(delta)

    def go_to(self, row: int) -> None:
        if self.phase is Phase.JUDGING:
            super().go_to(row)
        else:
            self.queue_changed.emit(len(self.items), self.index)  # the list's selection snaps back

    def open_resolve(self) -> None:
        if self.phase is Phase.DISAGREED and not self.saving:
            self.viewer.end_reveal()
            self._set_phase(Phase.RESOLVING)

    def cancel_resolve(self) -> None:
        if self.phase is Phase.RESOLVING and not self.saving:
            self._set_phase(Phase.DISAGREED)

    def resolve(self, final_label: str, note: str) -> None:
        """Settle the disagreement: the final label supersedes the item's standing decision."""
        if self.phase is not Phase.RESOLVING or self.saving or self.verdict is None:
            return
        task_id = self.verdict.task_id
        self.saving = True
        # A hub task's resolution is an HTTP call: the network pool, not the writer.
        self.runner.run(lambda: self.qa.resolve(task_id, final_label, note),
                        lambda _r: self._next_task("Resolved: the final label now stands"
                                                   + (" on the hub" if self.qa.remote else "")),
                        self._on_failed, write=not self.qa.remote, network=self.qa.remote)

    def leave_for_lead(self) -> None:
        if self.phase is not Phase.DISAGREED or self.saving or self.verdict is None:
            return
        task_id = self.verdict.task_id
        self.saving = True
        self.runner.write(lambda: self.qa.leave_for_lead(task_id),
                          lambda _r: self._next_task("Left for the lead: the decision stands as it was"),
                          self._on_failed)

    # -- internals ----------------------------------------------------------------------------
    def _judge(self, label_name: str) -> None:
        item = self._ready_item()
        if item is None:
            return
        stored, ms = self.tasks[item.id], self._handle_ms()
        self.saving = True
        # A hub task's judgement is kept in the outbox, then pushed: the network pool, not the writer.
        self.runner.run(lambda: self.qa.judge(item.id, label_name, handle_ms=ms),
                        lambda outcome: self._on_judged(outcome, stored), self._on_failed,
                        write=not self.qa.remote, network=self.qa.remote)

    def _on_judged(self, outcome: QaOutcome, stored: Item) -> None:
        self.saving = False
        if outcome.pending is not None:  # kept here, not answered by the hub: the original stays unknown
            self.saved.emit(outcome.qa.uuid, outcome.pending)
            self.drop_tasks([outcome.task.task_id], outcome.pending)
            return
        if outcome.original is not None and self.qa.remote:
            stored = outcome.task.item  # the hub's bank matches, sent with the original
        d, policy, settings = outcome.qa, self.service.policy, self.settings
        self.verdict = verdict_of(outcome, stored, policy)
        # Status lines name no label: the next task's must not seem to echo this one's.
        self.saved.emit(d.uuid, f"QA label saved · {self.verdict.headline.lower()}")
        self.decided.emit(decision_severity(policy, settings, d.labels, d.action))
        if needs_calm_screen(policy, settings, d.labels, d.action):
            self._cleanse = True  # the calm screen comes before the next task
        self._set_phase(Phase.DISAGREED if self.verdict.resolvable else Phase.AGREED)
        self.verdict_changed.emit(self.verdict)

    def _next_task(self, text: str | None = None) -> None:
        """The verdict is settled: the task leaves the queue and the next one comes up, blind."""
        self.saving = False
        task_id = self.verdict.task_id
        self.verdict = None
        self._set_phase(Phase.JUDGING)
        self.verdict_changed.emit(None)
        if text:
            self.message.emit(text)
        change = ItemChange(task_id, frozenset({ItemField.STATUS}), ItemStatus.DECIDED)
        delta = self.queue.apply(Changes(items=(task_id,), queue=True, item_changes=(change,)))
        self._announce(self.index, lambda: self.model.apply(delta))

    def drop_tasks(self, task_ids: list[str], text: str | None = None) -> None:
        """Tasks that left this desk without a verdict (kept unanswered, or their hub lease is gone)."""
        gone = [t for t in task_ids if self.queue.row_of(t) is not None and
                (self.verdict is None or self.verdict.task_id != t)]
        if text:
            self.message.emit(text)
        if not gone:
            return
        changes = tuple(ItemChange(t, frozenset({ItemField.STATUS}), ItemStatus.DECIDED) for t in gone)
        delta = self.queue.apply(Changes(items=tuple(gone), queue=True, item_changes=changes))
        self._announce(self.index, lambda: self.model.apply(delta))

    def _set_phase(self, phase: Phase) -> None:
        before = self.phase
        self.phase = phase
        app = QApplication.instance()
        if phase is Phase.AGREED:
            app.installEventFilter(self)  # installed last, so it sees each key before the hold keys do
        elif before is Phase.AGREED:
            app.removeEventFilter(self)
        if phase is Phase.RESOLVING or before is Phase.RESOLVING:
            self.resolving.emit(phase is Phase.RESOLVING)
        mode = DeskMode.VERDICT if phase in (Phase.DISAGREED, Phase.RESOLVING) else DeskMode.QA
        self.mode_changed.emit(mode)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """After an agreement, the next key press (any key of this window) moves on, and does nothing
        else: a label key must never judge the next task before it is on screen."""
        kind = event.type()
        if self.phase is not Phase.AGREED or kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if not isinstance(obj, QWidget) or obj.window() is not self.viewer.window():
            return False
        if event.isAutoRepeat() or event.key() in MODIFIER_KEYS.values():
            return event.isAutoRepeat()
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # deliver it as a key press (below), not to a shortcut
            return True
        if not self.saving:
            self._next_task()
        return True

    def _on_viewer_exposed(self, kind: str, started_at: str, ms: int, fraction: float) -> None:
        # Exposure is the analyst's, on the stored item (the blind copy carries the task's id).
        shown = self.viewer.prepared
        stored = self.tasks.get(shown.item_id) if shown else None
        if stored is None:
            return
        self.runner.write(lambda: self.service.record_exposure(stored, kind, started_at, ms, fraction),
                          lambda _r: self.exposure_saved.emit())
