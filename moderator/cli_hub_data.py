"""`moderator hub import`, `hub decisions export` and `hub status` (owned by the hub-data work)."""

from __future__ import annotations

import argparse


def add_parsers(hsub, hub_common: argparse.ArgumentParser) -> None:
    """Adds import, decisions and status; handlers registered with moderator.cli_hub.hub_command."""
