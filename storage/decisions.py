"""Decision rows: the one place they are appended (with their outbox message, the items' status and one
audit entry, in the caller's transaction), and reads that replay them with moderator.decision_log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from sqlite_utils import Database

from moderator import decision_log
from moderator import outbox as messages
from moderator.domain import Action, Decision, DecisionResult, DecisionSource, ItemStatus
from storage import audit
from storage import items as items_repo

COLUMNS = tuple(f.name for f in fields(Decision))
_INSERT = f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SELECT = ", ".join(COLUMNS)
_IN = "IN (SELECT value FROM json_each(?))"
_ACTIONS = {a.value: a for a in Action}  # dict look-ups: Enum(value) is slow for a batch's history
_SOURCES = {s.value: s for s in DecisionSource}
UNDO_WINDOW = 500  # an actor's latest rows searched first for the one to undo


def decision_to_row(d: Decision) -> dict[str, Any]:
    row = {c: getattr(d, c) for c in COLUMNS}  # not asdict: its deep copies cost a batch of 1,000 ~100 ms
    row["labels"] = json.dumps(list(d.labels))
    row["action"] = d.action.value
    row["source"] = d.source.value
    return row


def row_to_decision(row: Any) -> Decision:
    r = dict(row)
    r.pop("seq", None)
    return Decision(
        **{**r, "labels": tuple(json.loads(r["labels"])), "action": Action(r["action"]),
           "source": DecisionSource(r["source"])}
    )


def _decisions(db: Database, sql: str, params: Sequence[Any]) -> list[Decision]:
    """Decisions from `sql` selecting COLUMNS in order (tuples: ~3x faster than rows for a batch's history)."""
    at = {c: COLUMNS.index(c) for c in ("labels", "action", "source")}
    out = []
    for values in audit.tuples(db, sql, params):
        v = list(values)
        v[at["labels"]] = tuple(json.loads(v[at["labels"]]))
        v[at["action"]], v[at["source"]] = _ACTIONS[v[at["action"]]], _SOURCES[v[at["source"]]]
        out.append(Decision(*v))
    return out


def append_decisions(db: Database, decisions: Sequence[Decision]) -> DecisionResult:
    """Append one decision, or a batch sharing a batch_id: each row (a moderation row superseding the
    item's standing decision: moderator.decision_log.plan), its outbox message, the status of every
    item whose standing decision changed, and one audit entry recording all of them. Runs inside the
    caller's transaction; DecisionLogError (before anything is written) when the log refuses a row."""
    items = _identities(db, [d.item_id for d in decisions])
    statuses = {item_id: ItemStatus(row[2]) for item_id, row in items.items()}
    plan = decision_log.plan(history_for_items(db, list(items)), decisions, statuses)
    records: list[audit.Record] = []
    for d in plan.rows:
        row = decision_to_row(d)
        db.execute(_INSERT, [row[c] for c in COLUMNS])
        sha256, external_id = items[d.item_id][:2]
        payload = messages.encode(messages.decision_message(d, sha256=sha256, external_id=external_id))
        seq = db.execute("INSERT INTO outbox (kind, ref, payload, created_at) VALUES ('decision', ?, ?, ?)",
                         (d.uuid, payload, d.decided_at)).lastrowid
        records += [("decision", d.uuid), ("outbox", str(seq))] + ([("decision_qa", d.uuid)] if d.qa_of else [])
    for item_id, status in plan.statuses.items():
        items_repo.set_status(db, item_id, status)
        records.append(("item_state", item_id))
    _audit(db, plan.rows, records)
    return DecisionResult(plan.rows, plan.changes)


def _identities(db: Database, item_ids: list[str]) -> dict[str, tuple[str, str | None, str]]:
    """item id -> (sha256, external_id, status), in the order asked; DecisionLogError for a missing item."""
    wanted = list(dict.fromkeys(item_ids))
    found = {r[0]: (r[1], r[2], r[3]) for r in db.execute(
        f"SELECT id, sha256, external_id, status FROM items WHERE id {_IN}", (json.dumps(wanted),))}
    missing = next((i for i in wanted if i not in found), None)
    if missing is not None:
        raise decision_log.DecisionLogError(f"no item {missing!r}")
    return {i: found[i] for i in wanted}


def _audit(db: Database, rows: Sequence[Decision], records: list[audit.Record]) -> None:
    event = "undo" if all(d.action is Action.UNDO for d in rows) else "decision"
    if len(rows) == 1:
        audit.append(db, rows[0].actor, event, rows[0].item_id, _summary(rows[0]), records)
    else:
        payload = {"batch_id": rows[0].batch_id, "decisions": [_summary(d) for d in rows]}
        audit.append(db, rows[0].actor, event, rows[0].batch_id, payload, records)


def _summary(d: Decision) -> dict[str, Any]:
    out = {"uuid": d.uuid, "item_id": d.item_id, "labels": list(d.labels), "action": d.action.value,
           "supersedes": d.supersedes, "source": d.source.value, "batch_id": d.batch_id}
    return {**out, "qa_of": d.qa_of} if d.qa_of else out


# -- reads: the replay ------------------------------------------------------------------------------
def history_for_items(db: Database, item_ids: Sequence[str]) -> list[Decision]:
    """Every row of these items, in log order."""
    sql = f"SELECT {_SELECT} FROM decisions WHERE item_id {_IN} ORDER BY seq"
    return _decisions(db, sql, (json.dumps(list(item_ids)),))


def all_decisions(db: Database) -> list[Decision]:
    """Every row, in log order (QA sampling replays the whole log)."""
    return _decisions(db, f"SELECT {_SELECT} FROM decisions ORDER BY seq", ())


def current_for_item(db: Database, item_id: str) -> Decision | None:
    """The item's standing decision (moderator.decision_log.standing), None when nothing stands."""
    return decision_log.standing(history_for_items(db, [item_id]))


def decision_by_uuid(db: Database, uuid: str) -> Decision | None:
    row = db.execute("SELECT * FROM decisions WHERE uuid = ?", (uuid,)).fetchone()
    return row_to_decision(row) if row else None


def last_undoable(db: Database, actor: str) -> Decision | None:
    """The actor's latest row that no undo has superseded (decision_log.last_undoable), searched in the
    actor's latest rows first, then in ever more of them."""
    window = UNDO_WINDOW
    while True:
        sql = ("WITH mine AS (SELECT uuid FROM decisions WHERE actor = ? ORDER BY seq DESC LIMIT ?) "
               "SELECT * FROM decisions WHERE uuid IN (SELECT uuid FROM mine) "
               "OR (action = 'undo' AND supersedes IN (SELECT uuid FROM mine)) ORDER BY seq")
        history = [row_to_decision(r) for r in db.execute(sql, (actor, window))]
        found = decision_log.last_undoable(history, actor)
        if found is not None or sum(d.actor == actor for d in history) < window:
            return found
        window *= 8


def undo_set(db: Database, target: Decision) -> list[Decision]:
    """What undoing `target` supersedes: it alone, or every member of its batch not undone yet."""
    if target.batch_id is None:
        return [target]
    sql = ("SELECT * FROM decisions WHERE batch_id = ? OR (action = 'undo' AND supersedes IN "
           "(SELECT uuid FROM decisions WHERE batch_id = ?)) ORDER BY seq")
    history = [row_to_decision(r) for r in db.execute(sql, (target.batch_id, target.batch_id))]
    return decision_log.undo_set(history, target)


def all_rows(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute("SELECT * FROM decisions ORDER BY seq")]


def current_rows(db: Database) -> list[dict[str, Any]]:
    """Every item's standing decision row (decision_log.standing_by_item), in decision order."""
    rows = all_rows(db)
    standing = decision_log.standing_by_item(row_to_decision(r) for r in rows)
    uuids = {d.uuid for d in standing.values()}
    return [r for r in rows if r["uuid"] in uuids]


def unassigned_exposure(db: Database, item_id: str, actor: str) -> tuple[list[int], int]:
    rows = db.execute(
        "SELECT id, ms FROM exposure_events WHERE item_id = ? AND actor = ? AND decision_uuid IS NULL",
        (item_id, actor),
    ).fetchall()
    return [r[0] for r in rows], sum(r[1] for r in rows)


def assign_exposure(db: Database, ids: list[int], decision_uuid: str) -> None:
    db.conn.executemany("UPDATE exposure_events SET decision_uuid = ? WHERE id = ?", [(decision_uuid, i) for i in ids])


def standing_bank_decisions(db: Database) -> list[dict[str, Any]]:
    """Items closed by a bank whose decision still stands, newest first, with what identifies them."""
    rows = [r for r in current_rows(db) if r["source"] == DecisionSource.BANK.value]
    names = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, external_id, source_name FROM items")}
    for r in rows:
        external_id, source_name = names.get(r["item_id"], (None, None))
        r["item_title"] = external_id or source_name or r["item_id"][:8]
    return sorted(rows, key=lambda r: r["seq"], reverse=True)
