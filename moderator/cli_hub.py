"""`moderator hub …`: the team hub's commands. This module only builds the `hub` parser and its
shared options; the commands live in moderator/cli_hub_admin.py (serve, user) and
moderator/cli_hub_data.py (import, decisions export, status), which import `upstream` inside their
handlers (the hub's server code is never loaded by a desk command)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

import platformdirs

from moderator.cli_common import command

HUB_APP = "moderator-hub"
HUB_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def hub_command(name: str):
    """Register the function that runs `moderator hub NAME`."""
    def register(fn):
        HUB_COMMANDS[name] = fn
        return fn
    return register


def hub_data_dir(args: argparse.Namespace) -> Path:
    """The hub's folder (SQLite file, media): --data-dir, $MODERATOR_HUB_DIR, or the per-user data dir."""
    chosen = getattr(args, "data_dir", None) or os.environ.get("MODERATOR_HUB_DIR")
    return Path(chosen).expanduser() if chosen else Path(platformdirs.user_data_dir(HUB_APP, appauthor=False))


def hub_db_url(args: argparse.Namespace) -> str:
    """--db as given (postgresql://… or sqlite:///…), else the SQLite file in the hub's data dir."""
    return getattr(args, "db", None) or f"sqlite:///{hub_data_dir(args) / 'hub.sqlite3'}"


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    from moderator import cli_hub_admin, cli_hub_data, cli_hub_qa

    hub_common = type(common)(add_help=False, parents=[common])
    hub_common.add_argument("--db", default=argparse.SUPPRESS, metavar="URL",
                            help="postgresql://user@host:port/dbname, or sqlite:///FILE "
                                 "(default: hub.sqlite3 in the hub's --data-dir)")
    hub = sub.add_parser("hub", parents=[common], help="the team hub: serve, users, import, export, status")
    hsub = hub.add_subparsers(dest="hub_command", required=True, parser_class=type(common))
    for group in (cli_hub_admin, cli_hub_data, cli_hub_qa):
        group.add_parsers(hsub, hub_common)


@command("hub")
def _hub(args: argparse.Namespace) -> int:
    return HUB_COMMANDS[args.hub_command](args)
