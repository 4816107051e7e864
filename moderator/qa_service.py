"""The QA service: draw a batch of decisions to re-review, and the blind re-review of its tasks.

A QaTask carries the item only: nothing of the decision under review (its label, action, actor, time,
or any bank suggestion on it) is in it, so the desk cannot show it before the analyst's label. `judge`
writes the QA row (source "qa", qa_of: moderator.review.ReviewService.write_qa) and marks the task in
the same transaction, and only then returns the original. A disagreement is then resolved (the final
label supersedes the item's standing decision) or left for the lead. No Qt: the desk runs these on a
worker, the CLI and tests inline. docs/QA.md describes the flow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator import qa_sampling
from moderator.domain import Decision, DecisionResult, FilterSpec, Item, Policy
from moderator.qa_sampling import Filters, Pick
from moderator.review import ReviewError, ReviewService
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage import qa as qa_repo
from storage.store import Store


class QaError(ReviewError):
    """A QA step that cannot be taken (not this analyst's task, already judged, nothing to resolve)."""


@dataclass(frozen=True)
class QaTask:
    task_id: str
    batch_id: str
    decision_uuid: str
    # The moderator's item as the queue shows it (media path, category, priority…), without the bank
    # suggestion and badges: the analyst labels it as if new.
    item: Item
    # The item is golden (it has a known answer). Like the original, not for the analyst's eyes before
    # the judgement: it tells them a known answer exists.
    golden: bool
    # A hub task: the filter floor its bank suggestion gives (the hub sends the filter, not the match),
    # so the item is filtered as its moderator saw it. Local tasks: None (the stored item carries it).
    floor: FilterSpec | None = None


@dataclass(frozen=True)
class QaOutcome:
    task: QaTask
    qa: Decision  # the QA row written
    original: Decision | None  # the decision re-reviewed
    golden_labels: tuple[str, ...] | None  # the known answer, for a golden item
    agrees: bool  # the QA label is the original's (qa_sampling.label_of on both)
    result: DecisionResult | None  # the local rows written (None for a hub task: moderator.qa_hub)
    # A hub task whose judgement is kept here but not (yet) answered by the hub: why, in one line; the
    # original is then unknown (None) and stays so on this desk.
    pending: str | None = None


@dataclass(frozen=True)
class Batch:
    batch_id: str
    picks: tuple[Pick, ...]
    task_ids: tuple[str, ...]
    pool: int  # decisions the batch could draw from


class QaService:
    """One interface, two sources: the local store's tasks (`moderator qa sample`), or with `hub` (a
    moderator.qa_hub.HubQaSource) the team hub's, leased. `remote` says every call may block on the
    network (the desk then runs them on its network pool)."""

    def __init__(self, store: Store, policy: Policy, actor: str, hub: Any = None):
        self.store, self.policy, self.actor, self.hub = store, policy, actor, hub
        self._review = ReviewService(store=store, policy=policy, actor=actor)

    @property
    def remote(self) -> bool:
        return self.hub is not None

    # -- reads --------------------------------------------------------------------------------
    def open_tasks(self) -> list[QaTask]:
        """This analyst's pending tasks, oldest batch first; never a task on the analyst's own decision."""
        if self.hub is not None:
            return self.hub.open_tasks()
        db = self.store.db
        answers = qa_repo.golden_answers(db)
        return [self._task(db, t, answers) for t in qa_repo.open_tasks(db, self.actor)]

    # -- writes -------------------------------------------------------------------------------
    def judge(self, task_id: str, label: str, *, handle_ms: int = 0, note: str | None = None) -> QaOutcome:
        """The analyst's label for a pending task: the QA row and the task's new state in one
        transaction; the outcome is the first thing that shows the original."""
        if self.hub is not None:
            return self.hub.judge(task_id, label, handle_ms=handle_ms, note=note)

        def write(db: Db) -> tuple[qa_repo.TaskRow, DecisionResult, Decision]:
            t = self._pending(db, task_id)
            original = decisions_repo.decision_by_uuid(db, t.decision_uuid)
            if original.actor == self.actor:
                raise QaError(f"QA task {task_id} re-reviews {self.actor}'s own decision")
            result = self._review.write_qa(db, t.decision_uuid, label, note=note, handle_ms=handle_ms)
            qa = result.decisions[0]
            state = qa_repo.AGREED if agrees(original, qa) else qa_repo.DISAGREED
            qa_repo.set_task(db, self.actor, t, state, qa_uuid=qa.uuid)
            return t, result, original

        t, result, original = self.store.write(write)
        db = self.store.db
        answer = qa_repo.golden_labels(db, original.item_id)
        task = self._task(db, t, {original.item_id: answer} if answer is not None else {})
        qa = result.decisions[0]
        return QaOutcome(task, qa, original, answer, agrees(original, qa), result)

    def resolve(self, task_id: str, final_label: str, note: str) -> DecisionResult | Decision:
        """Settle a disagreement: `final_label` supersedes the item's standing decision (a QA resolution);
        on a hub, the resolution row the hub accepted."""
        note = (note or "").strip()
        if not note:
            raise QaError("a resolution needs a note")
        if self.hub is not None:  # the hub writes it (moderator.qa_hub); blocking: the desk's network pool
            return self.hub.resolve(task_id, final_label, note)

        def write(db: Db) -> DecisionResult:
            t = self._disagreement(db, task_id)
            result = self._review.write_qa(db, t.decision_uuid, final_label, resolve=True, note=note)
            qa_repo.set_task(db, self.actor, t, qa_repo.RESOLVED, resolution_uuid=result.decisions[0].uuid,
                             note=note)
            return result

        return self.store.write(write)

    def leave_for_lead(self, task_id: str, note: str | None = None) -> None:
        """Leave a disagreement open for the lead (audited); the item's standing decision stays."""
        note = note.strip() if note and note.strip() else None
        if self.hub is not None:
            return self.hub.leave_for_lead(task_id, note)

        def write(db: Db) -> None:
            qa_repo.set_task(db, self.actor, self._disagreement(db, task_id), qa_repo.LEFT, note=note)

        self.store.write(write)

    # -- helpers ------------------------------------------------------------------------------
    def _mine(self, db: Db, task_id: str) -> qa_repo.TaskRow:
        t = qa_repo.task(db, task_id)
        if t is None or t.analyst != self.actor:
            raise QaError(f"no QA task {task_id!r} for {self.actor}")
        return t

    def _pending(self, db: Db, task_id: str) -> qa_repo.TaskRow:
        t = self._mine(db, task_id)
        if t.state != qa_repo.PENDING:
            raise QaError(f"QA task {task_id} is already {t.state.replace('_', ' ')}")
        return t

    def _disagreement(self, db: Db, task_id: str) -> qa_repo.TaskRow:
        t = self._mine(db, task_id)
        if t.state != qa_repo.DISAGREED:
            why = "not judged yet" if t.state == qa_repo.PENDING else t.state.replace("_", " ")
            raise QaError(f"QA task {task_id} is no open disagreement ({why})")
        return t

    @staticmethod
    def _task(db: Db, t: qa_repo.TaskRow, answers: dict[str, Any]) -> QaTask:
        item_id = db.execute("SELECT item_id FROM decisions WHERE uuid = ?", (t.decision_uuid,)).fetchone()[0]
        item = replace(items_repo.get_item(db, item_id), suggested_label=None, match_badges=())
        return QaTask(t.id, t.batch_id, t.decision_uuid, item, item_id in answers)


def agrees(original: Decision, qa: Decision) -> bool:
    """Whether a QA judgement agrees with the decision it re-reviewed: the same label (an original
    without labels, an escalation, is its action)."""
    return qa_sampling.label_of(original) == qa_sampling.label_of(qa)


def sample_batch(store: Store, analyst: str, strategy: str, seed: int, *, count: int | None = None,
                 percent: float | None = None, filters: Filters = Filters()) -> Batch:
    """Draw a batch from the store's decision log and store it with a pending task per pick, all the
    analyst's; SampleError (nothing stored) when there is nothing to draw."""
    if strategy not in qa_sampling.STRATEGIES:
        raise qa_sampling.SampleError(f"unknown strategy {strategy!r} (choose from {', '.join(qa_sampling.STRATEGIES)})")
    pool = qa_sampling.candidates(decisions_repo.all_decisions(store.db), analyst, filters)
    n = qa_sampling.count_for(len(pool), count=count, percent=percent)
    picks = qa_sampling.sample(pool, n, strategy, seed)
    if not picks:
        what = "targeted decisions" if strategy == "targeted" and pool else "decisions"
        raise qa_sampling.SampleError(f"nothing to sample: no {what} match (standing moderation decisions, "
                                      f"not {analyst}'s own, not re-reviewed yet)")
    batch_id = str(uuid.uuid4())
    task_ids = tuple(str(uuid.uuid4()) for _ in picks)
    params = {"count": count, "percent": percent, "drawn": len(picks), "pool": len(pool),
              "moderator": filters.moderator, "label": filters.label,
              "since": filters.since.isoformat() if filters.since else None,
              "until": filters.until.isoformat() if filters.until else None}
    tasks = [(tid, p.decision.uuid, p.stratum) for tid, p in zip(task_ids, picks, strict=True)]
    store.write(lambda db: qa_repo.insert_batch(db, batch_id, analyst, strategy, seed, params, tasks))
    return Batch(batch_id, tuple(picks), task_ids, len(pool))
