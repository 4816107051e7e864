"""The side panels: facts of the current item, and the policy's labels with their keys.

Every key they name is read from the keymap the shortcuts are made from, so a rebound key shows as bound.
The facts panel shows the report's context in full (wrapping, selectable): the item's own fields at once,
and what the store knows around it (what stands on it, earlier decisions on the same media or account,
its bank matches with their kinds) when a worker has read it (`attach`)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from moderator.actions import DeskAction, first_key, hints
from moderator.clock import parse_iso, utc_now
from moderator.domain import Action, Item, Policy
from moderator.escalation import escalation_text
from moderator.report_context import ItemContext, item_title
from ui.bank_looks import kind_words, match_html, match_tooltip
from ui.queue_model import _span, due_text

SEVERITY_COLOURS = ["#5d6d7e", "#2e86c1", "#d4ac0d", "#e67e22", "#c0392b", "#8e44ad"]
FACTS = ("Item", "Reported by", "Account", "Post", "Source", "File", "Category hint", "Reason", "Reports",
         "In queue", "SLA", "Media", "Status", "Escalation", "Prior decisions", "Bank matches", "Suggested")
# Rows shown only when the item has a value: a report without context stays as short as before.
OPTIONAL = ("Reported by", "Account", "Post", "Source", "File", "Escalation", "Prior decisions")
POST_LINES = 6  # the post box's height; longer text scrolls inside it


class FactsPanel(QWidget):
    def __init__(self, keymap: dict[str, tuple[str, ...]], parent: QWidget | None = None):
        super().__init__(parent)
        self._accept_key = first_key(keymap, DeskAction.ACCEPT_SUGGESTION)
        self._policy: Policy | None = None
        self._load: Callable[[Item, Callable[[ItemContext], None]], None] | None = None
        self._item: Item | None = None
        self._values = {name: QLabel("—") for name in FACTS if name != "Post"}
        self.post = QPlainTextEdit()
        self.post.setReadOnly(True)
        self.post.setObjectName("postText")
        self.post.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.post.setFixedHeight(self.post.fontMetrics().lineSpacing() * POST_LINES + 12)
        # The facts scroll inside the panel: a long post, many matches or prior decisions never squeeze
        # a row into clipped text, whatever room the window leaves the side panel.
        body = QWidget()
        body.setObjectName("factsBody")
        self._form = form = QFormLayout(body)
        form.setContentsMargins(0, 0, 4, 0)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.scroll = QScrollArea()
        self.scroll.setWidget(body)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        title = QLabel("This item")
        title.setObjectName("panelTitle")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(title)
        outer.addWidget(self.scroll, 1)
        for name in FACTS:
            widget = self.post if name == "Post" else self._values[name]
            if isinstance(widget, QLabel):
                widget.setWordWrap(True)
                widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                widget.setTextFormat(Qt.TextFormat.PlainText)
            form.addRow(f"{name}:", widget)
        self._values["Bank matches"].setTextFormat(Qt.TextFormat.RichText)
        for name in OPTIONAL:
            self._set_visible(name, False)

    def attach(self, policy: Policy, load: Callable[[Item, Callable[[ItemContext], None]], None]) -> None:
        """Have the context read for every item shown: `load(item, done)` runs the read on a worker and
        calls `done(context)` back on this thread (ui/main_window.py passes TaskRunner.run)."""
        self._policy, self._load = policy, load

    def show_item(self, item: Item | None) -> None:
        self._item = item
        if item is None:
            for label in self._values.values():
                label.setText("—")
                label.setToolTip("")
            self.post.setPlainText("")
            for name in OPTIONAL:
                self._set_visible(name, False)
            return
        waited = (utc_now() - parse_iso(item.reported_at or item.imported_at or "")).total_seconds()
        size = f"{item.width}×{item.height}"
        if item.duration_s:
            size += f", {item.duration_s:.1f} s"
        values = {
            "Item": item_title(item.external_id, item.original_name, item.source_name, item.id),
            "Reported by": item.reporter, "Account": item.reported_account, "Source": item.source_url,
            "File": _file_text(item), "Category hint": item.category or "none",
            "Reason": item.reason or "—", "Reports": str(item.report_count), "In queue": _span(waited),
            "SLA": due_text(item.sla_due_at), "Media": f"{item.kind.value} · {item.mime} · {size}",
            "Status": item.status.value,
            "Bank matches": escape("\n".join(item.match_badges) or "none").replace("\n", "<br>"),
            "Suggested": f"{item.suggested_label} ({self._accept_key} applies it)" if item.suggested_label else "—",
            "Escalation": None, "Prior decisions": None,
        }
        for name, text in values.items():
            self._values[name].setText(text or "—")
            self._values[name].setToolTip("")
            if name in OPTIONAL:
                self._set_visible(name, bool(text))
        self._values["Item"].setToolTip(f"item id {item.id}")
        self.post.setPlainText(item.post_text or "")
        self._set_visible("Post", bool(item.post_text))
        if self._load is not None:
            self._load(item, lambda context, shown=item: self.show_context(shown, context))

    def show_context(self, item: Item, context: ItemContext) -> None:
        """What the store knows around `item`; ignored when another item is shown by now."""
        if self._item is None or self._item.id != item.id:
            return
        standing = context.standing
        if standing is not None and standing.action is Action.ESCALATE:
            self._values["Escalation"].setText(escalation_text(standing, self._policy))
            self._set_visible("Escalation", True)
        if context.prior:
            lines = [f"{p.title} ({p.why}): {', '.join(p.labels) + ' → ' if p.labels else ''}{p.action.value}, "
                     f"{_local(p.decided_at)} by {p.actor}" for p in context.prior]
            if context.prior_more:
                lines.append(f"…and {context.prior_more} more")
            self._values["Prior decisions"].setText("\n".join(lines))
            self._set_visible("Prior decisions", True)
        source = next((m for m in context.matches if m.label and m.label == item.suggested_label), None)
        if source is not None:  # which bank suggested it, by its full name
            self._values["Suggested"].setText(f"{item.suggested_label} ({self._accept_key} applies it), from "
                                              f"{kind_words(source.kind)} bank {source.bank}")
        if context.matches:
            matches = self._values["Bank matches"]
            matches.setText("<br>".join(match_html(m) for m in context.matches))
            matches.setToolTip("\n\n".join(match_tooltip(m) for m in context.matches))

    def text_of(self, name: str) -> str:
        return self.post.toPlainText() if name == "Post" else self._values[name].text()

    def row_shown(self, name: str) -> bool:
        widget = self.post if name == "Post" else self._values[name]
        return self._form.isRowVisible(widget)

    def _set_visible(self, name: str, shown: bool) -> None:
        self._form.setRowVisible(self.post if name == "Post" else self._values[name], shown)


def _file_text(item: Item) -> str | None:
    if not item.original_name:
        return None
    if item.source_name and item.source_name != item.original_name:
        return f"{item.original_name} (imported as {item.source_name})"
    return item.original_name


def _local(stamp: str) -> str:
    """A stored UTC time as the moderator's local time, to the minute."""
    try:
        return parse_iso(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


class LabelsPanel(QWidget):
    """The labels of the policy in key order: the key, the title, the action it takes."""

    def __init__(self, policy: Policy, keymap: dict[str, tuple[str, ...]], parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        title = QLabel(f"Labels · policy {policy.version}")
        title.setObjectName("panelTitle")
        layout.addWidget(title)
        grid = QGridLayout()
        self._keycaps: dict[str, QLabel] = {}
        for row, label in enumerate(policy.labels):
            colour = SEVERITY_COLOURS[min(label.severity, len(SEVERITY_COLOURS) - 1)]
            key = QLabel(label.key)
            key.setObjectName("keycap")
            key.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._keycaps[label.name] = key
            grid.addWidget(key, row, 0)
            grid.addWidget(QLabel(f"<span style='color:{colour}'>■</span> {label.title}"), row, 1)
            grid.addWidget(QLabel(f"<i>{label.action.value.replace('_', '-')}</i>"), row, 2)
        layout.addLayout(grid)
        # No-break spaces: a line wraps between hints, never between a key and what it does.
        self.hint = QLabel(" · ".join(h.replace(" ", "\u00a0") for h in hints(keymap)))
        self.hint.setWordWrap(True)
        self.hint.setObjectName("hint")
        layout.addWidget(self.hint)
        layout.addStretch(1)

    def suggest(self, label_name: str | None) -> None:
        """Mark the label a bank match pre-selected (the accept_suggestion key applies it) in the accent
        colour (resources/theme.qss keycapSuggested), never the severity red: a suggestion is a hint."""
        for name, key in self._keycaps.items():
            wanted = "keycapSuggested" if name == label_name else "keycap"
            if key.objectName() != wanted:  # a re-polish repaints the key: only the ones that change
                key.setObjectName(wanted)
                key.setToolTip("suggested by a bank match" if wanted == "keycapSuggested" else "")
                key.style().unpolish(key)
                key.style().polish(key)

    def suggested(self) -> str | None:
        return next((n for n, k in self._keycaps.items() if k.objectName() == "keycapSuggested"), None)
