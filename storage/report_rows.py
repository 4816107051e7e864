"""The reads behind `moderator report`: moderation and bank rows, QA judgements with the decisions they
re-reviewed, exposure events and open items, turned into the pure row types of moderator.kpis and
moderator.qa_metrics. Only reads; timestamps are parsed to UTC here, once.

`lo`/`hi` bound the stored ISO text loosely (a day wider each side than the report's range, so a
timestamp written with another UTC offset is still read); moderator.report filters exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

from moderator.clock import parse_iso
from moderator.kpis import DecisionRow, ExposureRow, OpenItem
from moderator.qa_metrics import QaPair, decision_class
from storage import audit
from storage import decisions as decisions_repo
from storage import qa as qa_repo

LOCAL_TEAM = "local"  # the team of a decision that names none (a desk without a hub)


class ReportRowError(ValueError):
    """A stored row the report cannot read (a timestamp that is not ISO 8601)."""


def _utc(text: str, what: str) -> datetime:
    """A stored timestamp in UTC. datetime.fromisoformat reads the stored form (…Z) as UTC already;
    moderator.clock.parse_iso is the way for the rest (blanks round it)."""
    try:
        at = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        try:
            at = parse_iso(text)
        except (ValueError, AttributeError):
            raise ReportRowError(f"{what}: {text!r} is not an ISO 8601 timestamp") from None
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at if at.tzinfo is UTC else at.astimezone(UTC)


def _undone(db: Db) -> set[str]:
    return {r[0] for r in db.execute("SELECT supersedes FROM decisions WHERE action = 'undo' AND supersedes IS NOT NULL")}


def _bounds(column: str, lo: str | None, hi: str | None) -> tuple[str, list[str]]:
    where, args = [], []
    if lo is not None:
        where.append(f"{column} >= ?")
        args.append(lo)
    if hi is not None:
        where.append(f"{column} < ?")
        args.append(hi)
    return (" AND " + " AND ".join(where)) if where else "", args


class _Classes(dict):
    """(labels JSON, action) -> decision_class, parsed once per distinct value (a handful in 100,000 rows)."""

    def __missing__(self, key: tuple[str, str]) -> str:
        self[key] = value = decision_class(json.loads(key[0]), key[1])
        return value


def decision_rows(db: Db, lo: str | None = None, hi: str | None = None) -> list[DecisionRow]:
    """Moderation (manual, batch) and bank rows, undo and QA rows left out, in log order, each with its
    item's SLA due time and whether an undo supersedes it. The items, teams and undo targets are read
    whole beside one scan of the decisions (joins per row cost three times as much at 100,000 rows)."""
    bounds, args = _bounds("decided_at", lo, hi)
    teams, undone, classes = decisions_repo.teams(db), _undone(db), _Classes()
    due = {item_id: _utc(sla, f"item {item_id} sla_due_at")
           for item_id, sla in audit.tuples(db, "SELECT id, sla_due_at FROM items WHERE sla_due_at IS NOT NULL")}
    sql = ("SELECT uuid, item_id, actor, source, action, labels, decided_at, handle_ms FROM decisions "
           f"WHERE source IN ('manual', 'batch', 'bank') AND action != 'undo'{bounds} ORDER BY seq")
    return [DecisionRow(uuid, item_id, actor, (teams.get(uuid) or LOCAL_TEAM), source, action,
                        _utc(decided_at, f"decision {uuid} decided_at"), int(handle_ms or 0), due.get(item_id),
                        uuid in undone, classes[labels, action])
            for uuid, item_id, actor, source, action, labels, decided_at, handle_ms in audit.tuples(db, sql, args)]


def qa_pairs(db: Db, lo: str | None = None, hi: str | None = None) -> list[tuple[QaPair, datetime]]:
    """Each analyst's first standing QA judgement of each decision (a later one, such as the resolution
    after a disagreement, is not a second blind judgement), with the reviewed decision's time; bounded
    by that time. QA rows an undo superseded are left out."""
    bounds, args = _bounds("o.decided_at", lo, hi)
    teams, undone, classes = decisions_repo.teams(db), _undone(db), _Classes()
    sql = ("SELECT q.uuid, q.actor, q.labels, q.action, o.uuid, o.actor, o.labels, o.action, o.decided_at "
           "FROM decisions q JOIN decisions o ON o.uuid = q.qa_of "
           f"WHERE q.source = 'qa' AND q.action != 'undo'{bounds} ORDER BY q.seq")
    seen: set[tuple[str, str]] = set()
    out = []
    for qa_uuid, analyst, qa_labels, qa_action, uuid, moderator, labels, action, decided_at in audit.tuples(db, sql, args):
        if qa_uuid in undone or (uuid, analyst) in seen:
            continue
        seen.add((uuid, analyst))
        pair = QaPair(uuid, moderator, (teams.get(uuid) or LOCAL_TEAM), classes[labels, action],
                      classes[qa_labels, qa_action], analyst)
        out.append((pair, _utc(decided_at, f"decision {uuid} decided_at")))
    return out


def exposure_rows(db: Db, lo: str | None = None, hi: str | None = None) -> list[ExposureRow]:
    bounds, args = _bounds("started_at", lo, hi)
    sql = f"SELECT id, actor, category, kind, started_at, ms FROM exposure_events WHERE 1 = 1{bounds} ORDER BY id"
    return [ExposureRow(actor, category, kind, _utc(started, f"exposure event {eid} started_at"), int(ms))
            for eid, actor, category, kind, started, ms in audit.tuples(db, sql, args)]


def open_items(db: Db) -> list[OpenItem]:
    sql = ("SELECT id, status, COALESCE(reported_at, imported_at), sla_due_at FROM items "
           "WHERE status IN ('pending', 'skipped', 'escalated')")
    return [OpenItem(status, _utc(since, f"item {item_id} reported_at"),
                     _utc(sla, f"item {item_id} sla_due_at") if sla else None)
            for item_id, status, since, sla in db.execute(sql)]


def golden_scores(db: Db) -> dict[str, tuple[int, int]]:
    """Golden-item results per moderator, actor -> (n, correct) (storage.qa.golden_scores: each actor's
    latest standing moderation decision on each golden item, whenever it was made)."""
    return qa_repo.golden_scores(db)
