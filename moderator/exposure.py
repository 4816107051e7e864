"""Exposure per person, not per store: the daily budget and the meter count a moderator's unfiltered
time in every store on this machine (the demo store and a real one share one budget) and, with a
hub, on the team's other desks.

How it adds up, without counting anything twice:
- the store in use counts its own `exposure_events` (the same rows as always, so older events count);
- the ledger (storage/exposure_ledger.py, `exposure.sqlite3` 0600 in the config dir, beside
  settings.toml and hub.toml) adds every other store's events on this machine;
- a hub adds what this person's decisions on other desks carried today (GET /v1/exposure/today,
  `HubExposure`; a decision carries the exposure summed up to it, so a reveal counts there once decided),
  leaving out the desks of this machine's stores (their ids are on the ledger's rows): never twice.
`record` is the one path that writes the ledger; ReviewService.record_exposure calls it right after
the store has saved the event.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from moderator.clock import utc_now
from moderator.hub_config import HubConfig
from moderator.paths import config_dir
from storage import exposure_ledger
from storage import sync as sync_repo
from storage.store import Store

if TYPE_CHECKING:
    from storage.hub_client import HubClient

LEDGER_FILE = "exposure.sqlite3"


def ledger_path() -> Path:
    return config_dir() / LEDGER_FILE


def store_key(store_path: str | Path) -> str:
    """What names a store in the ledger: its file's absolute path (two stores never share one)."""
    return str(Path(store_path).resolve())


def record(actor: str, store: Store, item_id: str, kind: str, started_at: str, ms: int,
           path: Path | None = None) -> None:
    """Add one saved reveal of `store` to the ledger, with the store's hub desk id when it syncs."""
    desk = sync_repo.get_state(store.db, "desk_id")
    exposure_ledger.record(path or ledger_path(), actor=actor, store=store_key(store.path), item_id=item_id,
                           kind=kind, started_at=started_at, ms=ms, desk=desk)


def other_stores_ms(actor: str, day: str, store_path: str | Path, path: Path | None = None) -> int:
    """`actor`'s exposure on `day` in every store on this machine but `store_path`."""
    return exposure_ledger.total_ms(path or ledger_path(), actor, day, except_store=store_key(store_path))


class HubExposure:
    """This person's exposure today on the hub's other desks (GET /v1/exposure/today). Offline, or on
    an answer that is not a count, the last figure the hub gave stands (0 before any): the budget
    never drops because the network did. Call from a worker thread (HTTP; the desk id is a write)."""

    def __init__(self, hub: HubConfig, store: Store, actor: str, path: Path | None = None):
        self.hub, self.store, self.actor, self.path = hub, store, actor, path
        self.last_ms = 0
        self._client: HubClient | None = None
        self._lock = threading.Lock()

    def other_desks_ms(self) -> int:
        """Other desks' exposure today, leaving out every desk on this machine: the ledger counts those."""
        from storage.hub_client import HubClient, HubError  # httpx: only a desk with a hub loads it

        with self._lock:  # two refreshes at once share one client, one at a time
            try:
                if self._client is None:
                    self._client = HubClient(self.hub.url, self.hub.token, self.store.write(sync_repo.ensure_desk_id))
                local = exposure_ledger.desks(self.path or ledger_path(), self.actor, utc_now().date().isoformat())
                value = self._client.exposure_today(exclude=local).get("other_desks_ms")
            except HubError:
                return self.last_ms
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                self.last_ms = value
            return self.last_ms

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
