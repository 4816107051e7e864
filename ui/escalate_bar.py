"""The escalation bar: E opens it on the note; a target and a reason from the policy (resources/policy.toml
`[escalation]`), and a note that may span lines. Enter escalates, Shift+Enter starts a new line, Esc
cancels; Alt+T and Alt+R reach the target and reason lists. While the bar has the focus, its keys are
its own: a digit typed into the note or a list never applies a label."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QPlainTextEdit, QWidget

from moderator.domain import Policy
from moderator.escalation import Escalation, EscalationError

NOTE_LINES = 3
_SUBMIT = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


def _owns(event: QEvent) -> bool:
    """A key the bar keeps from the window's shortcuts: every key without Ctrl or Alt (labels are digits,
    the desk's commands are letters and Enter), and Ctrl+Enter. Alt+letter stays the bar's mnemonics."""
    if event.type() != QEvent.Type.ShortcutOverride:
        return False
    held = event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    return not held or event.key() in _SUBMIT


class NoteField(QPlainTextEdit):
    submitted = Signal()
    cancelled = Signal()

    def event(self, event: QEvent) -> bool:
        if _owns(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        elif event.key() in _SUBMIT and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
        else:
            super().keyPressEvent(event)


class ChoiceField(QComboBox):
    submitted = Signal()
    cancelled = Signal()

    def event(self, event: QEvent) -> bool:
        if _owns(event) and not self.view().isVisible():
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        elif event.key() in _SUBMIT:
            self.submitted.emit()
        else:
            super().keyPressEvent(event)


class EscalateBar(QWidget):
    submitted = Signal(object)  # moderator.escalation.Escalation (target, reason, note)
    closed = Signal()

    def __init__(self, policy: Policy | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("escalateBar")
        self.policy = policy
        self.target = ChoiceField(self)
        self.reason = ChoiceField(self)
        # Sized by a few characters, not the longest entry: the bar never widens the window (1024 px);
        # the open list shows every entry in full, and each one is on hover.
        for box, chars in ((self.target, 6), (self.reason, 8)):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(chars)
            box.currentTextChanged.connect(box.setToolTip)
        if policy is not None:
            for t in policy.escalation_targets:
                self.target.addItem(t.title, t.name)
            for r in policy.escalation_reasons:
                self.reason.addItem(r, r)
        self.edit = NoteField(self)
        self.edit.setObjectName("escalateNote")
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(self.edit.fontMetrics().lineSpacing() * NOTE_LINES + 14)
        self.edit.setPlaceholderText("Why escalate? What should the team look at? (Enter escalates, "
                                     "Shift+Enter: new line, Esc cancels)")
        self.problem = QLabel("")
        self.problem.setObjectName("hint")
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        to, why = QLabel("Escalate &to:"), QLabel("&Reason:")
        to.setBuddy(self.target)
        why.setBuddy(self.reason)
        layout.addWidget(to, 0, 0)
        layout.addWidget(self.target, 0, 1)
        layout.addWidget(why, 0, 2)
        layout.addWidget(self.reason, 0, 3)
        layout.setColumnStretch(3, 1)
        layout.addWidget(self.edit, 1, 0, 1, 4)
        layout.addWidget(self.problem, 2, 0, 1, 4)
        for field in (self.edit, self.target, self.reason):
            field.submitted.connect(self._submit)
            field.cancelled.connect(self.close_bar)
        self.target.setVisible(self.target.count() > 0)
        to.setVisible(self.target.count() > 0)
        self.reason.setVisible(self.reason.count() > 0)
        why.setVisible(self.reason.count() > 0)
        self.hide()

    def open_bar(self) -> None:
        self.edit.clear()
        self.problem.setText("")
        self.target.setCurrentIndex(0)
        self.reason.setCurrentIndex(self.reason.count() - 1)  # the last reason is the policy's "other"
        self.show()
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def close_bar(self) -> None:
        self.hide()
        self.closed.emit()

    def escalation(self) -> Escalation:
        return Escalation(self.edit.toPlainText(), self.target.currentData(), self.reason.currentData())

    def _submit(self) -> None:
        escalation = self.escalation()
        if self.policy is not None:
            try:
                escalation = escalation.checked(self.policy)
            except EscalationError as exc:  # the same check the service makes, shown before it is asked
                self.problem.setText(f"{exc} (Esc cancels)")
                self.edit.setFocus()
                return
        elif not escalation.note.strip():
            self.problem.setText("A note is required to escalate (Esc cancels)")
            return
        self.hide()
        self.submitted.emit(escalation)
        self.closed.emit()
