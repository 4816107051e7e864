"""QA rows (migration 0008_qa): batches of sampled decisions and their tasks, golden items and their
known answers, and the scores of moderators on golden items. Writes run inside the caller's transaction
(Store.write) and record what they wrote in the audit log; reads take any connection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.clock import now_iso
from moderator.domain import Action, DecisionSource
from storage import audit

PENDING, AGREED, DISAGREED, RESOLVED, LEFT = "pending", "agreed", "disagreed", "resolved", "left_for_lead"
MODERATION_SOURCES = (DecisionSource.MANUAL.value, DecisionSource.BATCH.value, DecisionSource.BANK.value)


@dataclass(frozen=True)
class TaskRow:
    id: str
    batch_id: str
    position: int
    decision_uuid: str
    analyst: str
    reason: str | None
    state: str
    qa_uuid: str | None
    resolution_uuid: str | None
    note: str | None
    changed_at: str


_TASK_COLUMNS = ", ".join(f"t.{c}" for c in TaskRow.__dataclass_fields__)


def has_qa_tables(db: Db) -> bool:
    """False for a store opened read-only that predates migration 0008 (nothing of QA in it yet)."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'golden_items'").fetchone() is not None


# -- batches and tasks ------------------------------------------------------------------------------
def insert_batch(db: Db, batch_id: str, actor: str, strategy: str, seed: int, params: dict[str, Any],
                 tasks: Sequence[tuple[str, str, str | None]]) -> None:
    """A batch and its tasks, (task id, decision uuid, reason) in review order, all the analyst's."""
    at = now_iso()
    db.execute("INSERT INTO qa_batches (id, created_at, created_by, strategy, seed, params) VALUES (?,?,?,?,?,?)",
               (batch_id, at, actor, strategy, seed, audit.canonical(params)))
    db.conn.executemany(
        "INSERT INTO qa_tasks (id, batch_id, position, decision_uuid, analyst, reason, state, changed_at) "
        "VALUES (?,?,?,?,?,?,?,?)",
        [(task_id, batch_id, n, uuid, actor, reason, PENDING, at) for n, (task_id, uuid, reason) in enumerate(tasks)])
    records = [("qa_batch", batch_id), *(("qa_task", t[0]) for t in tasks)]
    audit.append(db, actor, "qa_sample", batch_id, {"strategy": strategy, "seed": seed, "tasks": len(tasks),
                                                    **params}, records)


def task(db: Db, task_id: str) -> TaskRow | None:
    row = db.execute(f"SELECT {_TASK_COLUMNS} FROM qa_tasks t WHERE t.id = ?", (task_id,)).fetchone()
    return TaskRow(*row) if row else None


def open_tasks(db: Db, analyst: str) -> list[TaskRow]:
    """The analyst's pending tasks, oldest batch first, one per decision (a decision drawn again in a
    later batch is the same re-review), never on a decision the analyst made."""
    sql = (f"SELECT {_TASK_COLUMNS} FROM qa_tasks t JOIN qa_batches b ON b.id = t.batch_id "
           "JOIN decisions d ON d.uuid = t.decision_uuid "
           "WHERE t.analyst = ? AND t.state = ? AND d.actor != ? ORDER BY b.created_at, b.rowid, t.position")
    seen: set[str] = set()
    out = []
    for row in db.execute(sql, (analyst, PENDING, analyst)):
        t = TaskRow(*row)
        if t.decision_uuid not in seen:
            seen.add(t.decision_uuid)
            out.append(t)
    return out


