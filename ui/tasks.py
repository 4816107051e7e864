"""One way to run an operation off the GUI thread (Anki's CollectionOp): `runner.run(fn, on_done)`.

`fn` runs on a worker and never touches widgets; `on_done(result)` runs on the GUI thread. Writes go
through a one-thread pool so they reach the store in the order the moderator made them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


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
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        self.finished.connect(self._on_finished)

    def run(self, fn: Callable[[], Any], on_success: Callable[[Any], None] | None = None,
            on_failure: Callable[[Exception], None] | None = None, *, write: bool = False,
            background: bool = False) -> int:
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_success, on_failure)
        pool = self._writes if write else self._background if background else self._reads
        pool.start(_Job(self, job_id, fn))
        return job_id

    def write(self, fn: Callable[[], Any], on_success=None, on_failure=None) -> int:
        return self.run(fn, on_success, on_failure, write=True)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every queued op has run (shutdown and tests only)."""
        return all(p.waitForDone(msecs) for p in (self._writes, self._background, self._reads))

    @Slot(int, bool, object)
    def _on_finished(self, job_id: int, ok: bool, result: Any) -> None:
        on_success, on_failure = self._callbacks.pop(job_id, (None, None))
        if ok:
            if on_success:
                on_success(result)
        elif on_failure:
            on_failure(result)
        else:
            log.error("operation failed: %s", result, exc_info=result)
            self.failed.emit(f"{type(result).__name__}: {result}")
