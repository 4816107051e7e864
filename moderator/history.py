"""A moderator's own recent decisions, newest first, as the history panel (H) lists them. Qt-free.

Each entry names the item as the moderator knows it (external id, else file name, never a bare UUID
when either exists), the labels' titles, the action, the local time, and whether it still stands:
an undone one stays listed, marked, so the list is what happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

from moderator import decision_log
from moderator.clock import parse_iso
from moderator.domain import Action, Decision, DecisionSource, Policy
from moderator.escalation import escalation_text
from moderator.undo_rules import decision_words
from storage import decisions as decisions_repo

LIMIT = 200  # the panel lists this many; older ones are in `moderator history` and the report


@dataclass(frozen=True)
class HistoryEntry:
    decision: Decision
    title: str  # external id, file name or a short id
    what: str  # "Terrorist content → escalate", an escalation's "→ Legal · reason · note" after it
    local_time: str  # "14:03:12" today, "2026-12-01 14:03" before
    standing: bool  # still the item's decision (False: undone, or decided again since)
    state: str  # "stands", "undone", "replaced"


def title_of(db: Db, item_id: str) -> str:
    row = db.execute("SELECT external_id, source_name FROM items WHERE id = ?", (item_id,)).fetchone()
    return (row[0] or row[1]) if row and (row[0] or row[1]) else item_id[:8]


def local_time(decided_at: str, now: datetime | None = None) -> str:
    at = parse_iso(decided_at).astimezone()
    today = (now or datetime.now().astimezone()).date()
    return at.strftime("%H:%M:%S") if at.date() == today else at.strftime("%Y-%m-%d %H:%M")


def my_history(db: Db, actor: str, policy: Policy, limit: int = LIMIT) -> list[HistoryEntry]:
    """The actor's last `limit` moderation decisions (no undo rows, no QA judgements), newest first."""
    mine = [decisions_repo.row_to_decision(r) for r in db.execute(
        "SELECT * FROM decisions WHERE actor = ? AND action != 'undo' AND source != ? ORDER BY seq DESC LIMIT ?",
        (actor, DecisionSource.QA.value, limit))]
    if not mine:
        return []
    item_ids = list(dict.fromkeys(d.item_id for d in mine))
    per_item: dict[str, list[Decision]] = {}
    for d in decisions_repo.history_for_items(db, item_ids):
        per_item.setdefault(d.item_id, []).append(d)
    standing = {i: decision_log.standing(rows) for i, rows in per_item.items()}
    undone = decision_log.undone(d for rows in per_item.values() for d in rows)
    titles = _titles(db, item_ids)
    out = []
    for d in mine:
        stands = standing.get(d.item_id) is not None and standing[d.item_id].uuid == d.uuid
        state = "stands" if stands else "undone" if d.uuid in undone else "replaced"
        out.append(HistoryEntry(d, titles.get(d.item_id, d.item_id[:8]), _words(policy, d),
                                local_time(d.decided_at), stands, state))
    return out


def _words(policy: Policy, d: Decision) -> str:
    """What was decided; an escalation also names its target, reason and note, as the item shows them."""
    words = decision_words(policy, d)
    if d.action is Action.ESCALATE and (d.escalation_target or d.note):
        words += " " + " · ".join(line for line in escalation_text(d, policy).splitlines() if line.strip())
    return words


def is_escalation(entry: HistoryEntry) -> bool:
    return entry.decision.action is Action.ESCALATE


def _titles(db: Db, item_ids: list[str]) -> dict[str, str]:
    rows = db.execute("SELECT id, external_id, source_name FROM items WHERE id IN (SELECT value FROM json_each(?))",
                      (json.dumps(item_ids),))
    return {r[0]: r[1] or r[2] or r[0][:8] for r in rows}
