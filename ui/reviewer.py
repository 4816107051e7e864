"""The review controller: keys call the review service off the GUI thread, then the views refresh.

The open queue is a QueueState (moderator/queue_state.py) and one QueueModel every view shares: a
write's Changes move or remove just the rows they name; the whole stored queue is re-read only on
load, after an import or bank routing (reload), delivered with the version it was read at.

While a decision is being saved the reviewer is in transition: further decision keys are ignored,
so one key press never counts twice and nothing is decided on an item the moderator has not seen.
The next item is painted as soon as the key is pressed, while the commit is flushed (_show_ahead);
a failed save brings the decided item back.

After a decision or a skip the desk goes to the top of the queue order (QueueState.top_after: the
most urgent open item, overdue ones pinned first), and the early paint predicts that same item. A
skipped item is hidden for a while (QueueState.hidden) and comes back in its place; a timer brings
hidden items back and re-pins the items that became overdue.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

from moderator import undo_rules
from moderator.clock import now_iso
from moderator.domain import (
    Action,
    Changes,
    Decision,
    DecisionResult,
    FilterSpec,
    Item,
    ItemChange,
    ItemField,
)
from moderator.history import local_time
from moderator.queue_state import QueueState, Snapshot
from moderator.review import ReviewService, UndoOutcome, UndoRefused
from moderator.settings import Settings
from moderator.viewing import decision_severity, filter_spec, needs_calm_screen
from ui.images import Prepared
from ui.prefetch import PreviewCache
from ui.queue_model import QueueModel
from ui.tasks import TaskRunner
from ui.viewer import MediaViewer


class Reviewer(QObject):
    queue_changed = Signal(int, int)  # open items, current index (not while the queue is `partial`)
    current_changed = Signal(object)  # Item | None
    saved = Signal(str, str)  # decision uuid, what the status bar says
    decided = Signal(int)  # severity of a decision just saved (for break reminders)
    exposure_saved = Signal()
    message = Signal(str)
    skipped = Signal(str)  # item id: with a hub, its lease goes back (ui/sync_driver.py)

    TICK_MS = 15_000  # hidden items come back and new overdue items are pinned this often
    REREAD_MS = 2_000  # a failed read of the rest of the queue (load) is tried again after this

    def __init__(self, service: ReviewService, runner: TaskRunner, viewer: MediaViewer,
                 settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.service, self.runner, self.viewer = service, runner, viewer
        self.settings = settings or Settings()
        self.blur_offset = 0
        self.empty_text = "The queue is empty. Import media, or `moderator import PATH`."  # the window names the key
        self.cache = PreviewCache(runner, self.spec_for, self)
        self.queue = QueueState(pinned_before=now_iso())
        self.session_start = now_iso()  # the progress strip counts this session's decisions from here
        self.model = QueueModel(self)
        self.index = 0
        self.saving = False
        self.partial = False  # the queue holds only its top item (the desk's start) until the rest is read
        self._ahead = False  # the next item is on screen before the save returns (_show_ahead)
        self._reread_after_save = False
        self._seen = QElapsedTimer()
        self._cleanse = False
        self.prefetch = True  # off while the grid hides the viewer: its decodes would only delay the grid's
        self.last_decided: tuple[Item, Decision] | None = None  # what "add to bank" acts on
        self.cache.ready.connect(self._on_cache_ready)
        self.cache.failed.connect(self._on_cache_failed)
        viewer.reveal.exposed.connect(self._on_viewer_exposed)
        viewer.shown.connect(lambda _id: self._seen.start())
        viewer.resized.connect(self._on_viewer_resized)
        self._tick_timer = QTimer(self)
        self._tick_timer.setInterval(self.TICK_MS)
        self._tick_timer.timeout.connect(self.tick)
        self._tick_timer.start()

    # -- reads --------------------------------------------------------------------------------
    @property
    def items(self) -> list[Item]:
        """The open items in queue order (the QueueState's list: read, never mutate)."""
        return self.queue.items

    @property
    def current(self) -> Item | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def spec_for(self, item: Item) -> FilterSpec:
        """The item's filter under the current settings and blur keys (moderator.viewing's rule)."""
        return filter_spec(self.service.policy, self.settings, item, self.blur_offset)

    def change_blur(self, delta: int) -> None:
        item = self.current
        if item is None:
            return
        before = self.spec_for(item).blur
        self.blur_offset = max(-6, min(6, self.blur_offset + delta))
        after = self.spec_for(item).blur
        if after == before:
            self.blur_offset -= delta  # at a limit: do not bank presses that change nothing
            self.message.emit("Blur is at the policy's minimum" if delta < 0 else "Blur is at its maximum")
            return
        self._show(self.index)

    def refilter(self) -> None:
        """Show the current item again under the filter the (new) settings give it."""
        if self.current is not None and not self.saving:
            self._show(self.index)

    def load(self, first=None) -> None:
        """Read the queue on a worker; `first` (ui/first_item.py: a Future of FirstItem) is a read of its
        top item already under way, with its picture, which the cache keeps before the item is shown. The
        rest of the queue is read once that item is on screen; until then the queue is `partial` and keys
        are not taken (_ready_item)."""
        if first is None:
            self.runner.run(self._read_all, self._on_queue_reread)
            return

        def read():
            got = first.result()
            return self.queue.read(lambda: got.items, lambda: got.hidden), got.prepared(), got.complete

        def done(result) -> None:
            snapshot, prepared, complete = result
            if prepared is not None:
                self.cache.put(prepared)
            self._on_queue_reread(snapshot, complete)
            if self.partial:  # its top item is painted by now (MediaViewer.show_prepared): read the rest
                self._read_rest()

        self.runner.run(read, done, lambda _exc: self.load())  # a failed early read: read it here

    def _read_rest(self) -> None:
        """The whole queue, once its top item alone is shown (load); a read that fails is tried again
        in a moment (keys wait for it: a decision would otherwise leave an empty queue on screen)."""
        def failed(exc: Exception) -> None:
            self.message.emit(f"Could not read the queue ({exc}); trying again in a moment")
            QTimer.singleShot(self.REREAD_MS, self, self._read_rest)

        self.runner.run(self._read_all, self._on_queue_reread, failed)

    def _read_all(self) -> Snapshot:
        """The whole stored queue, with what a skip hides now (on a worker)."""
        return self.queue.read(self.service.queue, self.service.hidden_until)

    def reload(self) -> None:
        """Re-read the stored queue on a worker (after an import, bank routing or a refresh) and keep
        the current item; a read that changes applied since may have missed is refused and re-run."""
        if self.partial:  # the rest of the queue is still to come: read it as load does, tried again if it fails
            self._read_rest()
            return
        shown = tuple(self.items)

        def reread() -> Snapshot | None:  # compared on the worker: 10,000 Items take ~5 ms to compare
            snapshot = self._read_all()
            return None if snapshot.items == shown else snapshot

        self.runner.run(reread, self._on_queue_reread)

    def apply_changes(self, changes: Changes) -> None:
        """Apply another op's Changes (bank routing, a reopen): only the rows they name are read, on a
        worker; the current item stays on screen unless it left the queue."""
        if not changes.item_changes:
            return
        ids, version = QueueState.rows_to_read(changes), self.queue.version

        def done(rows) -> None:
            if self.queue.version != version:  # a decision applied meanwhile: these rows may predate it
                self.apply_changes(changes)
                return
            current = self.current
            delta = self.queue.apply(changes, rows)
            self._announce(current.id if current and self.queue.get(current.id) else self.index,
                           lambda: self.model.apply(delta))

        self.runner.run(lambda: {i: self.service.item(i) for i in ids}, done)

    # -- keys ---------------------------------------------------------------------------------
    def decide(self, label_name: str) -> None:
        labels = [lb for lb in self.service.policy.labels if lb.name == label_name]
        calm = not labels or needs_calm_screen(self.service.policy, self.settings, [label_name], labels[0].action)
        self._close_current(lambda item, ms: self.service.decide(item.id, label_name, handle_ms=ms), calm)

    def accept_suggestion(self) -> None:
        item = self.current
        if item is not None and item.suggested_label:
            self.decide(item.suggested_label)
        elif item is not None:
            self.message.emit("No bank match suggests a label for this item")

    def decide_batch(self, item_ids: list[str], label_name: str, handle_ms: int = 0) -> bool:
        """One label on many items (the grid): one batch on the write worker; False (ignored) while a
        save is under way, as a decision key is."""
        if self.saving or self.partial or not item_ids:
            return False
        self.viewer.end_reveal()

        def done(result: DecisionResult) -> None:
            d = result.decisions
            self.saved.emit(d[0].uuid, f"Saved: {len(d)} item{'s' if len(d) != 1 else ''} {label_name} → "
                                       f"{d[0].action.value} (one batch; Ctrl+Z undoes it)")
            self.decided.emit(decision_severity(self.service.policy, self.settings, d[0].labels, d[0].action))

        self._transaction(lambda: self.service.decide_batch(item_ids, label_name, handle_ms=handle_ms), done)
        return True

    def escalate(self, note: str) -> None:
        calm = needs_calm_screen(self.service.policy, self.settings, [], Action.ESCALATE)
        self._close_current(lambda item, ms: self.service.escalate(item.id, note, handle_ms=ms), calm)

    def skip(self) -> None:
        """Hide the item on screen for a while (skip_hide_minutes, or until it would breach), then go
        to the top of the queue; with a hub its lease goes back (`skipped`)."""
        item = self._ready_item()
        if item is None:
            return
        minutes = self.settings.skip_hide_minutes

        def op() -> _Skipped:
            changes = self.service.skip(item.id, minutes)
            return _Skipped(changes, self.service.hidden_until().get(item.id, now_iso()))

        def done(outcome: _Skipped) -> str | None:
            self.queue.hidden[item.id] = outcome.until  # apply() below takes it out of the list
            name = item.external_id or item.source_name or item.id[:8]
            self.message.emit(f"Skipped: {name} is hidden until {local_time(outcome.until)}, then back in its place")
            self.skipped.emit(item.id)
            top = self.queue.top_after(item.id)
            return top.id if top is not None else None

        self._transaction(op, done)

    def undo(self) -> None:
        """Ctrl+Z: the last decision, only within undo_window_minutes and never an escalation
        (moderator.undo_rules); anything else is the history panel's, which asks first."""
        if self.saving:
            return
        self.viewer.end_reveal()
        window = self.settings.undo_window_minutes
        self._transaction(lambda: self.service.undo_recent(window), self._on_undone)

    def undo_decision(self, decision_uuid: str) -> bool:
        """The history panel's undo (after its confirmation); False (ignored) while a save is under way."""
        if self.saving:
            return False
        self.viewer.end_reveal()
        self._transaction(lambda: self.service.undo_decision(decision_uuid), self._on_undone)
        return True

    def set_summary(self, text: str) -> None:
        """What the viewer says when the queue is empty (the shift summary): shown now if it is."""
        self.empty_text = text
        if self.current is None and not self.saving and not self.viewer.calm:
            self.viewer.show_message(text)

    def tick(self) -> None:
        """Bring back hidden items whose time is up, and pin items that became overdue on top."""
        if self.saving:
            return  # the next tick
        now, current = now_iso(), self.current
        back = self.queue.due_back(now)
        if back:
            self._bring_back(back)
        delta = self.queue.repin(now)
        if delta is not None:
            self._announce(current.id if current else self.index, lambda: self.model.apply(delta))

    def move(self, delta: int) -> None:
        if self.items and not self.saving:
            self._show(max(0, min(len(self.items) - 1, self.index + delta)))

    def go_to(self, row: int) -> None:
        if 0 <= row < len(self.items) and not self.saving and row != self.index:
            self._show(row)

    # -- internals ----------------------------------------------------------------------------
    def _close_current(self, op, calm: bool) -> None:
        """Decide the item on screen with op(item, handle_ms), then show the next one (`calm`: this
        decision puts the calm screen first)."""
        item = self._ready_item()
        if item is not None:
            ms = self._handle_ms()

            def done(result: DecisionResult) -> str | None:
                d = result.decision
                self.last_decided = (item, d)
                self._on_decided(d)
                top = self.queue.top_after(item.id)  # the most urgent open item, not the row below
                return top.id if top is not None else None

            self._transaction(lambda: op(item, ms), done)
            if not calm:
                self._show_ahead()

    def _show_ahead(self) -> None:
        """While the decision is being saved, the item that follows it is already on screen: the
        commit's flush is not what the moderator waits on. Keys still wait for the save (`saving`);
        the queue list follows when it returns, and a failed save brings the decided item back."""
        decided = self.current
        following = self.queue.top_after(decided.id if decided else None)  # where the save's return goes
        prepared = self.cache.get(following.id) if following is not None else None
        if prepared is None or prepared.spec != self.spec_for(following):
            return  # not prepared yet: the save's return shows it as before
        self._ahead = True
        self._display(prepared)
        self.current_changed.emit(following)

    def _ready_item(self) -> Item | None:
        """The item a key acts on: only one that is on screen, and never during a save nor before the
        queue is read (a decision would show an empty queue until the read lands)."""
        item = self.current
        if self.partial:
            self.message.emit("Still reading the queue: that key was not taken")
            return None
        if self.saving or item is None or self.viewer.prepared is None or self.viewer.prepared.item_id != item.id:
            return None
        self.viewer.end_reveal()  # the reveal's exposure is queued before the decision that sums it
        return item

    def _handle_ms(self) -> int:
        return int(self._seen.elapsed()) if self._seen.isValid() else 0

    def _transaction(self, op, on_done) -> None:
        """Run a write, apply its Changes to the queue, then show the queue as it is now; on_done may
        return an item id to show. Only the rows of items the write brought back are read."""
        self.saving = True

        def work():
            outcome = op()
            changes = outcome if isinstance(outcome, Changes) else outcome.changes
            return outcome, changes, {i: self.service.item(i) for i in QueueState.rows_to_read(changes)}

        def done(result) -> None:
            outcome, changes, rows = result
            self.saving = self._ahead = False
            go_to = on_done(outcome)
            delta = self.queue.apply(changes, rows)
            self._announce(go_to if isinstance(go_to, str) else self.index, lambda: self.model.apply(delta))
            if self._reread_after_save:
                self._reread_after_save = False
                self.reload()

        self.runner.write(work, done, self._on_failed)

    def _on_queue_reread(self, snapshot: Snapshot | None, complete: bool = True) -> None:
        """Take a read of the queue (`complete`: the whole of it, not only its top item)."""
        if snapshot is None:  # a full read found it unchanged (Items compare by value: badges too)
            self.partial = False
            return
        if self.saving or not self.queue.load(snapshot):  # changes applied since it began: read again
            self._reread_after_save = self.saving
            if not self.saving:
                self.reload()
            return
        self.partial = not complete
        current = self.current
        self._announce(current.id if current else self.index,
                       lambda: self.model.reset(snapshot.items, self.queue.version))

    def _on_decided(self, d: Decision) -> None:
        what = ", ".join(d.labels) or "escalated"
        self.saved.emit(d.uuid, f"Saved: {what} → {d.action.value}")
        policy, settings = self.service.policy, self.settings
        self.decided.emit(decision_severity(policy, settings, d.labels, d.action))
        if needs_calm_screen(policy, settings, d.labels, d.action):
            self._cleanse = True

    def _bring_back(self, ids: list[str]) -> None:
        """Read the rows of items no longer hidden (on a worker) and put the open ones back in place."""
        version = self.queue.version

        def done(rows: dict[str, Item]) -> None:
            if self.queue.version != version or self.saving:  # rows may predate changes: the next tick
                self.queue.hidden.update({i: now_iso() for i in ids})
                return
            current = self.current
            changes = Changes(items=tuple(rows), queue=True, item_changes=tuple(
                ItemChange(i, frozenset({ItemField.STATUS}), row.status) for i, row in rows.items()))
            delta = self.queue.apply(changes, rows)
            self._announce(current.id if current else self.index, lambda: self.model.apply(delta))

        self.runner.run(lambda: {i: self.service.item(i) for i in ids}, done)

    def _on_undone(self, outcome: UndoOutcome) -> str | None:
        d = outcome.decision
        if d is None:
            self.message.emit("Nothing to undo")
            return None
        self.saved.emit(d.uuid, undo_rules.undone_text(self.service.policy, outcome.title, list(outcome.undone)))
        return d.item_id

    def _on_failed(self, exc: Exception) -> None:
        self.saving = False
        if self._ahead:  # the next item went on screen early: back to the one that was not saved
            self._ahead = False
            self._show(self.index)
        self.message.emit(str(exc) if isinstance(exc, UndoRefused) else f"Not saved: {exc}")
        if self._reread_after_save:
            self._reread_after_save = False
            self.reload()

    def _announce(self, index: int | str, update_model) -> None:
        """Show the item at `index` (or with that id) of the changed queue, then update the model."""
        if isinstance(index, str):  # an item id to return to
            row = self.queue.row_of(index)
            index = 0 if row is None else row
        n = len(self.queue)
        self.index = max(0, min(index, n - 1)) if n else 0

        def then() -> None:
            update_model()
            if not self.partial:  # the top item alone is no count of the queue: the panels wait for the rest
                self.queue_changed.emit(n, self.index)

        # The picture goes on screen before the queue list changes: a repaint also paints every
        # other widget with pending changes, and the list can wait a frame.
        self._show(self.index, before_announcing=then)

    def _show(self, index: int, before_announcing=None) -> None:
        """Put items[index] on screen, then tell the panels (`before_announcing` runs in between)."""
        self.index = index
        item = self.current
        if self._cleanse:  # after a high-severity item: a calm screen first, then the next one
            self._cleanse = False
            self.viewer.show_message("Take a breath. The next item follows in a moment.", calm=True)
            QTimer.singleShot(int(self.settings.palate_cleanser_seconds * 1000), self._end_cleanser)
        elif item is None:
            self.viewer.show_message(self.empty_text)
        elif (prepared := self.cache.get(item.id)) is not None and prepared.spec == self.spec_for(item):
            self._display(prepared)  # even at an old size: a re-fit arrives by _on_cache_ready
        elif not self.viewer.calm:
            self.viewer.show_message("Preparing the filtered view…")
        if before_announcing is not None:
            before_announcing()
        self.current_changed.emit(item)
        if item is not None and self.prefetch:
            self.cache.want(self.items, index)  # new decode work competes for the CPU: last

    def _end_cleanser(self) -> None:
        if self.viewer.calm:
            self._show(self.index)

    def _display(self, prepared: Prepared) -> None:
        if self.viewer.prepared is not prepared:  # already on screen (shown ahead): its handle time runs on
            self.viewer.show_prepared(prepared)

    def _on_cache_ready(self, item_id: str) -> None:
        item = self.current
        prepared = self.cache.get(item_id)
        if item is None or item.id != item_id or self.viewer.calm or prepared.spec != self.spec_for(item):
            return
        if self.viewer.prepared is not prepared:
            self._display(prepared)

    def _on_viewer_resized(self, width: int, height: int) -> None:
        """Prepare pictures at the viewer's own size, so painting one is a copy, not a rescale."""
        if (width, height) != self.cache.max_size and width > 0 and height > 0:
            self.cache.max_size = (width, height)
            if self.items:
                self.cache.want(self.items, self.index)

    def _on_cache_failed(self, item_id: str, reason: str) -> None:
        if self.current is not None and self.current.id == item_id:
            self.viewer.show_message(f"Cannot show this item: {reason}")

    def _on_viewer_exposed(self, kind: str, started_at: str, ms: int, fraction: float) -> None:
        # The peek belongs to the picture that was on screen, which may no longer be `current`.
        shown = self.viewer.prepared
        item = next((it for it in self.items if shown and it.id == shown.item_id), None)
        if item is None:
            return
        self.runner.write(lambda: self.service.record_exposure(item, kind, started_at, ms, fraction),
                          lambda _r: self.exposure_saved.emit())


class _Skipped:
    """A skip's Changes and when the item comes back (what `_transaction` and the reviewer need)."""

    def __init__(self, changes: Changes, until: str):
        self.changes, self.until = changes, until
