"""`moderator login --hub URL` and `moderator sync [--once]`: the desk's side of the team hub."""

from __future__ import annotations

import argparse


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Adds login and sync (owned by the sync-client work)."""
