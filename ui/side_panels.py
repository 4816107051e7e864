"""The side panels: facts of the current item, and the policy's labels with their keys.

Every key they name is read from the keymap the shortcuts are made from, so a rebound key shows as bound."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGridLayout, QLabel, QVBoxLayout, QWidget

from moderator.actions import DeskAction, first_key, hints
from moderator.clock import parse_iso, utc_now
from moderator.domain import Item, Policy
from ui.queue_panel import _span, due_text

SEVERITY_COLOURS = ["#5d6d7e", "#2e86c1", "#d4ac0d", "#e67e22", "#c0392b", "#8e44ad"]
FACTS = ("Item", "Category hint", "Reason", "Reports", "In queue", "SLA", "Media", "Status", "Bank matches",
         "Suggested")


class FactsPanel(QWidget):
    def __init__(self, keymap: dict[str, tuple[str, ...]], parent: QWidget | None = None):
        super().__init__(parent)
        self._accept_key = first_key(keymap, DeskAction.ACCEPT_SUGGESTION)
        self._values = {name: QLabel("—") for name in FACTS}
        form = QFormLayout(self)
        title = QLabel("This item")
        title.setObjectName("panelTitle")
        form.addRow(title)
        for name, label in self._values.items():
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{name}:", label)

    def show_item(self, item: Item | None) -> None:
        if item is None:
            for label in self._values.values():
                label.setText("—")
            return
        waited = (utc_now() - parse_iso(item.reported_at or item.imported_at or "")).total_seconds()
        size = f"{item.width}×{item.height}"
        if item.duration_s:
            size += f", {item.duration_s:.1f} s"
        values = {
            "Item": item.external_id or item.id, "Category hint": item.category or "none",
            "Reason": item.reason or "—", "Reports": str(item.report_count), "In queue": _span(waited),
            "SLA": due_text(item.sla_due_at), "Media": f"{item.kind.value} · {item.mime} · {size}",
            "Status": item.status.value,
            "Bank matches": "\n".join(item.match_badges) or "none",
            "Suggested": f"{item.suggested_label} ({self._accept_key} applies it)" if item.suggested_label else "—",
        }
        for name, text in values.items():
            self._values[name].setText(text)

    def text_of(self, name: str) -> str:
        return self._values[name].text()


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
        """Mark the label a bank match pre-selected (the accept_suggestion key applies it)."""
        for name, key in self._keycaps.items():
            wanted = "keycapSuggested" if name == label_name else "keycap"
            if key.objectName() != wanted:  # a re-polish repaints the key: only the ones that change
                key.setObjectName(wanted)
                key.style().unpolish(key)
                key.style().polish(key)

    def suggested(self) -> str | None:
        return next((n for n, k in self._keycaps.items() if k.objectName() == "keycapSuggested"), None)
