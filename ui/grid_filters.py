"""The grid's filter and sort bar: what to show by status, suggested label, bank match, category and
SLA, the order, and whether near-duplicates fold into families. The mouse picks; the keys stay with
the grid (every box hands the focus back after a choice)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QWidget

from moderator.domain import Policy
from moderator.grid_view import ANY, MATCH_CHOICES, NONE, SLA_CHOICES, SORTS, STATUS_CHOICES, GridView

MAX_LINES = 3


class GridFilterBar(QWidget):
    changed = Signal(object)  # GridView
    done = Signal()  # a choice was made: the grid takes the keys again

    def __init__(self, policy: Policy, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("gridFilters")
        self.view = GridView()
        labels = (ANY, NONE, *(lb.name for lb in policy.labels))
        categories = (ANY, NONE, *policy.categories)
        self.boxes: dict[str, QComboBox] = {}
        self._cells: list[QWidget] = []  # title, box, title, box, …, the families box: laid out by _reflow
        outer = QHBoxLayout(self)
        outer.setContentsMargins(6, 2, 6, 2)
        self._layout = layout = QGridLayout()
        outer.addLayout(layout)
        outer.addStretch(1)  # an empty grid column would take no stretch: the slack goes here
        layout.setHorizontalSpacing(4)
        layout.setVerticalSpacing(2)
        for field, title, choices in (("status", "Status", STATUS_CHOICES), ("label", "Label", labels),
                                      ("match", "Match", MATCH_CHOICES), ("category", "Category", categories),
                                      ("sla", "SLA", SLA_CHOICES), ("sort", "Sort", SORTS)):
            box = QComboBox()
            box.addItems(list(choices))
            box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.currentTextChanged.connect(lambda text, f=field: self._pick(f, text))
            box.activated.connect(lambda _i: self.done.emit())
            self.boxes[field] = box
            self._cells += [QLabel(title), box]
        self.families = QCheckBox("Families")
        self.families.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.families.toggled.connect(lambda on: self._pick("families", on))
        self._cells.append(self.families)
        self._rows = 0
        self._reflow(1)

    def _per_line(self, rows: int) -> int:
        per_line = -(-len(self._cells) // rows)
        return per_line + per_line % 2  # a title and its box stay on one line

    def _width(self, rows: int) -> int:
        """The bar's width with its cells on `rows` lines (the grid's columns line up across lines)."""
        per_line, spacing = self._per_line(rows), self._layout.horizontalSpacing()
        columns = [0] * per_line
        for n, cell in enumerate(self._cells):
            columns[n % per_line] = max(columns[n % per_line], cell.sizeHint().width())
        return sum(columns) + spacing * per_line + 12

    def _reflow(self, rows: int) -> None:
        """The titles and boxes on one line, or on two or three when the window is too narrow for fewer."""
        if rows == self._rows:
            return
        self._rows = rows
        for cell in self._cells:
            self._layout.removeWidget(cell)
        per_line = self._per_line(rows)
        for n, cell in enumerate(self._cells):
            self._layout.addWidget(cell, n // per_line, n % per_line)

    def minimumSizeHint(self):  # noqa: N802 (Qt's name): three lines fit where fewer do not
        hint = super().minimumSizeHint()
        hint.setWidth(self._width(MAX_LINES))
        return hint

    def resizeEvent(self, event) -> None:
        width = event.size().width()
        self._reflow(next((n for n in range(1, MAX_LINES) if width >= self._width(n)), MAX_LINES))
        super().resizeEvent(event)

    def set_families(self, on: bool) -> None:
        self.families.setChecked(on)

    def set_choice(self, field: str, value: str) -> None:
        """Pick `value` in the box of `field` (as a click would)."""
        box = self.boxes[field]
        at = box.findText(value)
        if at < 0:
            raise ValueError(f"{value!r} is not a choice of {field}")
        box.setCurrentIndex(at)

    def _pick(self, field: str, value) -> None:
        if getattr(self.view, field) != value:
            self.view = replace(self.view, **{field: value})
            self.changed.emit(self.view)
