"""Where a moderator stands in the shift: what the progress strip and the empty queue's shift summary
say. Qt-free; read on a worker from the stored decisions and exposure, and the open items the desk holds.

A decision counts while it is not undone: undo one and every counter goes back. "Decided" is this
actor's moderation rows (labels and escalations; no undo rows, no QA judgements), from the session's
start and from local midnight.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

from moderator import decision_log
from moderator.clock import iso, parse_iso
from moderator.domain import Action, DecisionSource, Item, Policy
from storage import decisions as decisions_repo


@dataclass(frozen=True)
class Progress:
    session_decided: int = 0
    today_decided: int = 0
    open_items: int = 0
    hidden: int = 0  # skipped, hidden from this desk for now
    overdue: int = 0
    due_within_hour: int = 0
    per_label: tuple[tuple[str, int], ...] = ()  # today, by label title, most first
    escalations: int = 0  # today
    median_handle_s: float | None = None  # today
    exposure_s: float = 0.0  # today
    breaks: int = 0  # this session (the desk counts them)
    sync: tuple[bool, int] | None = field(default=None)  # (online, unsynced) with a hub

    @property
    def session_total(self) -> int:
        """What this session has had in hand: decided so far plus what is still open."""
        return self.session_decided + self.open_items + self.hidden


def day_start(now: datetime) -> str:
    """Local midnight of `now`'s day, as stored timestamps are compared (ISO UTC)."""
    local = now.astimezone()
    return iso(local.replace(hour=0, minute=0, second=0, microsecond=0))


def compute(db: Db, actor: str, policy: Policy, open_items: Sequence[Item], session_start: str,
            now: datetime, hidden: int = 0) -> Progress:
    start = min(day_start(now), session_start)
    rows = [decisions_repo.row_to_decision(r) for r in db.execute(
        "SELECT * FROM decisions WHERE actor = ? AND decided_at >= ? ORDER BY seq", (actor, start))]
    undone = decision_log.undone(rows)
    today = day_start(now)
    mine = [d for d in rows if d.action is not Action.UNDO and d.source is not DecisionSource.QA
            and d.uuid not in undone]
    today_rows = [d for d in mine if d.decided_at >= today]
    labels = Counter(_title(policy, name) for d in today_rows for name in d.labels)
    handle = [d.handle_ms for d in today_rows if d.handle_ms > 0]
    exposure_ms = db.execute("SELECT COALESCE(SUM(ms), 0) FROM exposure_events WHERE actor = ? AND started_at >= ?",
                             (actor, today)).fetchone()[0]
    soon = now + timedelta(hours=1)
    dues = [parse_iso(i.sla_due_at) for i in open_items if i.sla_due_at]
    return Progress(
        session_decided=sum(d.decided_at >= session_start for d in mine), today_decided=len(today_rows),
        open_items=len(open_items), hidden=hidden, overdue=sum(d < now for d in dues),
        due_within_hour=sum(now <= d < soon for d in dues),
        per_label=tuple(labels.most_common()), escalations=sum(d.action is Action.ESCALATE for d in today_rows),
        median_handle_s=statistics.median(handle) / 1000 if handle else None, exposure_s=exposure_ms / 1000)


def strip_parts(p: Progress) -> list[str]:
    """The strip's facts, most important first (a narrow window shows the first ones that fit; the
    tooltip has them all): decided / total, what breaches, today, handle time, skips, sync."""
    parts = [f"{p.session_decided} / {p.session_total} decided this session",
             f"⚠ {p.overdue} overdue" if p.overdue else "none overdue"]
    if p.due_within_hour:
        parts.append(f"{p.due_within_hour} due within 1 h")
    parts.append(f"{p.today_decided} today")
    if p.median_handle_s is not None:
        parts.append(f"median {p.median_handle_s:.1f} s")
    if p.hidden:
        parts.append(f"{p.hidden} skipped for later")
    if p.sync is not None:
        online, unsynced = p.sync
        parts.append(("● online" if online else "○ offline") + (f", {unsynced} unsynced" if unsynced else ", synced"))
    return parts


def strip_text(p: Progress) -> str:
    """The strip's whole line: "3 / 16 decided this session · ⚠ 2 overdue · 4 due within 1 h · …"."""
    return " · ".join(strip_parts(p))


def label_parts(p: Progress) -> list[str]:
    return [f"{title} {n}" for title, n in p.per_label] or ["no decisions yet today"]


def labels_text(p: Progress) -> str:
    """Today's counts per label, for the strip's second line and its tooltip."""
    return " · ".join(label_parts(p))


def shift_summary(p: Progress, next_step: str) -> str:
    """What the viewer shows when the queue is empty: the shift so far, then `next_step` (import
    media, or with a hub: waiting for work). Before any decision today, only the next step."""
    if not (p.session_decided or p.today_decided):
        return f"The queue is empty. {next_step}"
    lines = ["The queue is empty. Your shift so far:",
             f"Decided: {p.session_decided} this session, {p.today_decided} today",
             f"By label today: {labels_text(p)}",
             f"Escalations today: {p.escalations}",
             f"Exposure today: {_duration(p.exposure_s)} unfiltered",
             f"Breaks this session: {p.breaks}"]
    if p.median_handle_s is not None:
        lines.append(f"Median handle time today: {p.median_handle_s:.1f} s")
    if p.hidden:
        lines.append("1 skipped item comes back when its time is up" if p.hidden == 1 else
                     f"{p.hidden} skipped items come back when their time is up")
    return "\n".join([*lines, "", next_step])


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _title(policy: Policy, name: str) -> str:
    try:
        return policy.label(name).title
    except KeyError:
        return name
