"""The reads behind `moderator report`: moderation and bank rows, QA judgements with the decisions they
re-reviewed, exposure events and open items, turned into the pure row types of moderator.kpis and
moderator.qa_metrics. Only reads; timestamps are parsed to UTC here, once.

`lo`/`hi` bound the stored ISO text loosely (a day wider each side than the report's range, so a
timestamp written with another UTC offset is still read); moderator.report filters exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlite_utils import Database

from moderator.clock import parse_iso
from moderator.kpis import DecisionRow, ExposureRow, OpenItem
from moderator.qa_metrics import QaPair, decision_class
from storage import qa as qa_repo

LOCAL_TEAM = "local"  # the team of a decision that names none (a desk without a hub)
_UNDONE = "EXISTS (SELECT 1 FROM decisions u WHERE u.action = 'undo' AND u.supersedes = {}.uuid)"


class ReportRowError(ValueError):
    """A stored row the report cannot read (a timestamp that is not ISO 8601)."""


def _utc(text: str, what: str) -> datetime:
    try:
        return parse_iso(text).astimezone(UTC)
    except (ValueError, AttributeError):
        raise ReportRowError(f"{what}: {text!r} is not an ISO 8601 timestamp") from None


def _team(db: Database, alias: str) -> tuple[str, str]:
    """(SQL of a decision's team, the join it needs): the team its import named (decision_teams, migration
    0008_qa), else LOCAL_TEAM."""
    if not db["decision_teams"].exists():
        return f"'{LOCAL_TEAM}'", ""
    return (f"COALESCE(NULLIF({alias}_team.team, ''), '{LOCAL_TEAM}')",
            f" LEFT JOIN decision_teams {alias}_team ON {alias}_team.uuid = {alias}.uuid")


def _bounds(column: str, lo: str | None, hi: str | None) -> tuple[str, list[str]]:
    where, args = [], []
    if lo is not None:
        where.append(f"{column} >= ?")
        args.append(lo)
    if hi is not None:
        where.append(f"{column} < ?")
        args.append(hi)
    return (" AND " + " AND ".join(where)) if where else "", args


def decision_rows(db: Database, lo: str | None = None, hi: str | None = None) -> list[DecisionRow]:
    """Moderation (manual, batch) and bank rows, undo and QA rows left out, in log order, each with its
    item's SLA due time and whether an undo supersedes it."""
    bounds, args = _bounds("d.decided_at", lo, hi)
    team, join = _team(db, "d")
    sql = (f"SELECT d.uuid, d.item_id, d.actor, {team}, d.source, d.action, d.labels, "
           f"d.decided_at, d.handle_ms, i.sla_due_at, {_UNDONE.format('d')} FROM decisions d{join} "
           "LEFT JOIN items i ON i.id = d.item_id "
           f"WHERE d.source IN ('manual', 'batch', 'bank') AND d.action != 'undo'{bounds} ORDER BY d.seq")
    due: dict[str | None, datetime | None] = {None: None}
    out = []
    for uuid, item_id, actor, team, source, action, labels, decided_at, handle_ms, sla, undone in db.execute(sql, args):
        if sla not in due:
            due[sla] = _utc(sla, f"item {item_id} sla_due_at")
        out.append(DecisionRow(uuid, item_id, actor, team, source, action,
                               _utc(decided_at, f"decision {uuid} decided_at"), int(handle_ms or 0),
                               due[sla], bool(undone), decision_class(json.loads(labels), action)))
    return out


def qa_pairs(db: Database, lo: str | None = None, hi: str | None = None) -> list[tuple[QaPair, datetime]]:
    """Each analyst's first standing QA judgement of each decision (a later one, such as the resolution
    after a disagreement, is not a second blind judgement), with the reviewed decision's time; bounded
    by that time. QA rows an undo superseded are left out."""
    bounds, args = _bounds("o.decided_at", lo, hi)
    team, join = _team(db, "o")
    sql = (f"SELECT q.actor, q.labels, q.action, o.uuid, o.actor, {team}, o.labels, o.action, "
           f"o.decided_at FROM decisions q JOIN decisions o ON o.uuid = q.qa_of{join} "
           f"WHERE q.source = 'qa' AND q.action != 'undo' AND NOT {_UNDONE.format('q')}{bounds} ORDER BY q.seq")
    seen: set[tuple[str, str]] = set()
    out = []
    for analyst, qa_labels, qa_action, uuid, moderator, team, labels, action, decided_at in db.execute(sql, args):
        if (uuid, analyst) in seen:
            continue
        seen.add((uuid, analyst))
        pair = QaPair(uuid, moderator, team, decision_class(json.loads(labels), action),
                      decision_class(json.loads(qa_labels), qa_action), analyst)
        out.append((pair, _utc(decided_at, f"decision {uuid} decided_at")))
    return out


def exposure_rows(db: Database, lo: str | None = None, hi: str | None = None) -> list[ExposureRow]:
    bounds, args = _bounds("started_at", lo, hi)
    sql = f"SELECT id, actor, category, kind, started_at, ms FROM exposure_events WHERE 1 = 1{bounds} ORDER BY id"
    return [ExposureRow(actor, category, kind, _utc(started, f"exposure event {eid} started_at"), int(ms))
            for eid, actor, category, kind, started, ms in db.execute(sql, args)]


def open_items(db: Database) -> list[OpenItem]:
    sql = ("SELECT id, status, COALESCE(reported_at, imported_at), sla_due_at FROM items "
           "WHERE status IN ('pending', 'skipped', 'escalated')")
    return [OpenItem(status, _utc(since, f"item {item_id} reported_at"),
                     _utc(sla, f"item {item_id} sla_due_at") if sla else None)
            for item_id, status, since, sla in db.execute(sql)]


def golden_scores(db: Database) -> dict[str, tuple[int, int]]:
    """Golden-item results per moderator, actor -> (n, correct) (storage.qa.golden_scores: each actor's
    latest standing moderation decision on each golden item, whenever it was made)."""
    return qa_repo.golden_scores(db)
