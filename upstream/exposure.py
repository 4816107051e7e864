"""A person's exposure on the hub: what their decisions of one day carried (`exposure_ms`), from every
desk, and of it what came from desks other than the caller's, so a desk can add the other desks'
time to its own count without counting its own twice (moderator.exposure)."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from upstream.schema import decisions


def exposure_on(conn: Connection, actor: str, day: str, desk: str) -> dict:
    """`actor`'s exposure on `day` (YYYY-MM-DD, UTC, by decided_at): all desks and all but `desk`.

    Conflict rows count too: a decision that lost a race was still looked at."""
    mine = decisions.c.actor == actor
    on_day = func.substr(decisions.c.decided_at, 1, 10) == day
    total = func.coalesce(func.sum(decisions.c.exposure_ms), 0)
    everywhere = conn.execute(select(total).where(mine, on_day)).scalar_one()
    elsewhere = conn.execute(select(total).where(mine, on_day, decisions.c.desk != desk)).scalar_one()
    return {"actor": actor, "day": day, "exposure_ms": int(everywhere), "other_desks_ms": int(elsewhere)}
