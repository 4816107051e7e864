"""Exposure per person, not per store: the daily budget and the meter count a moderator's unfiltered
time in every store on this machine (the demo store and a real one share one budget) and, with a
hub, on the team's other desks.

How it adds up, without counting anything twice:
- the store in use counts its own `exposure_events` (the same rows as always, so older events count);
- the ledger (storage/exposure_ledger.py, `exposure.sqlite3` 0600 in the config dir, beside
  settings.toml and hub.toml) adds every other store's events on this machine;
- a hub adds what this person's decisions on other desks carried today (GET /v1/exposure/today).
`record` is the one path that writes the ledger; ReviewService.record_exposure calls it right after
the store has saved the event.
"""

from __future__ import annotations

from pathlib import Path

from moderator.paths import config_dir
from storage import exposure_ledger

LEDGER_FILE = "exposure.sqlite3"


def ledger_path() -> Path:
    return config_dir() / LEDGER_FILE


def store_key(store_path: str | Path) -> str:
    """What names a store in the ledger: its file's absolute path (two stores never share one)."""
    return str(Path(store_path).resolve())


def record(actor: str, store_path: str | Path, item_id: str, kind: str, started_at: str, ms: int,
           path: Path | None = None) -> None:
    exposure_ledger.record(path or ledger_path(), actor=actor, store=store_key(store_path), item_id=item_id,
                           kind=kind, started_at=started_at, ms=ms)


def other_stores_ms(actor: str, day: str, store_path: str | Path, path: Path | None = None) -> int:
    """`actor`'s exposure on `day` in every store on this machine but `store_path`."""
    return exposure_ledger.total_ms(path or ledger_path(), actor, day, except_store=store_key(store_path))
