"""Decision rows: append with outbox and audit entries in one transaction; replay to current state."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from sqlite_utils import Database

from moderator.domain import Action, Decision, DecisionSource, ItemStatus
from storage import audit
from storage import items as items_repo


def decision_to_row(d: Decision) -> dict[str, Any]:
    row = asdict(d)
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


def append_decision(db: Database, d: Decision, status: ItemStatus | None = None) -> None:
    """Decision row + outbox row (+ the item's new `status`, when given) + one audit entry recording the
    hash of each; the caller's transaction makes them one."""
    row = decision_to_row(d)
    db["decisions"].insert(row)
    payload = json.dumps(row, sort_keys=True)
    outbox = db.execute(
        "INSERT INTO outbox (kind, ref, payload, created_at) VALUES ('decision', ?, ?, ?)",
        (d.uuid, payload, d.decided_at),
    ).lastrowid
    records = [("decision", d.uuid), ("outbox", str(outbox))]
    if status is not None:
        items_repo.set_status(db, d.item_id, status)
        records.append(("item_state", d.item_id))
    event = "undo" if d.action is Action.UNDO else "decision"
    audit.append(db, d.actor, event, d.item_id,
                 {k: row[k] for k in ("uuid", "labels", "action", "supersedes", "source")}, records)


def last_undoable(db: Database, actor: str) -> Decision | None:
    """The actor's latest decision that no undo has superseded yet."""
    row = db.execute(
        "SELECT * FROM decisions d WHERE actor = ? AND action != 'undo' AND NOT EXISTS "
        "(SELECT 1 FROM decisions u WHERE u.action = 'undo' AND u.supersedes = d.uuid) "
        "ORDER BY seq DESC LIMIT 1",
        (actor,),
    ).fetchone()
    return row_to_decision(row) if row else None


def current_for_item(db: Database, item_id: str, undoing: str | None = None) -> Decision | None:
    """Replay the item's rows: a decision pushes, an undo pops; the top is what stands now (once the
    decision `undoing` is undone too, when given)."""
    stack: list[Decision] = []
    for row in db.execute("SELECT * FROM decisions WHERE item_id = ? ORDER BY seq", (item_id,)):
        d = row_to_decision(row)
        if d.action is Action.UNDO:
            stack = [x for x in stack if x.uuid != d.supersedes]
        else:
            stack.append(d)
    stack = [x for x in stack if x.uuid != undoing]
    return stack[-1] if stack else None


def all_rows(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute("SELECT * FROM decisions ORDER BY seq")]


def current_rows(db: Database) -> list[dict[str, Any]]:
    """Every item's standing decision (undone ones and undo rows left out), in decision order."""
    rows = all_rows(db)
    undone = {r["supersedes"] for r in rows if r["action"] == Action.UNDO.value}
    live = [r for r in rows if r["action"] != Action.UNDO.value and r["uuid"] not in undone]
    latest: dict[str, dict[str, Any]] = {}
    for r in live:
        latest[r["item_id"]] = r
    return sorted(latest.values(), key=lambda r: r["seq"])


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
    rows = [r for r in current_rows(db) if r["source"] == "bank"]
    names = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, external_id, source_name FROM items")}
    for r in rows:
        external_id, source_name = names.get(r["item_id"], (None, None))
        r["item_title"] = external_id or source_name or r["item_id"][:8]
    return sorted(rows, key=lambda r: r["seq"], reverse=True)
