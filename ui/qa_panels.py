"""The QA desk's own panels: the task list's columns, the facts of a blind task, the side-by-side
verdict, and the resolve bar. Before the QA label none of them has anything of the original decision
to show: the reviewer hands them blind items (moderator.qa_view) and a Verdict only after judging."""

from __future__ import annotations

import re

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from moderator.actions import DeskAction, first_key
from moderator.domain import Item, Policy
from moderator.qa_view import HIDDEN, Side, Verdict
from ui.fields import BarField
from ui.queue_model import ItemIdRole, ItemRole, QueueModel, StatusRole
from ui.side_panels import FactsPanel

QA_COLUMNS = ("#", "Reports", "Kind", "Category", "Size", "Item")  # Kind third, as the queue panel sizes it
_DISPLAY = Qt.ItemDataRole.DisplayRole


class QaQueueModel(QueueModel):
    """The task list: what was reported, in the order tasks were given; no due time, priority or match."""

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY):
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return QA_COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = _DISPLAY):
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == _DISPLAY:
            return _cell(item, index.column())
        return {ItemRole: item, ItemIdRole: item.id, StatusRole: item.status}.get(role)


def _cell(item: Item, column: int) -> str:
    values = (str(1 - item.priority), str(item.report_count), item.kind.value, item.category or "",
              f"{item.width}×{item.height}", item.external_id or item.source_name or item.id[:8])
    return values[column]


class QaFactsPanel(FactsPanel):
    """The facts of the report only: what a moderator or a bank made of it stays hidden."""

    def show_item(self, item: Item | None) -> None:
        super().show_item(item)
        if item is not None:
            self._values["Status"].setText("QA re-review")
            for name in ("Bank matches", "Suggested", "SLA"):  # one line each, as after the label
                self._values[name].setText("hidden (blind)" if name != "SLA" else "—")

    def show_verdict(self, verdict: Verdict | None) -> None:
        """After the QA label, what banks made of the item may be seen (the verdict panel has it too)."""
        if verdict is not None:
            self._values["Bank matches"].setText(verdict.bank)
            self._values["Suggested"].setText("see bank matches" if verdict.bank.startswith("suggested") else "—")


class QaVerdictPanel(QFrame):
    """Under the picture: before the QA label, what to do; after it, the original beside the QA label."""

    def __init__(self, keymap: dict[str, tuple[str, ...]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("qaVerdict")
        self._resolve_key = first_key(keymap, DeskAction.QA_RESOLVE)
        self._leave_key = first_key(keymap, DeskAction.QA_LEAVE_FOR_LEAD)
        self.remote = False  # hub tasks (QaWindow sets it)
        self.headline = QLabel()
        self.headline.setObjectName("qaHeadline")
        self.keys = QLabel()
        self.keys.setObjectName("hint")
        self.keys.setWordWrap(True)  # a long line here would squeeze the queue list on a small screen
        self.keys.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bank = QLabel()
        self.bank.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.headline)
        top.addWidget(self.keys, 1)
        self._grid = QGridLayout()
        self._cells: dict[tuple[int, int], QLabel] = {}
        for row, name in enumerate(("", "Label", "Action", "By", "When", "Note")):
            self._grid.addWidget(QLabel(f"<b>{name}</b>" if name else ""), row, 0)
            for col in (1, 2):
                cell = QLabel()
                cell.setWordWrap(True)
                cell.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self._cells[(row, col)] = cell
                self._grid.addWidget(cell, row, col)
        self._grid.setColumnStretch(1, 1)
        self._grid.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addLayout(top)
        layout.addLayout(self._grid)
        layout.addWidget(self.bank)
        self.show_verdict(None)

    def show_verdict(self, verdict: Verdict | None) -> None:
        if verdict is None:
            self._set_headline("BLIND RE-REVIEW", "qaBlind")
            self.keys.setText("Give your label with its key: the original decision stays hidden until then")
            self._fill(None, None)
            self.bank.setText("")
            return
        self._set_headline(verdict.headline, "qaAgree" if verdict.agrees else "qaDisagree")
        resolve = f"{self._resolve_key}: resolve (final label + note) · "
        self.keys.setText(f"{resolve}{self._leave_key}: leave for the lead" if verdict.resolvable
                          else "Any key: the next task")
        self._fill(verdict.original, verdict.qa)
        golden = f" · <b>Golden item, known answer:</b> {verdict.golden}" if verdict.golden else ""
        self.bank.setText(f"<b>Banks:</b> {verdict.bank}{golden}")

    def text(self) -> str:
        """Everything the panel shows, as one string (tests read it)."""
        cells = " | ".join(c.text() for c in self._cells.values())
        return re.sub(r"<[^>]+>", "", f"{self.headline.text()} · {self.keys.text()} · {cells} · {self.bank.text()}")

    def _set_headline(self, text: str, name: str) -> None:
        self.headline.setText(text)
        self.headline.setProperty("verdict", name)
        self.headline.setStyleSheet({"qaAgree": "color: #2ecc71;", "qaDisagree": "color: #ff6b6b;"}.get(name, "")
                                    + "font-weight: bold; font-size: 16px;")

    def _fill(self, original: Side | None, qa: Side | None) -> None:
        for col, side in ((1, original), (2, qa)):
            values = (side.title, side.label, side.action, side.actor, side.when, side.note) if side else \
                ("Original decision" if col == 1 else "Your QA label", HIDDEN if col == 1 else "—", "", "", "", "")
            for row, value in enumerate(values):
                self._cells[(row, col)].setText(f"<b>{value}</b>" if row == 0 else value)


class QaResolveBar(QWidget):
    """Enter on a disagreement opens it: the final label's key, then a note, Enter resolves; Esc cancels."""

    submitted = Signal(str, str)  # final label, note
    cancelled = Signal()

    def __init__(self, policy: Policy, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("escalateBar")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # label keys reach the window's digit shortcuts
        self._titles = {lb.name: f"{lb.title} ({lb.key})" for lb in policy.labels}
        self.final_label: str | None = None
        self.what = QLabel()
        self.note = BarField(self)
        self.note.setPlaceholderText("Why this final label? (Enter resolves, Esc cancels)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.what)
        layout.addWidget(self.note, 1)
        self.note.returnPressed.connect(self._on_note_return)
        self.note.cancelled.connect(self.cancelled)
        self.hide()

    def open_bar(self) -> None:
        self.final_label = None
        self.what.setText("Resolve: press the final label's key")
        self.note.clear()
        self.note.setEnabled(False)
        self.show()
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def pick(self, label_name: str) -> None:
        self.final_label = label_name
        self.what.setText(f"Final label: {self._titles.get(label_name, label_name)}")
        self.note.setEnabled(True)
        self.note.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)

    def _on_note_return(self) -> None:
        note = self.note.text().strip()
        if self.final_label is None or not note:
            self.note.setPlaceholderText("A note is required to resolve (Esc to cancel)")
            return
        self.submitted.emit(self.final_label, note)
