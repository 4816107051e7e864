"""QaService on a real store of real photos: blind tasks, judge, resolve, leave for the lead, and the
rows and audit entries each step writes."""

from __future__ import annotations

import json

import pytest

from moderator.domain import DecisionSource, ItemStatus
from moderator.qa_sampling import Filters, SampleError
from moderator.qa_service import QaError, QaService, sample_batch
from moderator.review import ReviewError, ReviewService
from storage import audit, audit_check
from storage import decisions as decisions_repo
from storage import qa as qa_repo


@pytest.fixture
def decided(good_store, policy):
    """The four photos decided by alice (two), bob (one, escalated) and the analyst herself (one)."""
    ids = [r[0] for r in good_store.db.execute("SELECT id FROM items ORDER BY rowid")]
    alice = ReviewService(good_store, policy, "alice")
    out = {
        "spam": alice.decide(ids[0], "spam", handle_ms=5000).decision,
        "allow": alice.decide(ids[1], "no_violation", handle_ms=6000).decision,
        "escalated": ReviewService(good_store, policy, "bob").escalate(ids[2], "unsure", handle_ms=9000).decision,
        "own": ReviewService(good_store, policy, "qa1").decide(ids[3], "nudity", handle_ms=7000).decision,
    }
    return good_store, out


def counts(store) -> tuple[int, ...]:
    return tuple(store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                 for t in ("decisions", "qa_tasks", "qa_batches", "audit_log"))


def test_tasks_carry_nothing_of_the_original_and_never_the_analysts_own(decided, policy):
    store, d = decided
    batch = sample_batch(store, "qa1", "random", seed=1, count=10)
    assert len(batch.picks) == 3 and d["own"].uuid not in {p.decision.uuid for p in batch.picks}
    tasks = QaService(store, policy, "qa1").open_tasks()
    assert [t.task_id for t in tasks] == list(batch.task_ids)
    for t in tasks:
        assert t.item.status is not None and t.item.suggested_label is None and t.item.match_badges == ()
        assert not t.golden
        assert not {"labels", "actor", "action", "decided_at"} & set(vars(t))
    assert QaService(store, policy, "alice").open_tasks() == []  # tasks belong to the analyst who drew them


def test_judge_agreeing_writes_a_qa_row_and_keeps_the_standing_decision(decided, policy):
    store, d = decided
    sample_batch(store, "qa1", "random", seed=1, count=10)
    qa = QaService(store, policy, "qa1")
    task = next(t for t in qa.open_tasks() if t.decision_uuid == d["spam"].uuid)
    out = qa.judge(task.task_id, "spam", handle_ms=3000, note="clear")
    assert out.agrees and out.original == d["spam"] and out.golden_labels is None
    assert out.qa.source is DecisionSource.QA and out.qa.qa_of == d["spam"].uuid and out.qa.supersedes is None
    assert out.qa.actor == "qa1" and out.qa.handle_ms == 3000 and out.qa.note == "clear"
    assert decisions_repo.current_for_item(store.db, task.item.id).uuid == d["spam"].uuid
    assert qa_repo.task(store.db, task.task_id).state == "agreed"
    assert task.task_id not in {t.task_id for t in qa.open_tasks()}
    with pytest.raises(QaError, match="already agreed"):
        qa.judge(task.task_id, "spam")
    with pytest.raises(QaError, match="no open disagreement"):
        qa.resolve(task.task_id, "spam", "no")


