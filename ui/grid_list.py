"""The grid's list view: Qt's QListView in icon mode (wrapping rows of equal tiles), and which of its
rows are on screen, so thumbnails are asked for those and no others.

Navigation and selection are Qt's own (arrows, Shift+arrows, Home/End, click, Shift-click,
Ctrl-click, a rubber band); `visible_changed` fires once per scroll, resize or row change, after
Qt has laid the rows out.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from ui.grid_delegate import tile_size


class GridList(QListView):
    visible_changed = Signal(int, int)  # first and last row on screen (-1, -1: none)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("grid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)  # no drag to reorder: the queue decides the order
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)  # one size hint for all 10,000 rows: the layout is arithmetic
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(False)
        self.setSpacing(0)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.shown_rows = (-1, -1)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(0)
        self._settle.timeout.connect(self._emit_visible)
        self.verticalScrollBar().valueChanged.connect(self._later)

    def set_picture_size(self, picture: int) -> None:
        self.setGridSize(tile_size(picture))
        self._later()

    def setModel(self, model) -> None:  # noqa: N802 (Qt's name)
        super().setModel(model)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.layoutChanged):
            signal.connect(self._later)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._later()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._later()

    def _later(self, *_args) -> None:
        """Work out the rows on screen once Qt has laid them out (a signal's arguments are not a delay)."""
        self._settle.start()

    def visible_rows(self) -> tuple[int, int]:
        """The first and last row whose tile meets the viewport (rows are laid out in order, so
        the ones between are on screen too); (-1, -1) when none is."""
        model = self.model()
        n = model.rowCount() if model is not None else 0
        if n == 0 or not self.isVisible():
            return -1, -1
        area = self.viewport().rect()
        first = self._first_row(n, lambda r: self.visualRect(model.index(r, 0)).bottom() >= area.top())
        last = self._first_row(n, lambda r: self.visualRect(model.index(r, 0)).top() > area.bottom()) - 1
        if first >= n or last < first:
            return -1, -1
        return first, last

    @staticmethod
    def _first_row(n: int, past: Callable[[int], bool]) -> int:
        """The first row for which `past` holds (it holds for every row after it too); n if none."""
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            if past(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def columns(self) -> int:
        """Tiles per line at the current width."""
        grid = self.gridSize()
        return max(1, self.viewport().width() // max(1, grid.width()))

    def select_rows(self, rows: range) -> None:
        """Select `rows` (a range), keeping the focus where it is."""
        model, selection = self.model(), self.selectionModel()
        if model is None or not rows:
            return
        ranged = QItemSelection(model.index(rows.start, 0), model.index(rows.stop - 1, 0))
        selection.select(ranged, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def tile_rect(self, row: int) -> QRect:
        return self.visualRect(self.model().index(row, 0))

    def _emit_visible(self) -> None:
        self.shown_rows = self.visible_rows()
        self.visible_changed.emit(*self.shown_rows)
