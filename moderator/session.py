"""What the desk opens and reads through `moderator/`, so that `ui/` never imports `storage/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moderator.paths import data_dir, demo_dir
from storage import items as items_repo
from storage.decisions import standing_bank_decisions
from storage.store import Store


def open_desk_store(data_dir_arg: str | Path | None, *, demo: bool = False) -> Store:
    """The store the desk works on: the data dir (platformdirs, or --data-dir / MODERATOR_DATA_DIR),
    or the demo queue's own store under it. StoreError when it cannot be used."""
    base = data_dir(data_dir_arg)
    return Store(demo_dir(base) if demo else base)


def has_items(store: Store) -> bool:
    """Whether the store holds any item at all (the demo store is filled only when it has none)."""
    return bool(items_repo.queue(store.db, limit=1, include_closed=True))


def bank_decisions(store: Store) -> list[dict[str, Any]]:
    """Items closed by a bank whose decision still stands, newest first (the desk's reopen list)."""
    return standing_bank_decisions(store.db)
