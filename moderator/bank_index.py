"""The in-memory bank indexes: one HashIndex per (bank, signal type), kept up to date with the
append-only bank_entries, safe to query from several threads while another adds entries; saved beside
the store (storage/bank_index_file.py) so the next process maps them instead of rebuilding."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from storage.db import Db

from moderator.domain import Bank
from moderator.hash_index import FLAT_MAX, LAYOUT, HashIndex, pack_hex
from moderator.signals import SIGNALS
from storage import bank_index_file, integrity
from storage import banks as banks_repo
from storage.store import StoreError, check_table, damaged, db_path, private_dir

log = logging.getLogger("moderator.bank_index")

CHECKSUM_THREADS = 2  # the machines this runs on have 2 cores or more; the store check is cheap meanwhile
SPOT_CHECKS = 64  # saved rows compared with the store's hashes on load, evenly spaced, first and last included


@dataclass
class Indexed:
    index: HashIndex
    entry_ids: np.ndarray  # HashIndex id -> bank_entries.id
    max_id: int
    saved: int = 0  # entries the index file holds (0: none written by this process or loaded)
    source: str = "store"  # "file": mapped from the saved index file, not rebuilt


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

    def __init__(self, folder: Path | None = None, *, read_only: bool = False, persist_min: int = FLAT_MAX) -> None:
        """`folder`: where index files are kept (None: memory only); `read_only`: load them, never write
        (a read-only store); banks with fewer entries than `persist_min` build in milliseconds: not saved."""
        self._lock = _ReadWriteLock()
        self._indexes: dict[tuple[str, str], Indexed] = {}
        self._folder, self._read_only, self._persist_min = folder, read_only, max(1, persist_min)
        self._table_checked = False  # bank_entries is not checked at the store's open: before its first bulk read

    def current(self, db: Db) -> list[tuple[Bank, str, Indexed]]:
        """(bank, signal type, index) for every bank and signal type that has entries, brought up to date.
        Query them only inside `reading`: another thread may add to them afterwards. A damaged page
        read on the way is a StoreError (one line), not a failed query."""
        try:
            return self._current(db)
        except sqlite3.DatabaseError as exc:
            if integrity.is_damage(exc):
                raise damaged(db_path(db), f"bank_entries: {exc}") from None
            raise

    def _current(self, db: Db) -> list[tuple[Bank, str, Indexed]]:
        with self._lock.writing():
            out = []
            for bank in banks_repo.list_banks(db, counts=False):
                for signal_type in SIGNALS:
                    indexed = self._refresh(db, bank, signal_type)
                    if indexed is not None:
                        out.append((bank, signal_type, indexed))
            return out

    @contextmanager
    def reading(self, db: Db) -> Iterator[list[tuple[Bank, str, Indexed]]]:
        """The up-to-date indexes, held unchanged until the block ends (query them here)."""
        indexes = self.current(db)
        with self._lock.reading():
            yield indexes

    def _refresh(self, db: Db, bank: Bank, signal_type: str) -> Indexed | None:
        top = banks_repo.max_entry_id(db, bank.name, signal_type)
        cached = self._indexes.get((bank.name, signal_type))
        if cached is None or cached.max_id > top:  # a bank emptied and refilled: start again
            if top == 0:
                return None
            cached = self._load(db, bank, signal_type, top) or Indexed(
                HashIndex(SIGNALS[signal_type].bits), np.empty(0, np.int64), 0)
            self._indexes[(bank.name, signal_type)] = cached
        if top > cached.max_id:
            if cached.max_id == 0 and not self._table_checked:  # rebuilt: every row is read now
                check_table(db, "bank_entries")
                self._table_checked = True
            ids, hashes = banks_repo.entry_hashes(db, bank.name, signal_type, after_id=cached.max_id)
            cached.index.add(hashes)
            cached.entry_ids = np.concatenate([cached.entry_ids, np.asarray(ids, dtype=np.int64)])
            cached.max_id = top
        n = cached.entry_ids.size
        # Rewrite the file once the entries it lacks would cost more to read than a rewrite does.
        if (self._folder is not None and not self._read_only and n >= self._persist_min
                and n - cached.saved >= max(FLAT_MAX, cached.saved // 8)):
            self._save(bank, signal_type, cached)
        return cached

    def path(self, bank: str, signal_type: str) -> Path | None:
        """Where the index file of one bank and signal type is kept."""
        if self._folder is None:
            return None
        return self._folder / f"{hashlib.sha256(bank.encode()).hexdigest()[:20]}-{signal_type}.idx"

    def _meta(self, bank: Bank, signal_type: str, indexed: Indexed) -> dict:
        return {"layout": LAYOUT, "bank": bank.name, "signal_type": signal_type, "bank_created_at": bank.created_at,
                "bits": SIGNALS[signal_type].bits, "entries": int(indexed.entry_ids.size),
                "max_id": indexed.max_id}

    def _save(self, bank: Bank, signal_type: str, indexed: Indexed) -> None:
        rows, segments = indexed.index.parts()
        arrays = {"rows": rows, "entry_ids": indexed.entry_ids,
                  "segment_lo": np.array([lo for lo, _, _, _ in segments], dtype=np.int64),
                  "segment_size": np.array([size for _, size, _, _ in segments], dtype=np.int64)}
        for k, (_, _, offsets, ids) in enumerate(segments):
            arrays[f"offsets{k}"], arrays[f"ids{k}"] = offsets, ids
        path = self.path(bank.name, signal_type)
        try:
            private_dir(path.parent)
            bank_index_file.save(path, self._meta(bank, signal_type, indexed), arrays)
        except (OSError, StoreError) as exc:  # a read-only data dir, a full disk: matching goes on from memory
            log.warning("bank index %s/%s not saved (%s): the next process rebuilds it", bank.name,
                        signal_type, exc)
        indexed.saved = int(indexed.entry_ids.size)  # tried: do not retry (and log) on every item

    def _load(self, db: Db, bank: Bank, signal_type: str, top: int) -> Indexed | None:
        """The saved index when it is intact and a prefix of the bank as the store holds it now."""
        path = self.path(bank.name, signal_type)
        if path is None or not path.exists():
            return None
        try:
            meta, arrays = bank_index_file.load(path, verify=False)
            # The checksums (every page of the file) on two threads while this one asks the store: zlib
            # and SQLite both release the GIL. Nothing is trusted until both have passed.
            with ThreadPoolExecutor(1) as pool:
                checksums = pool.submit(bank_index_file.verify, path, arrays, CHECKSUM_THREADS)
                try:
                    if meta.get("layout") != LAYOUT:  # written by another version of the index
                        raise bank_index_file.IndexFileError(f"its tables are {meta.get('layout', 'an older layout')}"
                                                             f", not {LAYOUT}")
                    indexed = _restore(meta, arrays)
                    if meta != self._meta(bank, signal_type, indexed) or indexed.max_id > top:
                        raise bank_index_file.IndexFileError("saved for another version of the bank")
                    _check_against_store(db, bank.name, signal_type, indexed)
                finally:
                    checksums.result()  # its IndexFileError wins: the likelier cause
        except (bank_index_file.IndexFileError, ValueError, KeyError, TypeError) as exc:
            log.warning("bank index %s/%s rebuilt from the store: %s", bank.name, signal_type, exc)
            return None
        indexed.saved, indexed.source = int(indexed.entry_ids.size), "file"
        return indexed


def _restore(meta: dict, arrays: dict[str, np.ndarray]) -> Indexed:
    rows, entry_ids = arrays["rows"], arrays["entry_ids"]
    los, sizes = arrays["segment_lo"], arrays["segment_size"]
    if los.shape != sizes.shape:
        raise ValueError("segment starts and sizes do not fit")
    segments = [(int(lo), int(size), arrays[f"offsets{k}"], arrays[f"ids{k}"])
                for k, (lo, size) in enumerate(zip(los, sizes, strict=True))]
    if rows.ndim != 2 or entry_ids.shape != (rows.shape[0],) or rows.dtype != np.uint64:
        raise ValueError("rows and entry ids do not fit")
    max_id = int(entry_ids[-1]) if entry_ids.size else 0
    return Indexed(HashIndex.restore(rows, segments), entry_ids, max_id)


def _check_against_store(db: Db, bank: str, signal_type: str, indexed: Indexed) -> None:
    """The store still holds exactly these entries up to the saved max id (entries are only ever
    appended), and spot checks of saved hashes agree with the store's."""
    count = banks_repo.entry_count(db, bank, signal_type, up_to_id=indexed.max_id)
    if count != indexed.entry_ids.size:
        raise bank_index_file.IndexFileError(f"the store holds {count} of its {indexed.entry_ids.size} entries")
    spots = np.unique(np.linspace(0, indexed.entry_ids.size - 1, SPOT_CHECKS).astype(np.int64))
    ids = indexed.entry_ids[spots].tolist()
    # By primary key only: with bank and signal type in the WHERE, SQLite scans the bank's unique index.
    rows = db.execute(f"SELECT id, bank, signal_type, hash FROM bank_entries WHERE id IN ({','.join('?' * len(ids))})",
                      ids).fetchall()
    found = {r[0]: r[3] for r in rows if (r[1], r[2]) == (bank, signal_type)}
    if len(found) != len(ids):
        raise bank_index_file.IndexFileError("saved entry ids are not the store's")
    stored = pack_hex([found[i] for i in ids], indexed.index.bits)
    if not np.array_equal(stored, indexed.index.packed[spots]):
        raise bank_index_file.IndexFileError("saved hashes differ from the store's")
