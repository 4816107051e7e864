"""The store: one SQLite file, one writer thread that owns the only write connection, many readers.

Like datasette's `execute_write_fn`: every write is a function run on the writer thread, inside one
transaction, committed with `synchronous=FULL` (WAL) before the caller gets its result back.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from storage.schema import apply_migrations

T = TypeVar("T")
_STOP = object()


class StoreError(RuntimeError):
    pass


def connect(path: Path, *, readonly: bool = False) -> Database:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a decision that returned from write() survives power loss and kill -9.
        conn.execute("PRAGMA synchronous=FULL")
    return Database(conn)


class Store:
    """Open (and migrate) the store in `data_dir`; `write()` serialises all writes on one thread."""

    FILENAME = "store.sqlite3"

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        if not self.data_dir.exists():
            # Decisions, notes and exposure are sensitive: a new store is private to its user.
            self.data_dir.mkdir(parents=True, mode=0o700)
        self.path = self.data_dir / self.FILENAME
        self.media_dir = self.data_dir / "media"
        self._writer_db = connect(self.path)
        apply_migrations(self._writer_db)
        self._local = threading.local()
        self._readers: list[Database] = []
        self._readers_lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    # -- writes -------------------------------------------------------------------------------
    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(db, *args) in one transaction on the writer thread; block until committed."""
        return self.submit(fn, *args, **kwargs).result()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future:
        if not self._thread.is_alive():
            raise StoreError("the store is closed")
        future: Future = Future()
        self._jobs.put((fn, args, kwargs, future))
        return future

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                break
            fn, args, kwargs, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                with self._writer_db.atomic():
                    result = fn(self._writer_db, *args, **kwargs)
            except BaseException as exc:  # handed to the caller, never lost on this thread
                future.set_exception(exc)
            else:
                future.set_result(result)
        self._writer_db.close()

    # -- reads --------------------------------------------------------------------------------
    @property
    def db(self) -> Database:
        """A read connection private to the calling thread (WAL lets readers run beside the writer)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    def close(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(_STOP)
            self._thread.join()
        with self._readers_lock:
            for db in self._readers:
                db.close()
            self._readers.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
