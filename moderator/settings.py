"""Per-user settings, typed and declared once with their defaults; stored as TOML in the config dir.

Plain TOML rather than QSettings so the CLI (no Qt) reads the same values the desk uses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from moderator.config_file import Bad, expect_bool, expect_int, expect_number, expect_str, join, read_toml
from moderator.paths import config_dir
from moderator.policy import FILTER_LEVELS, SEVERITY_MAX
from storage.files import write_file

FILENAME = "settings.toml"


class SettingsError(ValueError):
    """A setting out of its declared range or of the wrong type: one line naming it (and the file)."""


def _setting(default: Any, label: str, low: float | None = None, high: float | None = None,
             choices: tuple[str, ...] | None = None):
    """A setting's default, its label in the settings dialog and its bounds: declared once, used by
    loading, `moderator settings --set` and the dialog's editors (through FORM)."""
    return field(default=default, metadata={"label": label, "low": low, "high": high, "choices": choices})


STYLES = ("", "drawing")


@dataclass(frozen=True)
class Settings:
    # Filters: the per-user default; the policy's stricter rules always win.
    blur: int = _setting(3, "Default blur (the policy may blur more)", 0, FILTER_LEVELS)
    grayscale: bool = _setting(True, "Grayscale by default")
    style: str = _setting("", "Style", choices=STYLES)
    # Reveal
    reveal_seconds: float = _setting(5.0, "Timed reveal (R) and spotlight (L), seconds", 0.1, 60)
    spotlight_radius: int = _setting(120, "Spotlight radius, pixels", 20, 800)
    # Exposure and breaks. Every duration stays far below QTimer's 2**31 ms.
    daily_exposure_budget_s: int = _setting(300, "Daily exposure budget, seconds (0 = none)", 0, 86_400)
    break_every_active_min: int = _setting(45, "Break reminder after active minutes (0 = off)", 0, 600)
    break_after_high_severity: int = _setting(10, "…or after this many high-severity items (0 = off)", 0, 1000)
    high_severity: int = _setting(4, "High severity starts at", 0, SEVERITY_MAX)
    break_minutes: int = _setting(5, "Break length, minutes", 1, 60)
    palate_cleanser: bool = _setting(True, "Calm screen after a high-severity item")
    palate_cleanser_seconds: float = _setting(3.0, "Calm screen, seconds", 0, 30)
    # Team hub: items leased ahead of the moderator (the hub lets a desk hold at most 200 leases).
    hub_in_hand: int = _setting(20, "Hub items kept in hand (leased ahead)", 1, 200)
    # QA: the share of the items served that are golden (known answer, scored apart; docs/QA.md).
    golden_rate: float = _setting(0.05, "Golden items mixed into the queue (share of items served)", 0, 0.5)
    # Grid: a batch of more items than this asks before it is written (docs/GRID.md).
    batch_confirm_over: int = _setting(50, "Grid: confirm a batch of more items than", 1, 100_000)
    # Undo and skip (docs/HISTORY.md): Ctrl+Z undoes the last decision only this recent; older ones go
    # through the history panel (H). A skipped item is hidden this long, or until it would breach.
    undo_window_minutes: int = _setting(10, "Ctrl+Z undoes the last decision if this recent, minutes", 0, 1440)
    skip_hide_minutes: int = _setting(15, "A skipped item comes back after, minutes (or before it breaches)", 1, 1440)

    def validate(self) -> Settings:
        """Self, if every value has its type and lies within its declared bounds (NaN and inf never do)."""
        return from_dict(dataclasses.asdict(self))


# How each setting is shown in the desk's settings dialog: (label, lowest, highest) for numbers.
FORM = {f.name: (f.metadata["label"], f.metadata["low"], f.metadata["high"]) for f in fields(Settings)}
_FIELDS = {f.name: f for f in fields(Settings)}


def settings_path() -> Path:
    return config_dir() / FILENAME


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_path()
    if not path.exists():
        return Settings()
    data = read_toml(path, "settings", SettingsError)
    try:
        return from_dict(data)
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None


def from_dict(data: dict[str, Any]) -> Settings:
    """Settings from a table of name -> value; a name left out keeps its default."""
    _check_names(data)
    try:
        return Settings(**{name: check(name, value) for name, value in data.items()})
    except Bad as exc:
        raise SettingsError(str(exc)) from None


def with_changes(current: Settings, pairs: list[tuple[str, str]]) -> Settings:
    """`current` with NAME=TEXT changes as typed on a command line; all or nothing."""
    _check_names(dict(pairs))
    changes = dataclasses.asdict(current)
    try:
        changes.update({name: check(name, _from_text(name, text)) for name, text in pairs})
    except Bad as exc:
        raise SettingsError(f"{exc} (nothing changed)") from None
    return Settings(**changes)


def check(name: str, value: Any) -> Any:
    """The value if it fits the setting's declaration (a float setting takes an integer too)."""
    f, meta = _FIELDS[name], _FIELDS[name].metadata
    if f.type == "bool":
        return expect_bool(value, name)
    if f.type == "str":
        return expect_str(value, name, meta["choices"])
    if f.type == "int":
        return expect_int(value, name, meta["low"], meta["high"])
    return expect_number(value, name, meta["low"], meta["high"])


def _check_names(data: dict[str, Any]) -> None:
    unknown = sorted(join("", str(n)) for n in set(data) - set(_FIELDS))  # join quotes odd names
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(unknown)} (known: {', '.join(_FIELDS)})")


def _from_text(name: str, text: str) -> Any:
    """A command-line word as the setting's type; what does not convert is left for `check` to name."""
    kind = _FIELDS[name].type
    text = text.strip()
    try:
        if kind == "bool":
            return {"true": True, "false": False}.get(text.lower(), text)
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        return text
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" else text


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{k} = {_toml(v)}" for k, v in dataclasses.asdict(settings).items()]
    write_file(path, "\n".join(lines) + "\n")  # whole or not at all: a crash never leaves half a settings file


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
