"""Exposure budgets and break reminders: pure logic the desk feeds with time and decisions.

Blur and grayscale alone do not lower anxiety (Lewitzka et al., 2026), so the desk also limits and
counts exposure and reminds people to step away — after long active stretches or many
high-severity items — without ever blocking or losing work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

from moderator.settings import Settings

IDLE_AFTER_MS = 120_000  # no key for 2 minutes: the clock of active review stops


@dataclass
class BreakAdvisor:
    settings: Settings
    active_ms: int = 0
    high_severity: int = 0
    snoozed_until_ms: int = 0

    def add_active(self, ms: int) -> None:
        self.active_ms += max(0, int(ms))

    def add_decision(self, severity: int) -> None:
        if severity >= self.settings.high_severity:
            self.high_severity += 1

    def due(self) -> str | None:
        """Why a break is due now, or None."""
        s = self.settings
        if self.active_ms < self.snoozed_until_ms:
            return None
        if s.break_every_active_min and self.active_ms >= s.break_every_active_min * 60_000:
            m = self.active_ms // 60_000
            return f"{m} minute{'s' if m != 1 else ''} of active review since your last break"
        if s.break_after_high_severity and self.high_severity >= s.break_after_high_severity:
            n = self.high_severity
            return f"{n} high-severity item{'s' if n != 1 else ''} since your last break"
        return None

    def snooze(self, minutes: int = 10) -> None:
        self.snoozed_until_ms = self.active_ms + minutes * 60_000

    def took_break(self) -> None:
        self.active_ms = self.high_severity = self.snoozed_until_ms = 0


@dataclass(frozen=True)
class Today:
    exposure_ms: int  # every store and desk of this person (elsewhere_ms included)
    reviewed: int
    budget_ms: int
    elsewhere_ms: int = 0  # of which in other stores on this machine and on other desks (hub)

    @property
    def over_budget(self) -> bool:
        return self.budget_ms > 0 and self.exposure_ms >= self.budget_ms


def today(db: Db, actor: str, day: str, budget_s: int, elsewhere_ms: int = 0) -> Today:
    """Exposure and items reviewed by `actor` on `day` (YYYY-MM-DD, UTC): this store's rows, plus
    `elsewhere_ms` from other stores and desks (moderator.exposure) toward the one budget."""
    exposure = db.execute(
        "SELECT COALESCE(SUM(ms), 0) FROM exposure_events WHERE actor = ? AND substr(started_at, 1, 10) = ?",
        (actor, day),
    ).fetchone()[0]
    reviewed = db.execute(
        # QA judgements are not moderation: an analyst's re-reviews are not items they reviewed today
        "SELECT COUNT(DISTINCT item_id) FROM decisions WHERE actor = ? AND action != 'undo' AND source != 'qa' "
        "AND substr(decided_at, 1, 10) = ?",
        (actor, day),
    ).fetchone()[0]
    elsewhere_ms = max(0, int(elsewhere_ms))
    return Today(int(exposure) + elsewhere_ms, int(reviewed), budget_s * 1000, elsewhere_ms)


def exposure_summary(db: Db, actor: str | None = None) -> list[dict]:
    """Exposure by day and category (and reveal kind): what `moderator exposure` reports."""
    where, args = ("WHERE actor = ?", (actor,)) if actor else ("", ())
    rows = db.execute(
        "SELECT substr(started_at, 1, 10) AS day, COALESCE(category, '') AS category, kind, "
        "COUNT(*) AS events, COUNT(DISTINCT item_id) AS items, SUM(ms) AS ms, "
        f"ROUND(AVG(fraction), 3) AS mean_fraction FROM exposure_events {where} "
        "GROUP BY day, category, kind ORDER BY day, category, kind",
        args,
    )
    return [dict(r) for r in rows]
