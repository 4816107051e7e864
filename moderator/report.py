"""`moderator report`'s numbers: one dict of a stable shape (docs/REPORT.md), built from stored rows only
(decisions, items, exposure events) with the pure rules of moderator.kpis and moderator.qa_metrics.
The JSON output, the HTML report and the desk's dashboard all show this dict."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator import kpis, qa_metrics
from moderator.clock import iso, utc_now
from storage import report_rows

VERSION = 1
MAX_DAYS = 3660  # the day series of a report spans at most ten years


class ReportError(ValueError):
    """A report that cannot be made as asked (a bad range): one line, nothing written."""


class ReportDataError(ReportError):
    """A stored row the report cannot read (a timestamp that is not ISO 8601)."""


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None


@dataclass(frozen=True)
class Range:
    """Whole UTC days, both ends included; None: unbounded."""

    since: date | None = None
    until: date | None = None

    def __post_init__(self):
        if self.since and self.until and self.since > self.until:
            raise ReportError(f"--since {self.since} is after --until {self.until}")

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.since, time(), UTC) if self.since else None

    @property
    def end(self) -> datetime | None:
        """The first instant after the range."""
        return datetime.combine(self.until + timedelta(days=1), time(), UTC) if self.until else None

    def contains(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def text_bounds(self) -> tuple[str | None, str | None]:
        """Loose bounds on stored ISO text: a day wider each side, for timestamps with UTC offsets."""
        lo = (self.since - timedelta(days=1)).isoformat() if self.since else None
        hi = (self.until + timedelta(days=2)).isoformat() if self.until else None
        return lo, hi


def build_report(db: Db, since: date | None = None, until: date | None = None, *,
                 now: datetime | None = None) -> dict[str, Any]:
    """The report of the decisions made in [since, until] (UTC days); `now` dates the backlog."""
    span = Range(since, until)
    now = now or utc_now()
    lo, hi = span.text_bounds()
    try:
        rows = [r for r in report_rows.decision_rows(db, lo, hi) if span.contains(r.decided_at)]
        exposure = [e for e in report_rows.exposure_rows(db, lo, hi) if span.contains(e.started_at)]
        pairs = [p for p, at in report_rows.qa_pairs(db, lo, hi) if span.contains(at)]
        open_items = report_rows.open_items(db)
    except report_rows.ReportRowError as exc:
        raise ReportDataError(str(exc)) from None
    days = _days(span, rows, exposure)
    return {
        "version": VERSION, "generated_at": iso(now),
        "range": {"since": _text(since), "until": _text(until),
                  "first_day": days[0] if days else None, "last_day": days[-1] if days else None},
        "qa": _qa(db, rows, pairs),
        "kpis": _kpis(rows, exposure, open_items, days, now),
    }


def _text(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _days(span: Range, rows: list[kpis.DecisionRow], exposure: list[kpis.ExposureRow]) -> list[str]:
    """Every day of the range; an unbounded end stops at the first or last day with data."""
    seen = [r.decided_at.date() for r in rows] + [e.started_at.date() for e in exposure]
    first = span.since or min(seen, default=None)
    last = span.until or max(seen, default=None)
    if first is None or last is None or first > last:
        return []
    if (last - first).days >= MAX_DAYS:
        raise ReportError(f"the report spans {(last - first).days + 1} days; at most {MAX_DAYS} "
                          "(narrow it with --since/--until)")
    return kpis.days_between(first, last)


def _qa(db: Db, rows: list[kpis.DecisionRow], pairs: list[qa_metrics.QaPair]) -> dict[str, Any]:
    decided = Counter(r.actor for r in rows)
    reviewed = len({p.original_uuid for p in pairs})
    return {
        "overall": qa_metrics.summary(pairs),
        "by_moderator": qa_metrics.by_moderator(pairs, dict(decided)),
        "by_label": qa_metrics.by_label(pairs, {r.decision_class for r in rows}),
        "by_team": qa_metrics.by_team(pairs, {r.team for r in rows}),
        "confusion": qa_metrics.confusion(pairs),
        "coverage": qa_metrics.coverage(len(rows), reviewed),
        "golden": _golden(db),
    }


def _golden(db: Db) -> dict[str, Any]:
    scores = report_rows.golden_scores(db) or {}
    by_moderator = {actor: {"n": n, "correct": correct, "accuracy": correct / n if n else None}
                    for actor, (n, correct) in sorted(scores.items())}
    n = sum(v["n"] for v in by_moderator.values())
    correct = sum(v["correct"] for v in by_moderator.values())
    return {"overall": {"n": n, "correct": correct, "accuracy": correct / n if n else None},
            "by_moderator": by_moderator}


def _kpis(rows: list[kpis.DecisionRow], exposure: list[kpis.ExposureRow], open_items: list[kpis.OpenItem],
          days: list[str], now: datetime) -> dict[str, Any]:
    human = [r for r in rows if r.source in kpis.HUMAN_SOURCES]
    teams = kpis.team_of_actors(rows)
    return {
        "overall": kpis.block(rows, sum(e.ms for e in exposure)),
        "by_moderator": kpis.grouped(human, exposure, lambda r: r.actor, lambda e: e.actor),
        "by_team": kpis.grouped(rows, exposure, lambda r: r.team,
                                lambda e: teams.get(e.actor, report_rows.LOCAL_TEAM)),
        "by_day": kpis.grouped(rows, exposure, lambda r: kpis.day_of(r.decided_at),
                               lambda e: kpis.day_of(e.started_at), days),
        "by_hour": kpis.grouped(rows, exposure, lambda r: kpis.hour_of(r.decided_at),
                                lambda e: kpis.hour_of(e.started_at), kpis.HOURS),
        "handle_ms_histogram": kpis.handle_histogram(rows),
        "exposure": kpis.exposure_breakdown(exposure),
        "bank": kpis.bank_summary(rows),
        "backlog": kpis.backlog(open_items, now),
    }
