"""QA judgements of hub tasks waiting for (or settled by) the hub: outbox rows of kind `qa_judgement`.

Why not the decision log: a hub task's reviewed decision is the hub's, unknown here until the judgement
is accepted (the desk must not see it before), and the local log only takes a QA row whose `qa_of` is a
moderation decision it holds (moderator.decision_log). So the judgement is first kept as an outbox row
carrying the v1 wire decision (source qa, qa_of = the hub's decision uuid: a foreign reference) and the
task it judges, audited like any outbox row. The moderation push never reads it (it sends kind
`decision` only); moderator.qa_hub pushes it. Once the hub accepted it and sent the original, both rows
enter the local decision log as imported history (storage.decisions.import_history), so reports and
exports see the QA row like a local one. Writes run inside the caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.clock import now_iso
from storage import audit

KIND = "qa_judgement"


@dataclass(frozen=True)
class Judgement:
    seq: int
    uuid: str
    task_id: str
    decision: dict[str, Any]  # the wire decision, exactly as POST /v1/decisions takes it
    sent_at: str | None
    rejected_at: str | None
    last_error: str | None


_COLUMNS = "seq, ref, payload, sent_at, rejected_at, last_error"


def _judgement(row) -> Judgement:
    body = json.loads(row[2])
    return Judgement(row[0], row[1], body["task_id"], body["decision"], row[3], row[4], row[5])


def add(db: Db, actor: str, task_id: str, decision: dict[str, Any]) -> Judgement:
    """Keep a judgement (before any network call): one outbox row and its audit entry."""
    payload = audit.canonical({"task_id": task_id, "decision": decision})
    db.execute("INSERT INTO outbox (kind, ref, payload, created_at) VALUES (?, ?, ?, ?)",
               (KIND, decision["uuid"], payload, now_iso()))
    seq = db.execute("SELECT seq FROM outbox WHERE kind = ? AND ref = ?", (KIND, decision["uuid"])).fetchone()[0]
    audit.append(db, actor, "qa_hub_judgement", task_id,
                 {"uuid": decision["uuid"], "qa_of": decision["qa_of"], "lease_id": decision["lease_id"]},
                 [("outbox", str(seq))])
    return get(db, decision["uuid"])


def get(db: Db, uuid: str) -> Judgement | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE kind = ? AND ref = ?", (KIND, uuid)).fetchone()
    return _judgement(row) if row else None


def unsent(db: Db) -> list[Judgement]:
    """Judgements the hub has not answered yet (refused ones are kept, not sent again), oldest first."""
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE kind = ? AND sent_at IS NULL AND rejected_at IS NULL ORDER BY seq"
    return [_judgement(r) for r in db.execute(sql, (KIND,))]


def counts(db: Db) -> dict[str, int]:
    """unsent (waiting for the hub) and rejected (refused for good, kept with the hub's reason)."""
    row = db.execute("SELECT SUM(sent_at IS NULL AND rejected_at IS NULL), SUM(rejected_at IS NOT NULL) "
                     "FROM outbox WHERE kind = ?", (KIND,)).fetchone()
    return {"unsent": row[0] or 0, "rejected": row[1] or 0}


def mark_sent(db: Db, uuid: str) -> None:
    db.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE kind = ? AND ref = ?",
               (now_iso(), KIND, uuid))


def mark_failed(db: Db, uuid: str, error: str) -> None:
    db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE kind = ? AND ref = ?",
               (" ".join(error.split())[:300], KIND, uuid))


def mark_rejected(db: Db, uuid: str, reason: str) -> None:
    db.execute("UPDATE outbox SET rejected_at = ?, attempts = attempts + 1, last_error = ? WHERE kind = ? AND ref = ?",
               (now_iso(), " ".join(reason.split())[:300], KIND, uuid))
