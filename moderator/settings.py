"""Per-user settings, typed and declared once with their defaults; stored as TOML in the config dir.

Plain TOML rather than QSettings so the CLI (no Qt) reads the same values the desk uses.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from moderator.paths import config_dir

FILENAME = "settings.toml"


class SettingsError(ValueError):
    pass


# How each setting is shown in the desk's settings dialog: (label, lowest, highest) for numbers.
FORM = {
    "blur": ("Default blur (the policy may blur more)", 0, 6),
    "grayscale": ("Grayscale by default", None, None),
    "style": ("Style", None, None),
    "reveal_seconds": ("Timed reveal (R) and spotlight (L), seconds", 0.1, 60),
    "spotlight_radius": ("Spotlight radius, pixels", 20, 800),
    "daily_exposure_budget_s": ("Daily exposure budget, seconds (0 = none)", 0, 86_400),
    "break_every_active_min": ("Break reminder after active minutes (0 = off)", 0, 600),
    "break_after_high_severity": ("…or after this many high-severity items (0 = off)", 0, 1000),
    "high_severity": ("High severity starts at", 0, 10),
    "break_minutes": ("Break length, minutes", 1, 60),
    "palate_cleanser": ("Calm screen after a high-severity item", None, None),
    "palate_cleanser_seconds": ("Calm screen, seconds", 0, 30),
}
STYLES = ("", "drawing")


@dataclass(frozen=True)
class Settings:
    # Filters: the per-user default; the policy's stricter rules always win.
    blur: int = 3
    grayscale: bool = True
    style: str = ""  # "" or "drawing"
    # Reveal
    reveal_seconds: float = 5.0
    spotlight_radius: int = 120
    # Exposure and breaks
    daily_exposure_budget_s: int = 300
    break_every_active_min: int = 45
    break_after_high_severity: int = 10
    high_severity: int = 4
    break_minutes: int = 5
    palate_cleanser: bool = True
    palate_cleanser_seconds: float = 3.0

    def validate(self) -> Settings:
        checks = [
            (0 <= self.blur <= 6, "blur must be 0..6"),
            (self.style in ("", "drawing"), "style must be '' or 'drawing'"),
            (0 < self.reveal_seconds <= 60, "reveal_seconds must be in (0, 60]"),
            (20 <= self.spotlight_radius <= 800, "spotlight_radius must be 20..800"),
            (self.daily_exposure_budget_s >= 0, "daily_exposure_budget_s must be >= 0"),
            (self.break_every_active_min >= 0, "break_every_active_min must be >= 0 (0 = off)"),
            (self.break_after_high_severity >= 0, "break_after_high_severity must be >= 0 (0 = off)"),
            (self.break_minutes > 0, "break_minutes must be > 0"),
            (self.palate_cleanser_seconds >= 0, "palate_cleanser_seconds must be >= 0"),
        ]
        problems = [msg for ok, msg in checks if not ok]
        if problems:
            raise SettingsError("; ".join(problems))
        return self


def settings_path() -> Path:
    return config_dir() / FILENAME


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings: {exc}") from None
    try:
        return from_dict(data).validate()
    except SettingsError as exc:
        raise SettingsError(f"{path}: {exc}") from None


def from_dict(data: dict[str, Any]) -> Settings:
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(unknown)}")
    return Settings(**{name: _coerce(name, value, getattr(Settings(), name)) for name, value in data.items()})


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):  # TOML writes 5 for 5.0; accept it
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default)) and not isinstance(value, bool)
    if not ok:
        raise SettingsError(f"{name} must be {type(default).__name__}, got {value!r}")
    return type(default)(value)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{k} = {_toml(v)}" for k, v in dataclasses.asdict(settings).items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
