"""The `moderator` command: the desk (default) and everything that does not need eyes.

Each group of commands lives in its own module with an `add_parsers(sub, common)` function and
`@command` handlers; this module only builds the parser and turns known errors into one line.
"""

from __future__ import annotations

import argparse
import os
import sqlite3

from moderator import cli_banks, cli_hub, cli_qa, cli_report, cli_review, cli_sync, cli_wellness
from moderator.cli_common import COMMANDS, EXIT_NOTHING, EXIT_USAGE, Parser, UsageError, fail

# Start-up: the command modules import what their commands need inside the commands, and the error
# types below are imported only when a command fails, so `--help`, a usage error and the commands that do
# not open the store never load sqlite_utils, numpy or the services (tests/test_startup.py).
GROUPS = [cli_review, cli_wellness, cli_banks, cli_hub, cli_sync, cli_report, cli_qa]


def known_errors() -> tuple[tuple[type[BaseException], ...], type[BaseException]]:
    """(the usage errors: one line, exit 2; the store's own error: exit 1)."""
    from moderator.keymap import KeymapError
    from moderator.policy import PolicyError
    from moderator.settings import SettingsError
    from storage.audit import AuditKeyError
    from storage.store import StoreError

    return (UsageError, PolicyError, KeymapError, SettingsError, AuditKeyError), StoreError
# Everything we write (store, media, anchors, exports of decisions) is private to the user.
PRIVATE_UMASK = 0o077


def _common(default) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name."""
    common = Parser(add_help=False)
    common.add_argument("--data-dir", default=default,
                        help="the store to use (default: per-user data dir, or $MODERATOR_DATA_DIR)")
    common.add_argument("--actor", default=default, help="who is acting (default: $MODERATOR_ACTOR or the OS user)")
    common.add_argument("--policy", default=default, help="policy TOML (default: the shipped resources/policy.toml)")
    return common


def build_parser() -> argparse.ArgumentParser:
    # Sub-commands SUPPRESS their defaults so `moderator --data-dir X import …` keeps X.
    parser = Parser(prog="moderator", parents=[_common(None)], description="Moderator Desk")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    common = _common(argparse.SUPPRESS)
    for group in GROUPS:
        group.add_parsers(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    args = build_parser().parse_args(argv)
    name = args.command or "desk"
    if name == "desk" and not hasattr(args, "demo"):
        args.demo = False
    try:
        return COMMANDS[name](args)
    except Exception as exc:  # the error types are looked at only now: their modules are loaded by then
        usage_errors, store_error = known_errors()
        if isinstance(exc, usage_errors):
            return fail(str(exc), EXIT_USAGE)
        if isinstance(exc, store_error):
            return fail(str(exc), EXIT_NOTHING)
        if isinstance(exc, (sqlite3.DatabaseError, OSError)):
            return fail(f"store problem: {exc}", EXIT_NOTHING)
        raise
