"""Keep the current item and the next few prepared ahead, so a key press shows the next one at once."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from moderator.domain import FilterSpec, Item
from ui.images import Prepared, prepare
from ui.tasks import TaskRunner

AHEAD = 4
KEEP = 12
DEFAULT_SIZE = (1600, 1000)  # until the viewer says its size


class PreviewCache(QObject):
    """Prepared pictures by item id; `ready` fires on the GUI thread when one arrives."""

    ready = Signal(str)
    failed = Signal(str, str)  # item id, reason

    def __init__(self, runner: TaskRunner, spec_for: Callable[[Item], FilterSpec], parent=None):
        super().__init__(parent)
        self._runner = runner
        self._spec_for = spec_for
        self._done: OrderedDict[str, Prepared] = OrderedDict()
        self._pending: set[tuple[str, FilterSpec, tuple[int, int]]] = set()
        self.max_size = DEFAULT_SIZE

    @property
    def idle(self) -> bool:
        return not self._pending

    def fits(self, prepared: Prepared | None, spec: FilterSpec) -> bool:
        return prepared is not None and prepared.spec == spec and prepared.size == self.max_size

    def get(self, item_id: str) -> Prepared | None:
        prepared = self._done.get(item_id)
        if prepared is not None:
            self._done.move_to_end(item_id)
        return prepared

    def put(self, prepared: Prepared) -> None:
        """A picture prepared elsewhere (ui/first_item.py), kept as if this cache had made it."""
        self._done[prepared.item_id] = prepared
        while len(self._done) > KEEP:
            self._done.popitem(last=False)

    def want(self, items: list[Item], index: int) -> None:
        """Ask for items[index] first, then the next AHEAD (and one behind, for K)."""
        order = [index] + [index + d for d in range(1, AHEAD + 1)] + [index - 1]
        for i in order:
            if 0 <= i < len(items):
                self._request(items[i])

    def _request(self, item: Item) -> None:
        spec = self._spec_for(item)
        size = self.max_size
        if self.fits(self._done.get(item.id), spec) or (item.id, spec, size) in self._pending:
            return
        self._pending.add((item.id, spec, size))
        self._runner.run(lambda: prepare(item, spec, size), self._on_prepared,
                         lambda exc: self._on_failed((item.id, spec, size), exc))

    def _on_prepared(self, prepared: Prepared) -> None:
        self._pending.discard((prepared.item_id, prepared.spec, prepared.size))
        self._done[prepared.item_id] = prepared
        while len(self._done) > KEEP:
            self._done.popitem(last=False)
        self.ready.emit(prepared.item_id)

    def _on_failed(self, key: tuple, exc: Exception) -> None:
        self._pending.discard(key)
        self.failed.emit(key[0], getattr(exc, "reason", None) or str(exc))
