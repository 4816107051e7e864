"""The queue panel: a table view of the shared queue model (ui/queue_model.py), and its title."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ui.queue_model import COLUMNS, QueueModel, _span, due_text  # noqa: F401  (side panels read these here)


class QueuePanel(QWidget):
    def __init__(self, model: QueueModel | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model if model is not None else QueueModel(self)
        self.title = QLabel("Queue")
        self.title.setObjectName("panelTitle")
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        header = self.view.horizontalHeader()
        # Measured once per reset, not on every change: ResizeToContents re-reads every row.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setWordWrap(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view)
        self.model.modelReset.connect(self._on_model_reset)
        # Items that arrive one by one (a hub's leases into an empty queue) never reset the model:
        # the first rows measure the columns as a reset would.
        self._measured = False
        self._kind_width = 0
        self.model.rowsInserted.connect(self._on_rows_inserted)

    def show_items(self, count: int, current: int) -> None:
        """The queue changed: `count` open items, `current` the row on screen."""
        self.title.setText(f"Queue · {count} open")
        self.select(current)

    def _on_rows_inserted(self, *_args) -> None:
        if not self._measured:  # once the whole apply is in (its rows are inserted one by one)
            self._measured = True
            QTimer.singleShot(0, self._on_model_reset)

    def _on_model_reset(self) -> None:
        self._measured = self.model.rowCount() > 0
        header = self.view.horizontalHeader()
        if self.model.rowCount() <= 2000:  # measuring reads every row: only for small queues
            self.view.resizeColumnsToContents()
            for col in range(self.model.columnCount() - 1):  # the last column takes what is left
                header.resizeSection(col, min(header.sectionSize(col), 104))
        # A skip later adds " ·skipped" to a row's Kind, which no reset measured: room for it now.
        kind = COLUMNS.index("Kind")
        widest = self.view.fontMetrics().horizontalAdvance("video ·skipped") + 16
        header.resizeSection(kind, max(header.sectionSize(kind), widest))
        self._kind_width = max(header.sectionSize(kind), widest)  # kept: a hidden section measures 0
        # A category is read whole ("csam_suspected", not "csam_suspe…"): its column fits the longest
        # name shown, past the 104 px the other columns stop at.
        category = COLUMNS.index("Category")
        names = {self.model.index(r, category).data() or "" for r in range(min(self.model.rowCount(), 2000))}
        longest = max((self.view.fontMetrics().horizontalAdvance(n) for n in names | {"csam_suspected"}), default=0)
        header.resizeSection(category, longest + 16)
        self._fit_columns()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """A narrow queue (a 1024 px window) drops the Kind column, which the side panel's Media line
        also says, rather than cut the category and the match badge."""
        header = self.view.horizontalHeader()
        kind = COLUMNS.index("Kind")
        others = sum(header.sectionSize(c) for c in range(COLUMNS.index("Category") + 1) if c != kind)
        self.view.setColumnHidden(kind, self.view.viewport().width() < others + self._kind_width + 60)

    def select(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.view.selectRow(row)
            self.view.scrollTo(self.model.index(row, 0))
        else:
            self.view.clearSelection()
