"""The grid of the queue (G): filtered thumbnails of the open items, many selected at once, one label
key for all of them.

It shows the reviewer's own queue (its QueueState and QueueModel) and writes through the reviewer,
so the list, the viewer and the grid always agree: a batch is ReviewService.decide_batch on the write
worker (one batch id, one transaction), Ctrl+Z is the reviewer's undo (the whole batch), and the
Changes each returns move the tiles (decided items leave, undone ones come back) without a re-read.
Under a status filter that shows decided items, the items of a saved batch stay, dimmed, with the
label they were given (GridModel.note_decided); an undo makes them open tiles again.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QModelIndex, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from moderator.batch_confirm import confirm_reason, not_held_refusal
from moderator.decision_log import STATUS_FOR_ACTION
from moderator.domain import FilterSpec, Item
from moderator.grid_view import GridView
from moderator.thumbnails import ThumbnailService
from ui.grid_confirm import BatchConfirm
from ui.grid_delegate import GridDelegate, TileSources
from ui.grid_families import GridFamilies
from ui.grid_filters import GridFilterBar
from ui.grid_list import GridList
from ui.grid_model import DecidedRole, GridModel
from ui.grid_peek import GridPeek
from ui.grid_thumbs import ThumbnailRequester
from ui.queue_model import ItemIdRole
from ui.reviewer import Reviewer

SIZES = (96, 128, 160, 208, 256)  # thumbnail sides, Ctrl+- / Ctrl+= step through them
MARGIN_LINES = 1  # lines of tiles below the screen asked for too, so a small scroll shows them ready


class GridPanel(QWidget):
    open_item = Signal(str)  # an item id to show in the single viewer
    focused_changed = Signal(object)  # the focused tile's Item, or None
    message = Signal(str)

    def __init__(self, reviewer: Reviewer, parent: QWidget | None = None,
                 thumbnails: ThumbnailService | None = None):
        super().__init__(parent)
        self.setObjectName("gridPanel")
        self.reviewer = r = reviewer
        service = r.service
        self.thumbnails = thumbnails or ThumbnailService(service.store, service.policy)
        self.model = GridModel(r.queue, r.model, self)
        self._specs: dict[tuple, FilterSpec] = {}
        self.requester = ThumbnailRequester(r.runner, self.thumbnails, self.spec_for, self)
        self.peek = GridPeek(service, r.runner, r.settings.reveal_seconds, self)
        self.families = GridFamilies(service, r.runner, self)
        self.filters = GridFilterBar(service.policy)
        self.confirm = BatchConfirm(self)
        self.list = GridList(self)
        self.delegate = GridDelegate(TileSources(self.requester.image, self.peek.picture_for,
                                                 self.requester.failure,
                                                 {lb.name: lb.key for lb in service.policy.labels}), self)
        self.list.setItemDelegate(self.delegate)
        self.list.setModel(self.model)
        self.status = QLabel("")
        self.status.setObjectName("gridStatus")
        self._visible: dict[str, int] = {}  # item id -> row, of the tiles asked for
        self._batch_clock = QElapsedTimer()
        self._in_flight: tuple[list[str], str] | None = None  # a batch handed to the reviewer, not yet saved
        self._set_size(SIZES.index(160))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.filters)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.status)
        self._wire()

    def _wire(self) -> None:
        self.list.visible_changed.connect(self._on_visible)
        self.list.selectionModel().currentChanged.connect(self._on_current)
        self.list.selectionModel().selectionChanged.connect(lambda *_: self._show_count())
        self.list.activated.connect(lambda index: self.open_item.emit(index.data(ItemIdRole)))
        self.model.resynced.connect(self._on_resynced)
        self.reviewer.saved.connect(self._on_saved)
        self.requester.ready.connect(self._repaint_item)
        self.requester.failed.connect(lambda item_id, _why: self._repaint_item(item_id))
        self.peek.changed.connect(self._repaint_item)
        self.peek.reveal.refused.connect(self.message)
        self.filters.changed.connect(self._on_view_changed)
        self.filters.done.connect(self.list.setFocus)
        self.confirm.finished.connect(self._after_confirm)
        self.families.ready.connect(self.model.set_families)
        self.families.message.connect(self.message)

    # -- showing ------------------------------------------------------------------------------
    def activate(self, on: bool, item_id: str | None = None) -> None:
        """Show the grid (focused on `item_id`'s tile) or hide it; hidden, it costs the desk nothing."""
        self.model.set_active(on)
        if not on:
            self.peek.end()
            self._in_flight = None  # the viewer's saves are not a grid batch
            return
        self._batch_clock.start()
        row = self.model.row_of(item_id) if item_id else None
        if row is None and self.model.rowCount():
            row = 0
        if row is not None:
            self._focus_row(row)
        self.list.setFocus()

    def spec_for(self, item: Item) -> FilterSpec:
        """The reviewer's filter for the item (moderator.viewing's rule), remembered per input: it depends
        on the policy, the settings, the blur keys and the item's category and suggested label only,
        and painting asks for it several times per tile per frame."""
        r = self.reviewer
        key = (item.category, item.suggested_label, r.blur_offset, r.settings)
        spec = self._specs.get(key)
        if spec is None:
            if len(self._specs) > 256:
                self._specs.clear()
            spec = self._specs[key] = r.spec_for(item)
        return spec

    def focused_item(self) -> Item | None:
        index = self.list.currentIndex()
        return self.model.item_at(index.row()) if index.isValid() else None

    def selected_rows(self) -> list[int]:
        rows: set[int] = set()
        for span in self.list.selectionModel().selection():  # ranges: no index object per row
            rows.update(range(span.top(), span.bottom() + 1))
        return sorted(rows)

    def _focus_row(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.list.setCurrentIndex(index)  # selects it too (the view's selection follows the focus)
        self.list.scrollTo(index)

    # -- keys ---------------------------------------------------------------------------------
    def label(self, label_name: str) -> None:
        """Apply `label_name` to every item the selected tiles stand for (the focused one if none is
        selected), asking first when moderator.batch_confirm says so."""
        r = self.reviewer
        if r.saving or self.confirm.isVisible():
            return
        rows = self.selected_rows() or ([self.list.currentIndex().row()] if self.list.currentIndex().isValid() else [])
        ids = self.model.covered(rows)
        if not ids:
            decided = any(self.model.index(r, 0).data(DecidedRole) for r in rows)
            self.message.emit("Those tiles are decided already (Ctrl+Z undoes the last batch)" if decided
                              else "Select thumbnails first (arrows, Shift+arrows, click)")
            return
        label = r.service.policy.label(label_name)
        reason = confirm_reason(r.service.policy, r.settings, label_name, len(ids))
        if reason is None:
            self._commit(ids, label_name)
            return
        self.peek.end()
        self.confirm.ask(f"Label {len(ids)} item{'s' if len(ids) != 1 else ''} as {label.title} "
                         f"→ {label.action.value}?", reason, lambda: self._commit(ids, label_name))

    def _commit(self, ids: list[str], label_name: str) -> None:
        """Hand the batch to the reviewer, whole or not at all: if an item left the queue while the
        question was open (its hub lease ended), nothing is labelled (moderator.batch_confirm; the
        store checks the leases again when it writes)."""
        self.peek.end()
        self._in_flight = None
        gone = [i for i in ids if self.reviewer.queue.get(i) is None]
        if gone:
            self.message.emit(not_held_refusal(len(gone), len(ids)))
            self.list.setFocus()
            return
        if ids and self.reviewer.decide_batch(ids, label_name, int(self._batch_clock.elapsed())):
            self._batch_clock.start()
            self._in_flight = (ids, label_name)
        self.list.setFocus()

    def _on_saved(self, _uuid: str, _text: str) -> None:
        """The reviewer saved something: if it is the grid's batch, its items are decided tiles from now
        (the model keeps those that then leave the queue; a failed batch never emits `saved`)."""
        if self._in_flight is None:
            return
        ids, label_name = self._in_flight
        self._in_flight = None
        label = self.reviewer.service.policy.label(label_name)
        self.model.note_decided(ids, label_name, STATUS_FOR_ACTION[label.action])

    def _after_confirm(self, _result: int) -> None:
        """The keys go back to the grid whichever way the question was answered."""
        self.window().activateWindow()
        self.list.setFocus()

    def select_all(self) -> None:
        self.list.select_rows(range(self.model.rowCount()))

    def grow(self, step: int) -> None:
        at = SIZES.index(self.delegate.picture)
        if 0 <= at + step < len(SIZES):
            self._set_size(at + step)

    def toggle_families(self) -> None:
        self.filters.set_families(not self.filters.view.families)  # the box's toggle does the rest

    def start_peek(self) -> bool:
        return self.peek.start()

    def end_peek(self) -> None:
        self.peek.end()

    def open_focused(self) -> None:
        item = self.focused_item()
        if item is not None:
            self.open_item.emit(item.id)

    def refilter(self) -> None:
        """Settings or blur keys changed the filters: every tile is asked for again."""
        self.list.viewport().update()
        self._on_visible(*self.list.visible_rows())
        self._on_current(self.list.currentIndex())

    # -- internals ----------------------------------------------------------------------------
    def _set_size(self, at: int) -> None:
        self.delegate.picture = self.requester.size = SIZES[at]
        self.list.set_picture_size(SIZES[at])
        self._on_current(self.list.currentIndex())

    def _on_view_changed(self, view: GridView) -> None:
        focused = self.focused_item()
        if view.families and self.families.missing([i.id for i in self.reviewer.items]):
            self.message.emit("Grouping near-duplicates: hashing the queue in the background…")
            self.families.request([i.id for i in self.reviewer.items])
        self.model.set_view(view)
        row = self.model.row_of(focused.id) if focused else None
        if row is not None:
            self._focus_row(row)
        self.list.setFocus()

    def _on_resynced(self) -> None:
        if self.model.view.families and self.families.missing([i.id for i in self.reviewer.items]):
            self.families.request([i.id for i in self.reviewer.items])
        if not self.list.selectionModel().hasSelection() and self.list.currentIndex().isValid():
            self._focus_row(self.list.currentIndex().row())  # what the next key labels is highlighted
        self._show_count()

    def _on_visible(self, first: int, last: int) -> None:
        if first < 0:
            self._visible = {}
            self.requester.want([])
            return
        last = min(self.model.rowCount() - 1, last + MARGIN_LINES * self.list.columns())
        items = [self.model.item_at(r) for r in range(first, last + 1)]
        self._visible = {it.id: first + n for n, it in enumerate(items) if it is not None}
        self.requester.want([it for it in items if it is not None])

    def _repaint_item(self, item_id: str) -> None:
        row = self._visible.get(item_id)
        if row is None:
            row = self.model.row_of(item_id)
        if row is not None:
            self.list.update(self.model.index(row, 0))

    def _on_current(self, index: QModelIndex, _previous: QModelIndex | None = None) -> None:
        item = self.model.item_at(index.row()) if index.isValid() else None
        self.peek.focus(item, self.spec_for(item) if item else None, self.delegate.picture)
        self.focused_changed.emit(item)

    def _show_count(self) -> None:
        rows = self.selected_rows()
        covered = len(self.model.covered(rows)) if rows else 0
        shown, total = self.model.rowCount(), len(self.reviewer.items)
        tiles = f"{shown} tiles" if self.model.view.families else f"{shown} shown"
        if self.model.view.shows_decided:
            tiles += f" ({self.model.decided_count()} decided here, dimmed)"
        picked = f"{covered} selected" + (f" in {len(rows)} tiles" if covered != len(rows) else "")
        self.status.setText(f"{tiles} of {total} open · {picked}")

