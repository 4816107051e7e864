"""The settings dialog: every per-user setting as a form, built from moderator.settings; validated on save.

Under the form it says which values the policy's floors override (moderator.policy_floors), as they are
edited: a moderator never saves a value below a floor believing it took effect."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from moderator.domain import WellnessFloors
from moderator.policy_floors import apply_floors, describe
from moderator.settings import FORM, STYLES, Settings, SettingsError


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `saved(settings)` fires only with a valid set."""

    saved = Signal(object)

    def __init__(self, parent: QWidget | None = None, floors: WellnessFloors | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.floors = floors or WellnessFloors()
        self.fields: dict[str, QWidget] = {}
        form = QFormLayout()
        for f in dataclasses.fields(Settings):
            label, low, high = FORM[f.name]
            self.fields[f.name] = _editor(f.type, low, high)
            form.addRow(label, self.fields[f.name])
            _changed_signal(self.fields[f.name]).connect(self._show_overrides)
        self.policy_note = QLabel()  # what the policy overrides, as the values are edited
        self.policy_note.setObjectName("policyNote")
        self.policy_note.setWordWrap(True)
        self.policy_note.setStyleSheet("color: #e0b050;")
        self.error = QLabel()
        self.error.setStyleSheet("color: #ff6b6b;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("The policy's stricter rules always win over these defaults."))
        layout.addWidget(self.policy_note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def edit(self, settings: Settings) -> None:
        for name, value in dataclasses.asdict(settings).items():
            _set(self.fields[name], value)
        self.error.clear()
        self._show_overrides()
        self.show()

    def overrides_text(self) -> str:
        """What the policy would override in the values now in the form ("" when nothing)."""
        try:
            chosen = self.values().validate()
        except SettingsError:
            return ""  # the error line speaks for a value out of range
        overrides = apply_floors(chosen, self.floors)[1]
        return describe(overrides, {name: form[0] for name, form in FORM.items()})

    def _show_overrides(self, *_args) -> None:
        text = self.overrides_text()
        self.policy_note.setText(f"The policy overrides:\n{text}" if text else "")
        self.policy_note.setVisible(bool(text))

    def values(self) -> Settings:
        return Settings(**{name: _get(w) for name, w in self.fields.items()})

    def _on_save(self) -> None:
        try:
            settings = self.values().validate()
        except SettingsError as exc:
            self.error.setText(str(exc))
            return
        self.saved.emit(settings)
        self.accept()


def _editor(kind: str, low, high) -> QWidget:
    if kind == "bool":
        return QCheckBox()
    if kind == "str":
        box = QComboBox()
        for style in STYLES:
            box.addItem(style or "none", style)
        return box
    spin = QDoubleSpinBox() if kind == "float" else QSpinBox()
    spin.setRange(low, high)
    return spin


def _changed_signal(widget: QWidget):
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    return widget.valueChanged


def _set(widget: QWidget, value) -> None:
    if isinstance(widget, QCheckBox):
        widget.setChecked(value)
    elif isinstance(widget, QComboBox):
        widget.setCurrentIndex(max(0, widget.findData(value)))
    else:
        widget.setValue(value)


def _get(widget: QWidget):
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentData()
    return widget.value()
