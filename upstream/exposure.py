"""A person's exposure on the hub: what their decisions of one day carried (`exposure_ms`), from every
desk, and of it what came from desks other than the caller's (and other than the desks it names),
so a desk can add the other desks' time to its own count without counting any twice
(moderator.exposure)."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from upstream.schema import decisions


def exposure_on(conn: Connection, actor: str, day: str, desk: str, exclude: list[str] | None = None) -> dict:
    """`actor`'s exposure on `day` (YYYY-MM-DD, UTC, by decided_at): all desks, and all but `desk` and
    the `exclude` desks (a desk's neighbours on one machine, which count their own).

    Conflict rows count too: a decision that lost a race was still looked at."""
    mine = decisions.c.actor == actor
    on_day = func.substr(decisions.c.decided_at, 1, 10) == day
    total = func.coalesce(func.sum(decisions.c.exposure_ms), 0)
    everywhere = conn.execute(select(total).where(mine, on_day)).scalar_one()
    others = decisions.c.desk.not_in([desk, *(exclude or [])])
    elsewhere = conn.execute(select(total).where(mine, on_day, others)).scalar_one()
    return {"actor": actor, "day": day, "exposure_ms": int(everywhere), "other_desks_ms": int(elsewhere)}
