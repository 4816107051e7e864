"""The in-memory bank indexes: one HashIndex per (bank, signal type), kept up to date with the
append-only bank_entries, safe to query from several threads while another adds entries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from moderator.domain import Bank
from moderator.hash_index import HashIndex
from moderator.signals import SIGNALS
from storage import banks as banks_repo


@dataclass
class Indexed:
    index: HashIndex
    entry_ids: np.ndarray  # HashIndex id -> bank_entries.id
    max_id: int


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer holds new readers back, so adds are never starved."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and not self._writers_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            self._cond.wait_for(lambda: not self._writing and not self._readers)
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class IndexCache:
    """One HashIndex per (bank, signal type), built from bank_entries and brought up to date before each
    use by adding only the entries with a higher id (entries are append-only), so a bank of millions is
    read once per process, not once per item.

    A HashIndex grows in place (its rows, segments and merges), so a query must never run while entries
    are added: adds take the write side of a read-write lock and queries the read side (`reading`), so
    matching threads query together and a thread bringing an index up to date waits for them, then
    holds them back. Each query sees at least every entry committed before it began."""

    def __init__(self) -> None:
        self._lock = _ReadWriteLock()
        self._indexes: dict[tuple[str, str], Indexed] = {}

    def current(self, db: Database) -> list[tuple[Bank, str, Indexed]]:
        """(bank, signal type, index) for every bank and signal type that has entries, brought up to date.
        Query them only inside `reading`: another thread may add to them afterwards."""
        with self._lock.writing():
            out = []
            for bank in banks_repo.list_banks(db, counts=False):
                for signal_type in SIGNALS:
                    indexed = self._refresh(db, bank.name, signal_type)
                    if indexed is not None:
                        out.append((bank, signal_type, indexed))
            return out

    @contextmanager
    def reading(self, db: Database) -> Iterator[list[tuple[Bank, str, Indexed]]]:
        """The up-to-date indexes, held unchanged until the block ends (query them here)."""
        indexes = self.current(db)
        with self._lock.reading():
            yield indexes

    def _refresh(self, db: Database, bank: str, signal_type: str) -> Indexed | None:
        top = banks_repo.max_entry_id(db, bank, signal_type)
        cached = self._indexes.get((bank, signal_type))
        if cached is None or cached.max_id > top:  # a bank emptied and refilled: start again
            if top == 0:
                return None
            cached = Indexed(HashIndex(SIGNALS[signal_type].bits), np.empty(0, np.int64), 0)
            self._indexes[(bank, signal_type)] = cached
        if top > cached.max_id:
            ids, hashes = banks_repo.entry_hashes(db, bank, signal_type, after_id=cached.max_id)
            cached.index.add(hashes)
            cached.entry_ids = np.concatenate([cached.entry_ids, np.asarray(ids, dtype=np.int64)])
            cached.max_id = top
        return cached

