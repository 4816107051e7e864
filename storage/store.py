"""The store: one SQLite file, one writer thread that owns the only write connection, many readers.

Like datasette's `execute_write_fn`: every write is a function run on the writer thread, inside one
transaction, committed with `synchronous=FULL` (WAL) before the caller gets its result back. Writes
queued while one commits are committed together (group commit: a savepoint each, one COMMIT and one
audit anchor for the group), so a burst of writes pays the flushes once, not once a write.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from storage import audit, integrity
from storage.db import Db
from storage.media_cache import MediaCache
from storage.schema import apply_migrations

T = TypeVar("T")
_STOP = object()
GROUP_MAX = 64  # writes committed together at most: one COMMIT and one anchor flush for them all


class StoreError(RuntimeError):
    pass


def connect(path: Path, *, readonly: bool = False, immutable: bool = False) -> Db:
    """A connection with the store's pragmas; readonly opens `mode=ro` (it can never write), and
    immutable is for an evidence copy in a folder nobody can write (no -shm can be created there)."""
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    if immutable:
        uri += "&immutable=1"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    if not readonly:
        _wal(conn)
        # FULL: a decision that returned from write() survives power loss and kill -9.
        conn.execute("PRAGMA synchronous=FULL")
    base = str(path.parent)
    # Media paths are stored relative to the data dir, so a moved or relative data dir still finds
    # them; queries resolve them with media_file(path). An absolute path (old rows) stays as it is.
    conn.create_function("media_file", 1, lambda p: os.path.join(base, p) if p else p, deterministic=True)
    return Db(conn)  # sqlite-utils' Database behind it, made on first use (storage/db.py)


def _wal(conn: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """PRAGMA journal_mode=WAL, retried while another process holds the file: changing the journal mode
    of a new file can fail with "database is locked" at once, without SQLite's busy handler (four
    processes opening one new store together: about 1 in 80 under load, tests/test_store_hardening.py)."""
    deadline = time.monotonic() + wait_s
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


class Store:
    """Open (and migrate) the store in `data_dir`; `write()` serialises all writes on one thread.

    readonly=True opens an existing store for reading only: no folder or file is created, no
    migration runs and `write()` refuses, so a read-only evidence copy can be queried and audited.
    """

    FILENAME = "store.sqlite3"

    def __init__(self, data_dir: str | Path, *, readonly: bool = False):
        self.data_dir = Path(data_dir).absolute()
        self.path = self.data_dir / self.FILENAME
        self.media_dir = self.data_dir / "media"
        self.readonly = readonly
        self._local = threading.local()
        self._readers: list[Db] = []
        self._readers_lock = threading.Lock()
        self._jobs: queue.Queue = queue.Queue()
        self._submit_lock = threading.Lock()
        self._closing = False
        self._immutable = False
        if readonly:
            self._open_readonly()
            self._thread = None
            return
        private_dir(self.data_dir)
        _create_private(self.path)
        try:
            self._writer_db = connect(self.path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable store: {exc}") from None
        check_integrity(self._writer_db, self.path)
        self._migrate()
        MediaCache(self.media_dir).sweep(self._writer_db)  # finish or remove what a killed import left
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    def _open_readonly(self) -> None:
        if not self.path.is_file():
            raise StoreError(f"no store in {self.data_dir}")
        # A WAL database opened mode=ro still needs its -shm; in a folder we cannot write (an
        # evidence copy) it cannot be made, and nobody else can be writing there either.
        self._immutable = not os.access(self.data_dir, os.W_OK) and not Path(f"{self.path}-shm").exists()
        try:
            db = self.db
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable store: {exc}") from None
        check_integrity(db, self.path)

    def _migrate(self) -> None:
        """Migrations under the write lock (BEGIN IMMEDIATE), so two processes opening a new store at
        once never race ("table media already exists"): the second waits, then finds them applied."""
        conn = self._writer_db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            apply_migrations(self._writer_db)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        audit.after_commit(self._writer_db, self.path)  # 0003 may append a baseline entry: anchor it

    # -- writes -------------------------------------------------------------------------------
    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(db, *args) in one transaction on the writer thread; block until committed. fn runs
        alone or in a savepoint of a group (Store._run_group): it sees every write queued before it,
        and its exception undoes its own writes only."""
        return self.submit(fn, *args, **kwargs).result()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future:
        if self._thread is None:
            raise StoreError(f"{self.data_dir}: the store is open read-only")
        future: Future = Future()
        with self._submit_lock:  # never queued behind the stop: such a write would wait forever
            if self._closing or not self._thread.is_alive():
                raise StoreError("the store is closed")
            self._jobs.put((fn, args, kwargs, future))
        return future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            group, stopping = self._take_group()
            if len(group) == 1:
                self._run_one(*group[0])
            elif group:
                self._run_group(group)
        self._writer_db.close()

    def _take_group(self) -> tuple[list[tuple], bool]:
        """The next job and those queued behind it (at most GROUP_MAX, in queue order), never waiting
        for more; (jobs, whether the stop came after them)."""
        group: list[tuple] = []
        job = self._jobs.get()
        while job is not _STOP:
            if job[3].set_running_or_notify_cancel():
                group.append(job)
            if len(group) >= GROUP_MAX:
                return group, False
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return group, False
        return group, True

    def _run_one(self, fn: Callable, args: tuple, kwargs: dict, future: Future) -> None:
        try:
            result = self._transaction(fn, args, kwargs)
        except BaseException as exc:  # handed to the caller, never lost on this thread
            future.set_exception(exc)
        else:
            # The audit anchor: after the commit, before the caller hears it is saved (storage/audit.py).
            audit.after_commit(self._writer_db, self.path)
            future.set_result(result)

    def _run_group(self, group: list[tuple]) -> None:
        """Group commit: each job in a savepoint of one BEGIN IMMEDIATE, one COMMIT and one audit anchor
        for all, then every future resolves. A job that raises is rolled back to its savepoint alone
        and gets its exception. A job whose error rolls the whole transaction back gets its error and
        the others are run again in a transaction of their own (their writes were lost with it, not
        refused); when BEGIN or the COMMIT fails, every job run in it fails with that error."""
        conn = self._writer_db.conn
        outcomes: list[tuple[Future, Any, BaseException | None]] = []
        lost_by: int | None = None  # the job whose error rolled everything back
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, args, kwargs, future in group:
                outcomes.append((future, *self._savepoint(fn, args, kwargs)))
                if not conn.in_transaction:
                    lost_by = len(outcomes) - 1
                    raise outcomes[-1][2]
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if lost_by is not None:
                again = group[len(outcomes):]
                for job, (future, _result, own) in reversed(list(zip(group, outcomes, strict=False))):
                    if own is None:
                        again.insert(0, job)
                    else:
                        future.set_exception(own)
                if again:
                    self._run_group(again)
                return
            for future, _result, own in outcomes:
                future.set_exception(own or exc)
            rest = group[len(outcomes):]
            if not outcomes:  # BEGIN itself failed (the write lock not had in time): nothing ran
                for job in rest:
                    job[3].set_exception(exc)
            elif rest:  # lost at COMMIT: the ones not run yet get a transaction of their own
                self._run_group(rest)
            return
        audit.after_commit(self._writer_db, self.path)
        for future, result, error in outcomes:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

    def _savepoint(self, fn: Callable, args: tuple, kwargs: dict) -> tuple[Any, BaseException | None]:
        conn = self._writer_db.conn
        conn.execute("SAVEPOINT store_job")
        try:
            result = fn(self._writer_db, *args, **kwargs)
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO store_job")
                conn.execute("RELEASE store_job")
            return None, exc
        conn.execute("RELEASE store_job")
        return result, None

    def _transaction(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        """BEGIN IMMEDIATE takes the write lock up front, where busy_timeout can wait for it; a
        deferred BEGIN that upgrades later fails at once with "database is locked" when another
        process writes. Nested db.atomic() calls inside fn become savepoints."""
        conn = self._writer_db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self._writer_db, *args, **kwargs)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    # -- reads --------------------------------------------------------------------------------
    @property
    def db(self) -> Db:
        """A read connection private to the calling thread (WAL lets readers run beside the writer)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path, readonly=True, immutable=self._immutable)
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    def close(self) -> None:
        # Readers first: the writer, closing last, checkpoints the WAL into the database file and
        # removes it, so that a copy of store.sqlite3 alone holds everything committed.
        with self._readers_lock:
            for db in self._readers:
                db.close()
            self._readers.clear()
        with self._submit_lock:
            stop = self._thread is not None and not self._closing
            self._closing = True
            if stop:
                self._jobs.put(_STOP)  # after every write already queued: they all commit first
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) private to the user (0700); tighten an existing folder
    that others can read or write, or refuse one that is not ours to tighten."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir(mode=0o700)
        except FileExistsError:  # another process opening the same new store made it first
            continue
        os.chmod(p, 0o700)  # mkdir's mode is masked by the umask
    st = path.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"data dir {path} is not a folder")
    if st.st_mode & 0o077:
        if st.st_uid != os.geteuid():
            raise StoreError(f"data dir {path} is open to other users and not yours to tighten "
                             f"(mode {stat.S_IMODE(st.st_mode):o}): use a folder of your own")
        os.chmod(path, 0o700)
    return path


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite does: its -wal and -shm copy this mode."""
    if path.exists():
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:  # another process closing the store removes its -wal and -shm at any moment
                if p.stat().st_mode & 0o077:
                    os.chmod(p, 0o600)
            except FileNotFoundError:
                continue
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def check_integrity(db: Db, path: Path, *, whole_file: bool = False) -> None:
    """Refuse a damaged or foreign database file with one line, before anything reads or writes it:
    every table and index but the bulk bank tables (storage/integrity.py), or with whole_file the
    whole file (freelist, pages used twice or by nobody, the bank tables too)."""
    try:
        problems = integrity.quick_check(db) if whole_file else integrity.problems_at_open(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StoreError(f"{path} is not a usable store: {exc}") from None
    if problems:
        db.close()
        raise damaged(path, "; ".join(problems))


def check_table(db: Db, table: str) -> None:
    """A bulk table (and its indexes) checked before its rows are read in bulk: StoreError when damaged."""
    try:
        problems = integrity.quick_check(db, table)
    except sqlite3.DatabaseError as exc:
        raise damaged(db_path(db), f"{table}: {exc}") from None
    if problems:
        raise damaged(db_path(db), "; ".join(f"{table}: {p}" for p in problems))


def damaged(path: Path | str, what: str) -> StoreError:
    return StoreError(f"{path} is damaged ({what}): restore it from a backup")


def db_path(db: Db) -> str:
    """The file a connection has open (for messages)."""
    return next((r[2] for r in db.execute("PRAGMA database_list") if r[1] == "main"), "the store")
