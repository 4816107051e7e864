"""What leads read off the hub: every decision it holds (`hub decisions export`) and the state of the
queue, the desks and the day (`hub status`). Read-only; times are the hub's ISO text (moderator.clock)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from moderator.clock import iso, parse_iso
from upstream.golden import golden_scores
from upstream.schema import decisions, desk_heads, items, leases

EXPORT_COLUMNS = (
    "uuid", "status", "reason", "item_id", "external_id", "sha256", "labels", "action", "actor", "team", "desk",
    "lease_id", "decided_at", "received_at", "handle_ms", "exposure_ms", "batch_id", "supersedes", "qa_of",
    "source", "note", "policy_version",
)


def decision_rows(conn: Connection, since: str | None = None) -> list[dict]:
    """Every decision the hub received (accepted and conflict), in the order it received them, with
    what identifies the item; `since`: only those received at or after that time."""
    query = (select(decisions, items.c.external_id, items.c.sha256)
             .join(items, items.c.id == decisions.c.item_id).order_by(decisions.c.seq))
    if since is not None:
        query = query.where(decisions.c.received_at >= iso(parse_iso(since)))
    out = []
    for r in conn.execute(query).mappings():
        out.append({k: json.loads(r["labels"]) if k == "labels" else r[k] for k in EXPORT_COLUMNS})
    return out


# -- status ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeadProblem:
    """A desk's audit head that does not extend the one it pushed before."""

    desk: str
    actor: str
    problem: str  # went_back | rewritten | unchanged_hash
    previous: dict  # {"hash", "count", "received_at"}
    head: dict

    @property
    def text(self) -> str:
        was, now = self.previous, self.head
        return {
            "went_back": f"audit log cut short: count went from {was['count']} to {now['count']}",
            "rewritten": f"audit log rewritten: count {now['count']} again with a different head hash",
            "unchanged_hash": f"audit count grew from {was['count']} to {now['count']} with the same head hash",
        }[self.problem]


def head_problems(heads: list[dict]) -> list[HeadProblem]:
    """Each push of an audit head that does not extend the desk's previous one: a smaller count (the log
    was cut short), the same count with another hash (rewritten), or a larger count with the same hash
    (a log that grew cannot keep its last hash). `heads` are desk_heads rows in the order received."""
    last: dict[str, dict] = {}
    found = []
    for h in heads:
        before = last.get(h["desk"])
        last[h["desk"]] = h
        if before is None:
            continue
        if h["audit_count"] < before["audit_count"]:
            problem = "went_back"
        elif h["audit_count"] == before["audit_count"] and h["audit_hash"] != before["audit_hash"]:
            problem = "rewritten"
        elif h["audit_count"] > before["audit_count"] and h["audit_hash"] == before["audit_hash"]:
            problem = "unchanged_hash"
        else:
            continue
        found.append(HeadProblem(h["desk"], h["actor"], problem, _head(before), _head(h)))
    return found


def _head(h: dict) -> dict:
    return {"hash": h["audit_hash"], "count": h["audit_count"], "received_at": h["received_at"]}


def hub_status(conn: Connection, now: datetime) -> dict:
    """Items by state, leases out, the oldest open item, today's decisions (UTC), golden accuracy per
    moderator (upstream.golden, the desk report's `qa.golden` keys) and desks whose audit head went
    wrong, as of `now`."""
    now_s = iso(now)
    return {"at": now_s, "items": _item_counts(conn, now_s), "leases": _live_leases(conn, now_s),
            "oldest": _oldest(conn, now), "decisions_today": _today(conn, now), "golden": golden_scores(conn),
            "desk_heads": [{"desk": p.desk, "actor": p.actor, "problem": p.problem, "text": p.text,
                            "previous": p.previous, "head": p.head}
                           for p in head_problems(_heads(conn))]}


def _item_counts(conn: Connection, now_s: str) -> dict[str, int]:
    """pending (waiting for a desk), leased (held by a live lease now), decided, escalated."""
    held = items.c.lease_id.is_not(None) & (items.c.lease_expires_at > now_s) & (items.c.status == "pending")
    counts = {"pending": 0, "leased": 0, "decided": 0, "escalated": 0}
    query = select(items.c.status, held.label("held"), func.count()).group_by(items.c.status, held)
    for status, is_held, n in conn.execute(query):
        counts["leased" if is_held else status] += n
    return counts


def _live_leases(conn: Connection, now_s: str) -> dict:
    live = (leases.c.ended_at.is_(None)) & (leases.c.expires_at > now_s)
    by_desk = {desk: n for desk, n in conn.execute(
        select(leases.c.desk, func.count()).where(live).group_by(leases.c.desk).order_by(leases.c.desk))}
    return {"live": sum(by_desk.values()), "by_desk": by_desk}


def _oldest(conn: Connection, now: datetime) -> dict | None:
    """The open (pending, leased or not) item imported first."""
    row = conn.execute(select(items.c.id, items.c.imported_at, items.c.sla_due_at)
                       .where(items.c.status == "pending")
                       .order_by(items.c.imported_at, items.c.id).limit(1)).first()
    if row is None:
        return None
    age = max(0, int((now - parse_iso(row.imported_at)).total_seconds()))
    return {"id": row.id, "imported_at": row.imported_at, "age_s": age, "sla_due_at": row.sla_due_at}


def _today(conn: Connection, now: datetime) -> dict:
    """Decisions made (decided_at) on now's UTC day, accepted and conflict, in all and per team."""
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day = (decisions.c.decided_at >= iso(start)) & (decisions.c.decided_at < iso(start + timedelta(days=1)))
    teams: dict[str | None, dict[str, int]] = {}
    for team, status, n in conn.execute(select(decisions.c.team, decisions.c.status, func.count())
                                        .where(day).group_by(decisions.c.team, decisions.c.status)):
        teams.setdefault(team, {"accepted": 0, "conflict": 0})[status] = n
    by_team = [{"team": t, **c} for t, c in sorted(teams.items(), key=lambda tc: (tc[0] is None, tc[0] or ""))]
    return {"day": start.date().isoformat(), "accepted": sum(c["accepted"] for c in teams.values()),
            "conflict": sum(c["conflict"] for c in teams.values()), "by_team": by_team}


def _heads(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(select(desk_heads).order_by(desk_heads.c.id)).mappings()]