def test_disagreement_resolved_supersedes_the_standing_decision(decided, policy):
    store, d = decided
    sample_batch(store, "qa1", "random", seed=1, count=10)
    qa = QaService(store, policy, "qa1")
    task = next(t for t in qa.open_tasks() if t.decision_uuid == d["allow"].uuid)
    with pytest.raises(QaError, match="not judged yet"):
        qa.leave_for_lead(task.task_id)
    out = qa.judge(task.task_id, "violence_gore")
    assert not out.agrees and qa_repo.task(store.db, task.task_id).state == "disagreed"
    assert store.db.execute("SELECT status FROM items WHERE id = ?", (task.item.id,)).fetchone()[0] == "decided"
    before = counts(store)
    with pytest.raises(QaError, match="needs a note"):
        qa.resolve(task.task_id, "violence_gore", "  ")
    with pytest.raises(ReviewError, match="unknown label"):
        qa.resolve(task.task_id, "nonsense", "typo")
    assert counts(store) == before  # nothing of a refused resolution is written
    result = qa.resolve(task.task_id, "violence_gore", "gore in the corner")
    final = result.decision
    assert final.source is DecisionSource.QA and final.supersedes == d["allow"].uuid and final.qa_of == d["allow"].uuid
    assert decisions_repo.current_for_item(store.db, task.item.id).uuid == final.uuid
    row = qa_repo.task(store.db, task.task_id)
    assert (row.state, row.qa_uuid, row.resolution_uuid, row.note) == ("resolved", out.qa.uuid, final.uuid,
                                                                       "gore in the corner")
    assert audit_check.check(store.db, audit.anchor_path(store.path), None).ok  # every QA row is recorded


def test_leave_for_lead_is_audited_and_changes_no_decision(decided, policy):
    store, d = decided
    sample_batch(store, "qa1", "random", seed=1, count=10)
    qa = QaService(store, policy, "qa1")
    task = next(t for t in qa.open_tasks() if t.decision_uuid == d["escalated"].uuid)
    out = qa.judge(task.task_id, "self_harm")
    assert not out.agrees  # an escalation's label is its action
    rows = counts(store)[0]
    qa.leave_for_lead(task.task_id, "lead should look")
    assert counts(store)[0] == rows
    assert qa_repo.task(store.db, task.task_id).state == "left_for_lead"
    entry = store.db.execute("SELECT event, subject, payload FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    assert (entry[0], entry[1]) == ("qa_left_for_lead", task.task_id)
    assert json.loads(entry[2])["note"] == "lead should look"
    assert store.db.execute("SELECT status FROM items WHERE id = ?", (task.item.id,)).fetchone()[0] \
        == ItemStatus.ESCALATED.value
    with pytest.raises(QaError, match="left for lead"):
        qa.resolve(task.task_id, "self_harm", "late")


def test_someone_elses_task_and_unknown_tasks_are_refused(decided, policy):
    store, _ = decided
    batch = sample_batch(store, "qa1", "random", seed=1, count=1)
    before = counts(store)
    with pytest.raises(QaError, match="no QA task"):
        QaService(store, policy, "qa2").judge(batch.task_ids[0], "spam")
    with pytest.raises(QaError, match="no QA task"):
        QaService(store, policy, "qa1").judge("nope", "spam")
    with pytest.raises(ReviewError, match="unknown label"):
        QaService(store, policy, "qa1").judge(batch.task_ids[0], "nonsense")
    assert counts(store) == before


def test_a_decision_drawn_twice_is_one_task_and_one_judgement(decided, policy):
    store, d = decided
    first = sample_batch(store, "qa1", "random", seed=5, count=10)
    second = sample_batch(store, "qa1", "random", seed=5, count=10)
    assert [p.decision.uuid for p in first.picks] == [p.decision.uuid for p in second.picks]
    qa = QaService(store, policy, "qa1")
    tasks = qa.open_tasks()
    assert [t.task_id for t in tasks] == list(first.task_ids)  # the older batch's tasks, once each
    qa.judge(tasks[0].task_id, "spam")
    states = {t.id: t.state for t in qa_repo.tasks(store.db, analyst="qa1")}
    twin = second.task_ids[list(p.decision.uuid for p in second.picks).index(tasks[0].decision_uuid)]
    assert states[twin] == states[tasks[0].task_id] != "pending"
    assert len(qa.open_tasks()) == 2
    before = counts(store)
    with pytest.raises(SampleError, match="nothing to sample"):
        sample_batch(store, "qa1", "random", seed=1, count=5, filters=Filters(moderator="nobody"))
    assert counts(store) == before
