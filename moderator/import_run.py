"""One import's files in flight: sources read in entry order, copies decoded and hashed on a shared
pool, item writes queued to the store's writer ahead of their commits, outcomes in entry order.

The steps of one file (read, stage, decode, write) are moderator.ingest's; this module schedules
them. ingest.import_paths is the entry point.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from blurring.errors import MediaError
from blurring.sniff import open_regular
from moderator.ingest import (
    Skipped,
    Source,
    check_staged,
    new_media_row,
    read_source,
    refuse_duplicate,
    stage_copy,
    write_item,
)
from moderator.manifest import Entry
from moderator.media_hashes import MediaHashes
from storage import items as items_repo
from storage.media_cache import MediaCache, Staged
from storage.store import Store

# Files in flight at once. While the store's writer commits items, the next files are copied (their
# own fsyncs), decoded and hashed on a pool: PIL, OpenCV, hashlib, fsync and PDQ (blurring.hashing)
# release the GIL; and up to WRITES_IN_FLIGHT item writes wait in the writer's queue, which commits
# those queued together as one group (Store._run_group). Figures: bench/bench_import.py,
# docs/PERFORMANCE.md. One pool for the process, so its threads (and the read connection each opens
# on a store, kept until the store closes) are reused by every import.
IMPORT_WORKERS = 4
READ_AHEAD = 2  # files in flight per pool thread
WRITES_IN_FLIGHT = 64  # item writes queued before the oldest is waited for: the store commits them in groups
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(IMPORT_WORKERS, thread_name_prefix="import")
        return _pool


@dataclass(frozen=True)
class _Prepared:
    """A file read, and for new content copied into the staging area and decoded: ready to write."""

    entry: Entry
    sha: str
    dedupe: bool
    staged: Staged | None = None  # None: known content, shared
    media_row: dict | None = None
    hashes: MediaHashes | None = None


@dataclass
class _InFlight:
    entry: Entry
    work: Future  # -> _Prepared (MediaError: skipped)
    source: BinaryIO | None = None
    written: threading.Event | None = None  # set once this entry is committed or skipped
    sha: str | None = None
    prepared: _Prepared | None = None  # once its write is submitted
    write: Future | None = None  # -> (item id, shares media already held); None: skipped before
    skipped: Skipped | None = None


class ImportRun:
    """One import, the same in a loop or with files in flight, as a loop would do it: each source is
    opened and read (sniff, digests) here, in entry order; its copy, decode and hashes run on the
    pool; item writes are submitted here in entry order, each its own job of the store's writer (FIFO),
    so writes queued together commit together (Store group commit). A file whose content an earlier
    file of the run also holds waits for that one to be committed first, so it is refused as a
    duplicate or shares that copy, never copied twice. Committed copies are moved into place a group
    at a time (MediaCache.commit_all) before their outcomes are reported, in entry order."""

    def __init__(self, store: Store, cache: MediaCache, actor: str, allow_duplicates: bool,
                 dihedral: bool | None) -> None:
        self.store, self.cache, self.actor = store, cache, actor
        self.allow_duplicates, self.dihedral = allow_duplicates, dihedral
        self.latest: dict[str, threading.Event] = {}  # sha -> the last entry of this run holding it
        self.renaming: set[str] = set()  # sha of copies committed and not moved into place yet
        self.moving: deque[tuple[_InFlight, str | Skipped, Future]] = deque()  # written, reported once moved
        self.pool: ThreadPoolExecutor | None = None

    def each(self, entries: list[Entry], workers: int | None) -> Iterator[tuple[Entry, str | Skipped]]:
        workers = min(IMPORT_WORKERS if workers is None else workers, IMPORT_WORKERS)
        pool = self.pool = _shared_pool() if workers > 1 and len(entries) > 1 else None
        # A loop does one thing at a time; with a pool, files are read ahead of the copies and decodes
        # running (so that the pool has work while this thread moves committed copies into place).
        ahead, writes = (workers * READ_AHEAD, WRITES_IN_FLIGHT) if pool else (0, 1)
        window: deque[_InFlight] = deque()
        writing: deque[_InFlight] = deque()
        try:
            for entry in entries:
                window.append(self._start(entry, pool))
                if len(window) > ahead:
                    writing.append(self._submit(window.popleft()))
                    yield from self._settle(writing, writes - 1)
            while window:
                writing.append(self._submit(window.popleft()))
                yield from self._settle(writing, writes - 1)
            yield from self._settle(writing, 0)
        finally:  # stopped by an unexpected error: nothing more is started; what committed is kept
            self._abandon(window, writing)

    def _start(self, entry: Entry, pool: ThreadPoolExecutor | None) -> _InFlight:
        dedupe = not (self.allow_duplicates or entry.external_id)
        work: Future = Future()
        try:
            if entry.external_id:  # refused before any read; checked again under the write lock
                refuse_duplicate(self.store.db, None, entry, dedupe)
            f = open_regular(entry.path)
        except MediaError as exc:
            work.set_exception(exc)
            return _InFlight(entry, work)
        try:
            src = read_source(f, with_md5=self.dihedral is not None)
        except BaseException as exc:
            f.close()
            if not isinstance(exc, MediaError):
                raise
            work.set_exception(exc)
            return _InFlight(entry, work)
        before, written = self.latest.get(src.sha256), threading.Event()
        self.latest[src.sha256] = written
        args = (entry, f, src, dedupe, before)
        if pool is None:
            try:
                work.set_result(self._copy_and_decode(*args))
            except MediaError as exc:
                work.set_exception(exc)
        else:
            work = pool.submit(self._copy_and_decode, *args)
        return _InFlight(entry, work, f, written, src.sha256)

    def _copy_and_decode(self, entry: Entry, f: BinaryIO, src: Source, dedupe: bool,
                         before: threading.Event | None) -> _Prepared:
        """New content is copied into the cache (read again from the same open file, hashed again to
        prove it unchanged) and its copy decoded once; known content is shared (no copy, no decode)."""
        with f:
            if before is not None:
                before.wait()  # an earlier file of this run has these bytes: it is written first
            refuse_duplicate(self.store.db, src.sha256, entry, dedupe)
            media = items_repo.media_for_sha(self.store.db, src.sha256)
            shared = media is not None and (src.sha256 in self.renaming or Path(media["media_path"]).is_file())
            staged = None if shared else stage_copy(self.cache, f, src)
        if staged is None:
            return _Prepared(entry, src.sha256, dedupe)
        try:
            decoded = check_staged(staged, src, self.dihedral)
        except BaseException:
            self.cache.discard(staged)
            raise
        row = new_media_row(src.sha256, staged.final, decoded.checked)
        return _Prepared(entry, src.sha256, dedupe, staged, row, decoded.hashes)

    def _submit(self, flight: _InFlight) -> _InFlight:
        """Wait for the file's copy and decode, then queue its write (not waiting for it): a file
        refused meanwhile is skipped at once."""
        try:
            p = flight.prepared = flight.work.result()
        except MediaError as exc:
            flight.skipped = Skipped(flight.entry.origin, exc.reason)
            self._written(flight)
            return flight
        flight.write = self.store.submit(write_item, p.entry, self.actor, p.sha, p.media_row, p.hashes, p.dedupe)
        flight.write.add_done_callback(lambda write: self._committed(flight, write))
        return flight

    def _committed(self, flight: _InFlight, write: Future) -> None:
        """On the writer, as the write resolves (after its commit): a file waiting for these bytes may
        go on, and shares this copy even before it is moved into place."""
        if flight.prepared.staged and write.exception() is None and not write.result()[1]:
            self.renaming.add(flight.sha)
        flight.written.set()

    def _settle(self, writing: deque[_InFlight], keep: int) -> Iterator[tuple[Entry, str | Skipped]]:
        """Take the writes at the head that are done (waiting while more than `keep` are queued), move
        their copies into place (one commit_all for them all, on the pool: this thread goes on reading
        sources), and report, in entry order, those whose copies are in place."""
        n = 0
        while n < len(writing) and (len(writing) - n > keep or _done(writing[n])):
            if writing[n].write is not None:
                writing[n].write.exception()  # wait for it
            n += 1
        head = [writing.popleft() for _ in range(n)]
        outcomes = [self._outcome(flight) for flight in head]
        if head:
            move = self._move_later([f for f, o in zip(head, outcomes, strict=True) if _moves(f, o)])
            self.moving.extend((flight, outcome, move) for flight, outcome in zip(head, outcomes, strict=True))
        while self.moving and (not keep or len(self.moving) > WRITES_IN_FLIGHT or self.moving[0][2].done()):
            flight, outcome, move = self.moving.popleft()
            move.result()  # a copy that cannot be moved into place stops the import
            self._written(flight)
            yield flight.entry, outcome

    def _move_later(self, moved: list[_InFlight]) -> Future:
        if self.pool is None or not moved:  # a loop moves its copy itself, before it reports it
            self._move(moved)
            done: Future = Future()
            done.set_result(None)
            return done
        return self.pool.submit(self._move, moved)

    def _move(self, moved: list[_InFlight]) -> None:
        self.cache.commit_all(f.prepared.staged for f in moved)
        self.renaming.difference_update(f.sha for f in moved)

    def _outcome(self, flight: _InFlight) -> str | Skipped:
        """The item id or why it was skipped; a copy not needed (refused, or the content came in
        meanwhile) is removed. Any other error of the write is raised (the import stops)."""
        if flight.skipped is not None:
            return flight.skipped
        staged = flight.prepared.staged
        try:
            item_id, shared = flight.write.result()
        except MediaError as exc:
            if staged:
                self.cache.discard(staged)
            return Skipped(flight.entry.origin, exc.reason)
        if staged and shared:
            self.cache.discard(staged)
        return item_id

    def _written(self, flight: _InFlight) -> None:
        if flight.written is not None:
            flight.written.set()
            if self.latest.get(flight.sha) is flight.written:
                del self.latest[flight.sha]

    def _abandon(self, window: deque[_InFlight], writing: deque[_InFlight]) -> None:
        for flight in (*writing, *window):
            if flight.written is not None:
                flight.written.set()  # no file waits on one that will never be written
        for _flight, _outcome, move in self.moving:  # committed: their copies are being moved
            move.exception()  # (one that failed stays staged: the sweep of the next open rolls it forward)
        for flight in writing:  # submitted: what committed is moved into place, the rest removed
            staged = flight.prepared.staged if flight.prepared else None
            if staged and flight.write is not None and flight.write.exception() is None \
                    and not flight.write.result()[1]:
                with contextlib.suppress(OSError):  # moved already; else the sweep rolls it forward
                    self.cache.commit(staged)
            elif staged:
                self.cache.discard(staged)
        for flight in window:
            if flight.work.cancel():
                flight.source.close()
            elif flight.work.exception() is None and (staged := flight.work.result().staged):
                self.cache.discard(staged)


def _done(flight: _InFlight) -> bool:
    return flight.write is None or flight.write.done()


def _moves(flight: _InFlight, outcome: str | Skipped) -> bool:
    """Whether the flight's own copy goes into place: its item is written and holds new content."""
    return isinstance(outcome, str) and flight.prepared.staged is not None and not flight.write.result()[1]
