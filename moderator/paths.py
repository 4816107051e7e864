"""Where the store lives: platformdirs' per-user data dir unless --data-dir or MODERATOR_DATA_DIR say."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import platformdirs

APP = "moderator-desk"


def data_dir(override: str | Path | None = None) -> Path:
    chosen = override or os.environ.get("MODERATOR_DATA_DIR")
    return Path(chosen).expanduser() if chosen else Path(platformdirs.user_data_dir(APP, appauthor=False))


def demo_dir(base: Path) -> Path:
    """The demo queue has a store of its own, never mixed with a team's real work."""
    return base / "demo"


def config_dir() -> Path:
    override = os.environ.get("MODERATOR_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP, appauthor=False))


def default_actor() -> str:
    actor = os.environ.get("MODERATOR_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "moderator"
