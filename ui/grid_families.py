"""Near-duplicate families for the grid, worked out on the background worker: the queue's images are
hashed first where they never were (whether or not any bank exists), then grouped by
moderator.families. One job at a time; a request made while one runs is run after it, once."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal

from moderator.families import families, hash_for_grouping
from moderator.review import ReviewService
from ui.tasks import TaskRunner


class GridFamilies(QObject):
    ready = Signal(object)  # dict: item id -> family id
    message = Signal(str)

    def __init__(self, service: ReviewService, runner: TaskRunner, parent: QObject | None = None):
        super().__init__(parent)
        self.service, self.runner = service, runner
        self.family_of: dict[str, str] = {}
        self._busy = False
        self._again: tuple[str, ...] | None = None

    def missing(self, item_ids: Sequence[str]) -> bool:
        return any(i not in self.family_of for i in item_ids)

    def request(self, item_ids: Sequence[str]) -> None:
        ids = tuple(item_ids)
        if self._busy:
            self._again = ids
            return
        self._busy = True
        store = self.service.store

        def work() -> tuple[int, dict[str, str]]:
            hashed = hash_for_grouping(store, ids)
            return hashed, families(store, ids)

        self.runner.run(work, self._on_done, self._on_failed, background=True)

    def _on_done(self, result: tuple[int, dict[str, str]]) -> None:
        hashed, family_of = result
        self._busy = False
        self.family_of = family_of
        groups = len(set(family_of.values()))
        self.message.emit(f"Families: {len(family_of)} items in {groups} families"
                          + (f" ({hashed} images hashed first)" if hashed else ""))
        self.ready.emit(family_of)
        self._next()

    def _on_failed(self, exc: Exception) -> None:
        self._busy = False
        self.message.emit(f"Could not group near-duplicates: {exc}")
        self._next()

    def _next(self) -> None:
        again, self._again = self._again, None
        if again is not None:
            self.request(again)
