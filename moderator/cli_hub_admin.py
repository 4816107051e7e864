"""`moderator hub serve` and `moderator hub user add|list|revoke` (owned by the hub-server work)."""

from __future__ import annotations

import argparse


def add_parsers(hsub, hub_common: argparse.ArgumentParser) -> None:
    """Adds serve and user; handlers registered with moderator.cli_hub.hub_command."""
