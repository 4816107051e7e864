"""QA on the hub: batches of decisions to re-review drawn from the hub's decision log, and the reviewed
decision shown to its analyst once their judgement is in.

The draw is the desk's own (moderator.qa_sampling, pure over Decision records): the same candidates
(an item's standing moderation decision, never a QA row, an undo, a replaced row, the analyst's own or
one re-reviewed already), the same strategies and the same seed giving the same sample. Only accepted
rows are the log: conflict rows are evidence and never stand. Leasing the tasks is upstream.qa_leases.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, select

from moderator import qa_sampling
from moderator.clock import now_iso
from upstream.auth import User
from upstream.decisions import stored_decision
from upstream.leases import item_matches
from upstream.schema import decisions, golden_items, qa_batches, qa_tasks


class QaError(Exception):
    """A QA request refused: `status` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class HubBatch:
    batch_id: str
    picks: tuple[qa_sampling.Pick, ...]
    task_ids: tuple[str, ...]
    pool: int


def history(conn: Connection) -> list:
    """Every accepted decision, in the order the hub took them (the log the desk's replay reads)."""
    rows = conn.execute(select(decisions).where(decisions.c.status == "accepted").order_by(decisions.c.seq))
    return [stored_decision(r) for r in rows.mappings()]


def sample_batch(conn: Connection, created_by: str, strategy: str, seed: int, *, analyst: str | None = None,
                 count: int | None = None, percent: float | None = None) -> HubBatch:
    """Draw a batch from the hub's log and store it with a pending task per pick, for `analyst` (None:
    any qa user; at lease time nobody is given their own decisions). SampleError when nothing qualifies."""
    if strategy not in qa_sampling.STRATEGIES:
        raise qa_sampling.SampleError(f"unknown strategy {strategy!r} (choose from {', '.join(qa_sampling.STRATEGIES)})")
    pool = qa_sampling.candidates(history(conn), analyst or "")
    n = qa_sampling.count_for(len(pool), count=count, percent=percent)
    picks = qa_sampling.sample(pool, n, strategy, seed)
    if not picks:
        what = "targeted decisions" if strategy == "targeted" and pool else "decisions"
        raise qa_sampling.SampleError(f"nothing to sample: no {what} on the hub qualify (accepted, standing "
                                      "moderation decisions not re-reviewed yet"
                                      + (f", not {analyst}'s own)" if analyst else ")"))
    batch_id, at = str(uuid.uuid4()), now_iso()
    task_ids = tuple(str(uuid.uuid4()) for _ in picks)
    params = {"count": count, "percent": percent, "drawn": len(picks), "pool": len(pool)}
    conn.execute(qa_batches.insert().values(id=batch_id, created_at=at, created_by=created_by, analyst=analyst,
                                            strategy=strategy, seed=seed, params=json.dumps(params)))
    conn.execute(qa_tasks.insert(), [
        {"id": tid, "batch_id": batch_id, "position": n, "decision_uuid": p.decision.uuid, "analyst": analyst,
         "stratum": p.stratum, "state": "pending"} for n, (tid, p) in enumerate(zip(task_ids, picks, strict=True))])
    return HubBatch(batch_id, tuple(picks), task_ids, len(pool))


def original(conn: Connection, user: User, task_id: str) -> dict:
    """The decision a task re-reviewed, for the analyst whose judgement of it was accepted (or a lead).
    404 no such task; 409 not judged yet; 403 judged by someone else."""
    task = conn.execute(select(qa_tasks).where(qa_tasks.c.id == task_id)).mappings().first()
    if task is None:
        raise QaError(404, f"no QA task {task_id}")
    if task["state"] != "judged":
        raise QaError(409, f"QA task {task_id} is not judged yet: the original is shown after the judgement")
    judge = conn.execute(select(decisions.c.actor).where(decisions.c.uuid == task["qa_uuid"])).scalar_one()
    if judge != user.name and not user.is_lead:
        raise QaError(403, f"QA task {task_id} was judged by another analyst")
    row = conn.execute(select(decisions).where(decisions.c.uuid == task["decision_uuid"])).mappings().one()
    d = stored_decision(row)
    golden = conn.execute(select(golden_items.c.labels).where(golden_items.c.item_id == d.item_id)).scalar()
    # What the analyst may see now: the decision, its source (a bank's auto-action says so), the item's
    # bank matches (what routing suggested) and a golden item's known answer.
    return {"task_id": task_id, "decision_uuid": d.uuid, "qa_uuid": task["qa_uuid"], "item_id": d.item_id,
            "label": qa_sampling.label_of(d), "labels": list(d.labels), "action": d.action.value, "actor": d.actor,
            "team": row["team"], "decided_at": d.decided_at, "note": d.note, "source": d.source.value,
            "policy_version": d.policy_version, "matches": item_matches(conn, [d.item_id]).get(d.item_id, []),
            "golden_labels": json.loads(golden) if golden else None}


def add_golden(conn: Connection, actor: str, golden: list[tuple[str, tuple[str, ...], str | None]]) -> None:
    """Mark imported items golden: (item id, known answer, origin) each."""
    at = now_iso()
    conn.execute(golden_items.insert(), [{"item_id": item_id, "labels": json.dumps(list(labels)), "imported_at": at,
                                          "imported_by": actor, "origin": origin} for item_id, labels, origin in golden])
