"""The `?` sheet: every shortcut of the desk, listed from the DeskAction registry and the same keymap the
shortcuts are made from (moderator.keymap.bindings), so a rebound key shows as bound.

It fits the window it belongs to: never taller or wider than the desk (a 1024×700 laptop sees all of
it, scrolling the rows), descriptions wrap instead of being cut."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from moderator.keymap import Binding

MAX_WIDTH = 760  # a sheet wider than this is harder to read, not easier
MARGIN = 48  # room left around the sheet inside its window


class HelpDialog(QDialog):
    def __init__(self, bindings: list[Binding], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(bindings), 2, self)
        self.table.setHorizontalHeaderLabels(["Keys", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        for row, b in enumerate(bindings):
            self.table.setItem(row, 0, QTableWidgetItem(" / ".join(b.keys)))
            self.table.setItem(row, 1, QTableWidgetItem(b.description))
            self.table.item(row, 1).setToolTip(b.description)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        self._fit()

    def showEvent(self, event) -> None:
        self._fit()  # the window may have been resized since: fit it again
        super().showEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.table.resizeRowsToContents()  # wrapped descriptions take the lines they need

    def _fit(self) -> None:
        rows = self.table.rowCount()
        wanted_h = 60 + self.table.horizontalHeader().height() + rows * (self.table.fontMetrics().height() + 12)
        width, height = MAX_WIDTH, wanted_h
        owner = self.parentWidget()
        if owner is not None and owner.window().width() > 0:
            area = owner.window().size()
            width = min(width, area.width() - MARGIN)
            height = min(height, area.height() - MARGIN)
        self.resize(max(320, width), max(240, height))
        self.table.resizeRowsToContents()
