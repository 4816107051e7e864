"""The append-only audit log: each row carries the hash of the previous one, so edits show."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlite_utils import Database

from moderator.clock import now_iso

GENESIS = "0" * 64


def _digest(prev_hash: str, at: str, actor: str, event: str, subject: str | None, payload: str) -> str:
    body = json.dumps([prev_hash, at, actor, event, subject, payload], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def append(db: Database, actor: str, event: str, subject: str | None, payload: dict[str, Any]) -> str:
    """Append one entry (call inside the writer's transaction); returns its hash."""
    row = db.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    prev = row[0] if row else GENESIS
    at = now_iso()
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    digest = _digest(prev, at, actor, event, subject, body)
    db.execute(
        "INSERT INTO audit_log (at, actor, event, subject, payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
        (at, actor, event, subject, body, prev, digest),
    )
    return digest


def verify(db: Database) -> int | None:
    """The seq of the first entry whose chain is broken, or None when the whole log is intact."""
    prev = GENESIS
    for r in db.execute("SELECT seq, at, actor, event, subject, payload, prev_hash, hash FROM audit_log ORDER BY seq"):
        seq, at, actor, event, subject, payload, prev_hash, digest = tuple(r)
        if prev_hash != prev or _digest(prev, at, actor, event, subject, payload) != digest:
            return seq
        prev = digest
    return None
