"""Team KPIs, pure (no SQLite, no Qt): decisions, throughput per active hour, handle time, SLA adherence,
escalation and undo rates, bank auto-actions, exposure, backlog; overall and grouped by moderator,
team, day and hour of day. storage.report_rows reads the rows; docs/REPORT.md defines every number.

Only moderation counts as throughput: rows of source manual or batch. Bank rows are counted as
auto-actions, QA rows never reach this module, undo rows are not decisions (they mark their target
as undone)."""

from __future__ import annotations

import bisect
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

HUMAN_SOURCES = frozenset({"manual", "batch"})
BANK_SOURCE = "bank"
NO_CATEGORY = "(none)"  # exposure of items without a category (a JSON key cannot be null)
# Lower edges of the handle-time histogram's bins, in ms; the last bin is open-ended.
HANDLE_EDGES_MS = (0, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000)
BLOCK_KEYS = ("decided", "active_ms", "throughput_per_active_hour", "median_handle_ms", "p90_handle_ms",
              "sla_n", "sla_met", "sla_adherence", "escalations", "escalation_rate", "undone", "undo_rate",
              "bank_auto_actions", "exposure_ms")


class DecisionRow(NamedTuple):
    """A moderation or bank row (never QA, never undo) with what its KPIs need. A named tuple, not a
    frozen dataclass: a report makes one per decision, and these build ~5x faster."""

    uuid: str
    item_id: str
    actor: str
    team: str
    source: str
    action: str
    decided_at: datetime  # UTC
    handle_ms: int
    sla_due_at: datetime | None  # the item's, UTC
    undone: bool  # some undo row supersedes it
    decision_class: str = ""  # moderator.qa_metrics.decision_class of its labels and action


class ExposureRow(NamedTuple):
    actor: str
    category: str | None
    kind: str
    started_at: datetime  # UTC
    ms: int


@dataclass(frozen=True)
class OpenItem:
    """An item not closed now: pending, skipped, or escalated (waiting for a lead)."""

    status: str
    since: datetime  # reported_at, else imported_at (UTC)
    sla_due_at: datetime | None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th quantile (0..1) with linear interpolation between closest ranks (numpy's default,
    statistics.quantiles(method="inclusive")); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def block(rows: Sequence[DecisionRow], exposure_ms: int) -> dict[str, Any]:
    """Every KPI of a group of rows (BLOCK_KEYS, in that order); a share of nothing is None. One pass."""
    handles: list[int] = []
    sla_n = met = escalations = undone = bank = 0
    for r in rows:
        if r.source not in HUMAN_SOURCES:
            bank += r.source == BANK_SOURCE
            continue
        handles.append(r.handle_ms)
        if r.sla_due_at is not None:
            sla_n += 1
            met += r.decided_at <= r.sla_due_at
        escalations += r.action == "escalate"
        undone += r.undone
    decided, active = len(handles), sum(handles)
    return {
        "decided": decided, "active_ms": active,
        "throughput_per_active_hour": decided / (active / 3_600_000) if active else None,
        "median_handle_ms": statistics.median(handles) if handles else None,
        "p90_handle_ms": percentile(handles, 0.9),
        "sla_n": sla_n, "sla_met": met, "sla_adherence": _share(met, sla_n),
        "escalations": escalations, "escalation_rate": _share(escalations, decided),
        "undone": undone, "undo_rate": _share(undone, decided),
        "bank_auto_actions": bank, "exposure_ms": exposure_ms,
    }


def grouped(rows: Iterable[DecisionRow], exposure: Iterable[ExposureRow], row_key: Callable[[DecisionRow], str],
            exposure_key: Callable[[ExposureRow], str], names: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """One block per group name: every name a row or an exposure event falls in, and `names` (listed
    even when empty, so an empty day shows as 0 decisions and null shares)."""
    by_group: dict[str, list[DecisionRow]] = {}
    for r in rows:
        by_group.setdefault(row_key(r), []).append(r)
    ms: Counter[str] = Counter()
    for e in exposure:
        ms[exposure_key(e)] += e.ms
    keys = sorted(set(names) | set(by_group) | set(ms))
    return {k: block(by_group.get(k, []), ms[k]) for k in keys}


def day_of(dt: datetime) -> str:
    return dt.date().isoformat()


def hour_of(dt: datetime) -> str:
    return f"{dt.hour:02d}"


def days_between(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


HOURS = tuple(f"{h:02d}" for h in range(24))


def team_of_actors(rows: Iterable[DecisionRow]) -> dict[str, str]:
    """Each actor's team: the team of their latest row (rows in log order)."""
    return {r.actor: r.team for r in rows}


def handle_histogram(rows: Iterable[DecisionRow]) -> dict[str, Any]:
    """Moderation handle times in HANDLE_EDGES_MS bins: counts[i] rows with edges[i] <= ms < edges[i+1]."""
    counts = [0] * len(HANDLE_EDGES_MS)
    for r in rows:
        if r.source in HUMAN_SOURCES:
            counts[max(0, bisect.bisect_right(HANDLE_EDGES_MS, r.handle_ms) - 1)] += 1
    return {"edges_ms": list(HANDLE_EDGES_MS), "counts": counts}


def exposure_breakdown(events: Iterable[ExposureRow]) -> dict[str, Any]:
    """Exposure ms in all, per category, per reveal kind, and per category and kind."""
    total, by_category, by_kind = 0, Counter(), Counter()
    both: dict[str, Counter[str]] = {}
    for e in events:
        category = e.category or NO_CATEGORY
        total += e.ms
        by_category[category] += e.ms
        by_kind[e.kind] += e.ms
        both.setdefault(category, Counter())[e.kind] += e.ms
    return {"total_ms": total, "by_category": dict(sorted(by_category.items())),
            "by_kind": dict(sorted(by_kind.items())),
            "by_category_kind": {c: dict(sorted(k.items())) for c, k in sorted(both.items())}}


def bank_summary(rows: Iterable[DecisionRow]) -> dict[str, Any]:
    """Bank auto-actions (rows of source bank): how many, per action and per bank (actor bank:<name>)."""
    bank = [r for r in rows if r.source == BANK_SOURCE]
    by_bank = Counter(r.actor.removeprefix("bank:") for r in bank)
    return {"auto_actions": len(bank), "undone": sum(r.undone for r in bank),
            "by_action": dict(sorted(Counter(r.action for r in bank).items())),
            "by_bank": dict(sorted(by_bank.items()))}


def backlog(items: Sequence[OpenItem], now: datetime) -> dict[str, Any]:
    """The open items now: pending and skipped ones (`size`), how long they have waited since reported
    (median and oldest, ms), how many are past their SLA; escalated items waiting for a lead apart."""
    waiting = [i for i in items if i.status in ("pending", "skipped")]
    ages = [max(0, int((now - i.since).total_seconds() * 1000)) for i in waiting]
    return {
        "size": len(waiting), "pending": sum(i.status == "pending" for i in waiting),
        "skipped": sum(i.status == "skipped" for i in waiting),
        "escalated": sum(i.status == "escalated" for i in items),
        "median_age_ms": statistics.median(ages) if ages else None, "oldest_age_ms": max(ages, default=None),
        "overdue": sum(i.sla_due_at is not None and i.sla_due_at < now for i in waiting),
    }
