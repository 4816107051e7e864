"""One way to run an operation off the GUI thread (Anki's CollectionOp): `runner.run(fn, on_done)`.

`fn` runs on a worker and never touches widgets; `on_done(result)` runs on the GUI thread. Writes go
through a one-thread pool so they reach the store in the order the moderator made them.

Teardown is deterministic: `shutdown()` (the window's close) refuses new ops, waits for the queued
ones and drops their callbacks, so nothing runs after the store closes. Before the interpreter
exits, `drain_all()` (registered with atexit) does the same for every runner still alive: a pool
thread that enters Python while it finalizes is killed by pthread_exit, which Qt's pool reports as
"Qt Concurrent has caught an exception thrown from a worker thread" and which ends the process
with "terminate called without an active exception" (SIGABRT).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import weakref
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)
_live: weakref.WeakSet[TaskRunner] = weakref.WeakSet()  # every runner not yet garbage, for drain_all


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, job_id: int, fn: Callable[[], Any]):
        super().__init__()
        self._runner, self._id, self._fn = runner, job_id, fn

    def run(self) -> None:
        try:
            result, ok = self._fn(), True
        except Exception as exc:  # delivered to the GUI thread's failure callback
            result, ok = exc, False
        try:
            self._runner.finished.emit(self._id, ok, result)
        except RuntimeError:  # the runner (and its window) is gone; nothing left to tell
            pass


class TaskRunner(QObject):
    """Lives on the GUI thread; its `finished` signal is queued back to it from the workers.

    One read thread by default: on a 2-core desk a second decoder would take the core the GUI
    thread needs to paint the next item, and prefetch stays ahead of a person anyway.
    """

    finished = Signal(int, bool, object)
    failed = Signal(str)  # for ops run without their own failure callback

    def __init__(self, parent: QObject | None = None, read_threads: int = 1):
        super().__init__(parent)
        self._reads = QThreadPool(self)
        self._reads.setMaxThreadCount(read_threads)
        self._writes = QThreadPool(self)
        self._writes.setMaxThreadCount(1)
        self._background = QThreadPool(self)  # long jobs (hashing a queue) never delay a preview
        self._background.setMaxThreadCount(1)
        self._network = QThreadPool(self)  # hub calls wait on the network: never behind hashing or a preview
        self._network.setMaxThreadCount(1)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        self.closed = False
        self.finished.connect(self._on_finished)
        _live.add(self)

    def run(self, fn: Callable[[], Any], on_success: Callable[[Any], None] | None = None,
            on_failure: Callable[[Exception], None] | None = None, *, write: bool = False,
            background: bool = False, network: bool = False) -> int:
        """Queue `fn`; its id, or 0 when the runner is shut down (the op is dropped, never run)."""
        if self.closed:
            log.debug("op dropped: the runner is shut down")
            return 0
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_success, on_failure)
        pool = (self._writes if write else self._background if background else
                self._network if network else self._reads)
        pool.start(_Job(self, job_id, fn))
        return job_id

    def write(self, fn: Callable[[], Any], on_success=None, on_failure=None) -> int:
        return self.run(fn, on_success, on_failure, write=True)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    @property
    def active_threads(self) -> int:
        """Pool threads running an op now (0 once every queued op has run)."""
        return sum(p.activeThreadCount() for p in self._pools)

    @property
    def _pools(self) -> tuple[QThreadPool, ...]:
        return self._writes, self._background, self._network, self._reads

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every queued op has run (shutdown and tests only)."""
        return all(p.waitForDone(msecs) for p in self._pools)

    def shutdown(self, msecs: int = 30000) -> bool:
        """Refuse new ops, wait for the queued ones to run, and drop their callbacks: called when
        the window closes, so no callback starts work against a store that is about to close."""
        self.closed = True
        done = self.wait(msecs)
        self._callbacks.clear()
        return done

    @Slot(int, bool, object)
    def _on_finished(self, job_id: int, ok: bool, result: Any) -> None:
        if self.closed:  # delivered after shutdown: the window that asked is gone
            return
        on_success, on_failure = self._callbacks.pop(job_id, (None, None))
        if ok:
            if on_success:
                on_success(result)
        elif on_failure:
            on_failure(result)
        else:
            log.error("operation failed: %s", result, exc_info=result)
            self.failed.emit(f"{type(result).__name__}: {result}")


def live_runners() -> list[TaskRunner]:
    """Every runner whose Qt object still exists."""
    return [r for r in list(_live) if shiboken6.isValid(r)]


def drain_all(msecs: int = 30000) -> bool:
    """Shut down every live runner and wait for Qt's global pool: no pool thread may be running
    Python when the interpreter finalizes (see the module docstring)."""
    done = all([r.shutdown(msecs) for r in live_runners()])
    return QThreadPool.globalInstance().waitForDone(msecs) and done


atexit.register(drain_all)
