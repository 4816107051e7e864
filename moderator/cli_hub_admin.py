"""`moderator hub serve` and `moderator hub user add|list|revoke`: running the hub and its users.

`upstream` is imported inside the handlers: a desk command never loads the server's code."""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager

from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    bounded_float,
    bounded_int,
    fail,
    print_json,
    shown,
)
from moderator.cli_hub import hub_command, hub_data_dir, hub_db_url

ROLE_CHOICES = ("moderator", "qa", "lead", "admin")


def add_parsers(hsub, hub_common: argparse.ArgumentParser) -> None:
    """Adds serve and user; handlers registered with moderator.cli_hub.hub_command."""
    s = hsub.add_parser("serve", parents=[hub_common], help="run the hub's HTTP API")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=bounded_int(0, 65535), default=8765,
                   help="port (default 8765; 0 picks a free one, printed on start)")
    s.add_argument("--workers", type=bounded_int(1, 64), default=1, help="server processes (default 1)")
    s.add_argument("--lease-seconds", type=bounded_int(1, 86_400), default=600,
                   help="how long a lease holds an item for a desk (default 600)")
    s.add_argument("--golden-rate", type=bounded_float(0.0, 0.5), default=0.05,
                   help="share of leased items that are golden items, while any is pending (default 0.05, "
                        "as the desk's golden_rate setting; 0..0.5)")
    user = hsub.add_parser("user", parents=[hub_common], help="hub users: add, list, revoke")
    usub = user.add_subparsers(dest="user_command", required=True, parser_class=type(hub_common))
    add = usub.add_parser("add", parents=[hub_common], help="add a user and print their token (once)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=ROLE_CHOICES)
    add.add_argument("--team", default=None, help="the site or vendor the user works for")
    add.add_argument("--json", action="store_true")
    lst = usub.add_parser("list", parents=[hub_common], help="every user, their role, team and state")
    lst.add_argument("--json", action="store_true")
    rev = usub.add_parser("revoke", parents=[hub_common], help="revoke a user's token at once")
    rev.add_argument("name", metavar="NAME")


@contextmanager
def hub_engine(args: argparse.Namespace, *, create: bool):
    """The hub database of --db / --data-dir, migrated; create=False refuses a SQLite file that does
    not exist yet (a command that reads must not leave an empty hub behind)."""
    from sqlalchemy.engine import make_url

    from upstream.db import HubDbError, open_hub

    url = hub_db_url(args)
    try:
        if url.startswith("sqlite") and not create:
            path = make_url(url).database
            if not path or not _exists(path):
                raise UsageError(f"no hub database at {shown(path)}: add a user first (moderator hub user add)")
        engine = open_hub(url)
    except HubDbError as exc:
        raise UsageError(str(exc)) from None
    try:
        yield engine
    finally:
        engine.dispose()


def _exists(path: str) -> bool:
    from pathlib import Path

    return Path(path).expanduser().is_file()


def _database_errors(fn):
    """Run a hub command; an unreachable or broken database is one line and exit 1."""
    def run(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from upstream.auth import UserError

        try:
            return fn(args)
        except UserError as exc:
            raise UsageError(str(exc)) from None
        except SQLAlchemyError as exc:
            return fail(f"hub database problem: {str(exc.orig if getattr(exc, 'orig', None) else exc)}",
                        EXIT_NOTHING)
    run.__name__ = fn.__name__
    return run


@hub_command("user")
@_database_errors
def _user(args: argparse.Namespace) -> int:
    return {"add": _user_add, "list": _user_list, "revoke": _user_revoke}[args.user_command](args)


def _user_add(args: argparse.Namespace) -> int:
    from upstream.auth import add_user
    from upstream.db import write_tx

    with hub_engine(args, create=True) as engine, write_tx(engine) as conn:
        token = add_user(conn, args.name, args.role, args.team)
    if args.json:
        print_json({"name": args.name, "role": args.role, "token": token})
    else:
        print(f"user {shown(args.name)} ({args.role}) added; their token, shown only this once:")
        print(token)
    return EXIT_OK


def _user_list(args: argparse.Namespace) -> int:
    from upstream.auth import list_users
    from upstream.db import read_tx

    with hub_engine(args, create=False) as engine, read_tx(engine) as conn:
        found = list_users(conn)
    if args.json:
        print_json([{"name": u.name, "role": u.role, "team": u.team, "created_at": u.created_at,
                     "revoked_at": u.revoked_at} for u in found])
        return EXIT_OK
    if not found:
        print("no users yet: moderator hub user add NAME --role ROLE")
    for u in found:
        state = f"revoked {u.revoked_at}" if u.revoked_at else "active"
        print(f"{shown(u.name)}\t{u.role}\t{shown(u.team) if u.team else '-'}\t{state}")
    return EXIT_OK


def _user_revoke(args: argparse.Namespace) -> int:
    from upstream.auth import revoke_user
    from upstream.db import write_tx

    with hub_engine(args, create=False) as engine, write_tx(engine) as conn:
        user = revoke_user(conn, args.name)
    print(f"user {shown(user.name)} revoked at {user.revoked_at}")
    return EXIT_OK


@hub_command("serve")
@_database_errors
def _serve(args: argparse.Namespace) -> int:
    from upstream.db import HubDbError
    from upstream.server import ServeError, serve

    data_dir = hub_data_dir(args)
    try:
        serve(db_url=hub_db_url(args), data_dir=data_dir, host=args.host, port=args.port,
              workers=args.workers, lease_seconds=args.lease_seconds, golden_rate=args.golden_rate,
              out=sys.stdout)
    except (HubDbError, ServeError) as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK
