"""Where the shipped data files (policy, keymap, theme) live."""

from __future__ import annotations

from pathlib import Path

import resources

RESOURCES_DIR = Path(resources.__file__).resolve().parent


def resource_path(name: str) -> Path:
    return RESOURCES_DIR / name
