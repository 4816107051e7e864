"""The grid's filter and sort bar: what to show by status, suggested label, bank match, category and
SLA, the order, and whether near-duplicates fold into families. The mouse picks; the keys stay with
the grid (every box hands the focus back after a choice)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QWidget

from moderator.domain import Policy
from moderator.grid_view import ANY, MATCH_CHOICES, NONE, SLA_CHOICES, SORTS, STATUS_CHOICES, GridView


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
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
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
            layout.addWidget(QLabel(title))
            layout.addWidget(box)
        self.families = QCheckBox("Families")
        self.families.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.families.toggled.connect(lambda on: self._pick("families", on))
        layout.addWidget(self.families)
        layout.addStretch(1)

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