def tasks(db: Db, *, batch_id: str | None = None, analyst: str | None = None) -> list[TaskRow]:
    """Tasks in batch and review order, of one batch and/or one analyst."""
    where, params = [], []
    for column, value in (("t.batch_id", batch_id), ("t.analyst", analyst)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = (f"SELECT {_TASK_COLUMNS} FROM qa_tasks t JOIN qa_batches b ON b.id = t.batch_id {clause} "
           "ORDER BY b.created_at, b.rowid, t.position")
    return [TaskRow(*r) for r in db.execute(sql, params)]


def batches(db: Db) -> list[dict[str, Any]]:
    """Every batch, oldest first, with its task counts by state."""
    sql = ("SELECT b.*, (SELECT json_group_object(state, n) FROM (SELECT state, COUNT(*) AS n FROM qa_tasks "
           "WHERE batch_id = b.id GROUP BY state)) AS states FROM qa_batches b ORDER BY b.created_at, b.rowid")
    return [{**dict(r), "params": json.loads(r["params"]), "states": json.loads(r["states"] or "{}")}
            for r in db.execute(sql)]


def set_task(db: Db, actor: str, t: TaskRow, state: str, *, qa_uuid: str | None = None,
             resolution_uuid: str | None = None, note: str | None = None) -> None:
    """Move a task (and any other pending task of this analyst on the same decision) to `state`, audited."""
    ids = [t.id] if t.state != PENDING else [r[0] for r in db.execute(
        "SELECT id FROM qa_tasks WHERE analyst = ? AND decision_uuid = ? AND (state = ? OR id = ?)",
        (t.analyst, t.decision_uuid, PENDING, t.id))]
    for task_id in ids:
        db.execute("UPDATE qa_tasks SET state = ?, qa_uuid = COALESCE(?, qa_uuid), "
                   "resolution_uuid = COALESCE(?, resolution_uuid), note = COALESCE(?, note), changed_at = ? "
                   "WHERE id = ?", (state, qa_uuid, resolution_uuid, note, now_iso(), task_id))
    payload = {"state": state, "decision_uuid": t.decision_uuid, **({"note": note} if note else {})}
    audit.append(db, actor, f"qa_{state}", t.id, payload, [("qa_task", i) for i in ids])


def reviewed_uuids(db: Db) -> set[str]:
    """The decisions some QA row has re-reviewed."""
    return {r[0] for r in db.execute("SELECT DISTINCT qa_of FROM decisions WHERE qa_of IS NOT NULL")}


# -- golden items -----------------------------------------------------------------------------------
def add_golden(db: Db, actor: str, item_id: str, labels: Sequence[str], origin: str | None) -> None:
    """Mark an item golden with its known answer; it goes after every golden item already held."""
    position = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM golden_items").fetchone()[0]
    db.execute("INSERT INTO golden_items (item_id, labels, position, imported_at, imported_by, origin) "
               "VALUES (?,?,?,?,?,?)", (item_id, json.dumps(list(labels)), position, now_iso(), actor, origin))
    audit.append(db, actor, "golden_add", item_id, {"labels": list(labels)}, [("golden_item", item_id)])


def golden_labels(db: Db, item_id: str) -> tuple[str, ...] | None:
    """The item's known answer, None when it is no golden item (or the store predates golden items)."""
    if not has_qa_tables(db):
        return None
    row = db.execute("SELECT labels FROM golden_items WHERE item_id = ?", (item_id,)).fetchone()
    return tuple(json.loads(row[0])) if row else None


def golden_answers(db: Db) -> dict[str, tuple[str, ...]]:
    """item id -> known answer, of every golden item."""
    if not has_qa_tables(db):
        return {}
    return {r[0]: tuple(json.loads(r[1])) for r in db.execute("SELECT item_id, labels FROM golden_items")}


def golden_hidden_sql(rate: float) -> str:
    """A condition on `i` (items) that holds for every item the queue may show: every item but the
    golden ones not mixed in yet. With `rate` r, the first k golden items (in their seeded order) are
    mixed in, k = floor(r / (1 - r) * the items that are not golden), so golden items are about r of all
    items served; k only grows as items arrive, so a golden item once in the queue stays there."""
    ratio = max(0.0, min(float(rate), 0.5))
    ratio = ratio / (1.0 - ratio)
    return ("i.id NOT IN (SELECT g.item_id FROM golden_items g WHERE g.position >= CAST("
            f"{ratio!r} * (SELECT COUNT(*) FROM items x WHERE x.id NOT IN (SELECT item_id FROM golden_items)) "
            "AS INTEGER))")


def golden_scores(db: Db) -> dict[str, tuple[int, int]]:
    """actor -> (golden items they decided, how many of those matched the known answer): each actor's
    latest moderation decision on each golden item (undo rows, undone rows, QA rows and bank decisions
    left out: a bank is no moderator). A decision matches when its labels are the answer's labels."""
    if not has_qa_tables(db):
        return {}
    sql = ("SELECT d.uuid, d.item_id, d.actor, d.labels, d.action, g.labels FROM decisions d "
           "JOIN golden_items g ON g.item_id = d.item_id WHERE d.source IN (?, ?) AND d.action != ? "
           "AND d.uuid NOT IN (SELECT supersedes FROM decisions WHERE action = ? AND supersedes IS NOT NULL) "
           "ORDER BY d.seq")
    latest: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    params = (DecisionSource.MANUAL.value, DecisionSource.BATCH.value, Action.UNDO.value, Action.UNDO.value)
    for _uuid, item_id, actor, labels, _action, answer in db.execute(sql, params):
        latest[(actor, item_id)] = (json.loads(labels), json.loads(answer))
    scores: dict[str, tuple[int, int]] = {}
    for (actor, _item), (labels, answer) in latest.items():
        n, correct = scores.get(actor, (0, 0))
        scores[actor] = (n + 1, correct + (sorted(labels) == sorted(answer)))
    return dict(sorted(scores.items()))
