"""The per-person exposure ledger: one small SQLite file outside every store (moderator.exposure says
where), holding one row per saved reveal of any store on this machine, so the daily budget and the
meter count a person's unfiltered time across the demo store, a real store and any other.

It holds no media and no decision, only (actor, store, the store's hub desk id if it syncs, item,
kind, when, how long). The desk ids let a hub's count leave out the desks on this machine, whose
reveals the ledger counts already. The file is created 0600 before SQLite opens it (its journal
copies the mode). A row is keyed by its store, item, kind and start, so recording the same reveal
twice counts it once.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS exposure (
    actor TEXT NOT NULL, store TEXT NOT NULL, item_id TEXT NOT NULL, kind TEXT NOT NULL,
    started_at TEXT NOT NULL, day TEXT NOT NULL, ms INTEGER NOT NULL CHECK (ms >= 0),
    PRIMARY KEY (store, item_id, kind, started_at, actor)
);
CREATE INDEX IF NOT EXISTS exposure_actor_day ON exposure(actor, day);
"""
_DESK_COLUMN = "ALTER TABLE exposure ADD COLUMN desk TEXT"  # the hub desk id of the row's store, if any


class LedgerError(RuntimeError):
    """The ledger file cannot be used: one line naming it."""


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        elif path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=10000")  # two desks of one person may write at once
        conn.executescript(_SCHEMA)
        if "desk" not in {row[1] for row in conn.execute("PRAGMA table_info(exposure)")}:
            conn.execute(_DESK_COLUMN)
    except (OSError, sqlite3.Error) as exc:
        raise LedgerError(f"exposure ledger {path}: {exc}") from None
    return conn


def record(path: Path, *, actor: str, store: str, item_id: str, kind: str, started_at: str, ms: int,
           desk: str | None = None) -> None:
    """Add one saved reveal (the same one again changes nothing)."""
    conn = _connect(path)
    try:
        conn.execute("INSERT OR IGNORE INTO exposure (actor, store, item_id, kind, started_at, day, ms, desk) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (actor, store, item_id, kind, started_at, started_at[:10], max(0, int(ms)), desk))
    except sqlite3.Error as exc:
        raise LedgerError(f"exposure ledger {path}: {exc}") from None
    finally:
        conn.close()


def total_ms(path: Path, actor: str, day: str, *, except_store: str | None = None) -> int:
    """`actor`'s exposure on `day` (YYYY-MM-DD, UTC) over every store, or every store but one."""
    if not path.exists():
        return 0  # nobody has revealed anything on this machine yet: no file is made by reading
    conn = _connect(path)
    try:
        row = conn.execute("SELECT COALESCE(SUM(ms), 0) FROM exposure WHERE actor = ? AND day = ? AND store != ?",
                           (actor, day, except_store if except_store is not None else "")).fetchone()
    except sqlite3.Error as exc:
        raise LedgerError(f"exposure ledger {path}: {exc}") from None
    finally:
        conn.close()
    return int(row[0])


def desks(path: Path, actor: str, day: str) -> list[str]:
    """The hub desk ids of this machine's stores that hold `actor`'s exposure on `day`."""
    if not path.exists():
        return []
    conn = _connect(path)
    try:
        rows = conn.execute("SELECT DISTINCT desk FROM exposure WHERE actor = ? AND day = ? AND desk IS NOT NULL "
                            "ORDER BY desk", (actor, day)).fetchall()
    except sqlite3.Error as exc:
        raise LedgerError(f"exposure ledger {path}: {exc}") from None
    finally:
        conn.close()
    return [r[0] for r in rows]
