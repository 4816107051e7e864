"""The history panel (H): the moderator's last decisions, newest first (moderator/history.py reads
them on a worker); undo any that still stands, after a confirmation, through the reviewer (one path
writes decisions: ReviewService); open one read-only, filtered by the policy's rules, no reveal.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from blurring import preview
from moderator import history, undo_rules
from moderator.clock import utc_now
from moderator.history import HistoryEntry
from ui.images import to_qimage

COLUMNS = ("Time", "Item", "Decision", "State")
READ_ONLY_SIZE = (640, 480)


class HistoryPanel(QDialog):
    undo_asked = Signal(str)  # decision uuid, after the confirmation

    def __init__(self, reviewer, runner, parent=None):
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.setWindowTitle("Your decisions — newest first")
        self.reviewer, self.runner = reviewer, runner
        self.entries: list[HistoryEntry] = []
        self.confirm: QMessageBox | None = None
        self.viewer: ReadOnlyView | None = None
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.undo_button = QPushButton("Undo… (U)")
        self.open_button = QPushButton("Open read-only (Enter)")
        close = QPushButton("Close (Esc)")
        self.undo_button.clicked.connect(self.ask_undo)
        self.open_button.clicked.connect(self.open_selected)
        close.clicked.connect(self.close)
        QShortcut(QKeySequence("U"), self, self.ask_undo)
        QShortcut(QKeySequence("Return"), self, self.open_selected)
        self.hint = QLabel("Ctrl+Z undoes only your last decision within the undo window; "
                           "anything older, and escalations, are undone here.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        buttons = QHBoxLayout()
        for b in (self.undo_button, self.open_button, close):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        self.undo_asked.connect(self.reviewer.undo_decision)
        self.reviewer.saved.connect(lambda *_: self.isVisible() and self.refresh())
        self.resize(720, 480)

    def open_panel(self) -> None:
        self.refresh()
        self.show()
        self.activateWindow()
        self.table.setFocus()

    def refresh(self) -> None:
        s = self.reviewer.service
        self.runner.run(lambda: history.my_history(s.store.db, s.actor, s.policy), self._show_entries)

    def selected(self) -> HistoryEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows and rows[0].row() < len(self.entries) else None

    def ask_undo(self) -> None:
        """Confirm, then undo the selected decision (a superseding row, as Ctrl+Z writes)."""
        entry = self.selected()
        if entry is None or not entry.standing:
            return
        latest = next((e for e in self.entries if e.standing), None)
        warn = undo_rules.needs_confirmation(entry.decision, utc_now(), self.reviewer.settings.undo_window_minutes,
                                             is_last=latest is entry)
        extra = ("\n\nThis is an escalation: someone may already be acting on it." if history.is_escalation(entry)
                 else "\n\nIt is not your most recent decision." if warn else "")
        box = QMessageBox(QMessageBox.Icon.Warning if warn else QMessageBox.Icon.Question, "Undo this decision?",
                          f"Undo {entry.title} · {entry.what}, decided at {entry.local_time}?\n"
                          f"The item goes back in the queue; the decision stays in the log, superseded.{extra}",
                          parent=self)
        box.setObjectName("historyUndoBox")
        yes = box.addButton("Undo it", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Keep it", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(box.buttons()[-1])  # Enter keeps it: an undo is never one key away
        box.buttonClicked.connect(lambda b: self.undo_asked.emit(entry.decision.uuid) if b is yes else None)
        self.confirm = box
        box.open()

    def open_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        self.viewer = ReadOnlyView(self.reviewer, self.runner, entry, self)
        self.viewer.show()

    def _show_entries(self, entries: list[HistoryEntry]) -> None:
        keep = self.selected()
        self.entries = entries
        self.table.setRowCount(len(entries))
        for row, e in enumerate(entries):
            for col, text in enumerate((e.local_time, e.title, e.what, e.state)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(f"{e.title} · {e.what}\n{e.decision.decided_at} UTC · {e.state}"
                                + (f"\nNote: {e.decision.note}" if e.decision.note else ""))
                if not e.standing:
                    cell.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(row, col, cell)
        again = next((n for n, e in enumerate(entries) if keep and e.decision.uuid == keep.decision.uuid), 0)
        if entries:
            self.table.selectRow(again)
        self._on_selection()

    def _on_selection(self) -> None:
        entry = self.selected()
        self.undo_button.setEnabled(entry is not None and entry.standing)
        self.open_button.setEnabled(entry is not None)


class ReadOnlyView(QDialog):
    """One decided item, filtered as the queue would show it (policy and settings; no reveal, so no
    exposure), with what was decided. Nothing here writes."""

    def __init__(self, reviewer, runner, entry: HistoryEntry, parent=None):
        super().__init__(parent)
        self.setObjectName("historyReadOnly")
        self.setWindowTitle(f"{entry.title} — read-only")
        self.picture = QLabel("Preparing the filtered view…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(320, 240)
        facts = QLabel(f"{entry.title} · {entry.what} · {entry.local_time} · {entry.state}"
                       + (f"\nNote: {entry.decision.note}" if entry.decision.note else ""))
        facts.setWordWrap(True)
        facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(facts)
        self.spec = None
        service = reviewer.service

        def load():
            item = service.item(entry.decision.item_id)
            spec = reviewer.spec_for(item)
            p = preview.prepare(item.media_path, spec, READ_ONLY_SIZE, load_original=False)
            return spec, to_qimage(p.filtered)

        runner.run(load, self._on_loaded, lambda exc: self.picture.setText(f"Cannot show this item: {exc}"))
        self.resize(READ_ONLY_SIZE[0] + 40, READ_ONLY_SIZE[1] + 100)

    def _on_loaded(self, result) -> None:
        self.spec, image = result
        self.picture.setPixmap(QPixmap.fromImage(image))
