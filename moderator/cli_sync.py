"""`moderator login --hub URL` and `moderator sync [--once]`: the desk's side of the team hub."""

from __future__ import annotations

import argparse
import sys
import time

from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    actor_of,
    bounded_int,
    command,
    fail,
    load_policy_of,
    one_line,
    open_store,
    print_json,
)

NO_HUB = ("no hub configured: run `moderator login --hub URL` "
          "(or set MODERATOR_HUB_URL and MODERATOR_HUB_TOKEN)")


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    login = sub.add_parser("login", parents=[common], help="connect this desk to a team hub (asks for the token)")
    login.add_argument("--hub", required=True, metavar="URL", help="the hub's address, e.g. http://hub.example:8765")
    s = sub.add_parser("sync", parents=[common], help="sync with the team hub: push decisions, lease work, "
                                                       "pull banks and policy")
    s.add_argument("--once", action="store_true", help="one round, then exit (default: loop until Ctrl+C)")
    s.add_argument("--json", action="store_true", help="counts as JSON, one object per round")
    s.add_argument("--keep", type=bounded_int(0, 200), default=None, metavar="N",
                   help="items to keep leased in hand (default: the hub_in_hand setting, 20)")
    s.add_argument("--batch-size", type=bounded_int(1, 500), default=500, metavar="N",
                   help="decisions per push (default 500)")
    s.add_argument("--interval", type=float, default=5.0, metavar="SECONDS",
                   help="without --once: seconds between rounds (default 5)")
    s.add_argument("--release", action="store_true",
                   help="hand every undecided item's lease back to the hub, then exit")


# -- login ---------------------------------------------------------------------------------------
@command("login")
def _login(args: argparse.Namespace) -> int:
    from moderator.hub_config import HubConfigError, normalise_url, save_login, token_file
    from storage.hub_client import HubAuthError, HubClient, HubError, HubRefused

    try:
        url = normalise_url(args.hub)
    except HubConfigError as exc:
        raise UsageError(str(exc)) from None
    token = _read_token()
    try:
        with HubClient(url, None) as anonymous:
            anonymous.health()
    except HubError as exc:
        return fail(f"cannot log in to {url}: no moderator hub answers there ({exc})", EXIT_NOTHING)
    try:
        with HubClient(url, token) as client:
            client.policy()
    except HubAuthError as exc:
        return fail(f"the hub at {url} refused the token: {exc.detail}", EXIT_NOTHING)
    except HubRefused as exc:
        if exc.status not in (403, 404):  # 403/404: the token passed, this role or hub has no policy to read
            return fail(f"the hub at {url} refused the check: {exc.detail}", EXIT_NOTHING)
    except HubError as exc:
        return fail(f"cannot log in to {url}: {exc}", EXIT_NOTHING)
    where = save_login(url, token)
    if where == "file":
        print(f"moderator: no usable OS keyring here: the hub token is kept in {token_file()} "
              "(readable only by you)", file=sys.stderr)
    print(f"logged in to {url} (token kept in the {where})")
    return EXIT_OK


def _read_token() -> str:
    """The token from the terminal without echo, or one line of standard input when it is not a tty."""
    import getpass

    if sys.stdin is not None and sys.stdin.isatty():
        token = getpass.getpass("hub token: ")
    else:
        token = (sys.stdin.readline() if sys.stdin is not None else "")
    token = token.strip()
    if not token:
        raise UsageError("no token given (paste the token `moderator hub user add` printed)")
    if not token.isprintable() or " " in token:
        raise UsageError("the token holds spaces or control characters: paste it exactly as printed")
    return token


# -- sync ----------------------------------------------------------------------------------------
@command("sync")
def _sync(args: argparse.Namespace) -> int:
    from moderator.hub_config import HubConfigError, load_hub_config
    from moderator.settings import load_settings
    from moderator.sync_service import SyncService

    try:
        config = load_hub_config()
    except HubConfigError as exc:
        raise UsageError(str(exc)) from None
    if config is None:
        raise UsageError(NO_HUB)
    keep = args.keep if args.keep is not None else load_settings().hub_in_hand
    policy = load_policy_of(args)
    with open_store(args) as store:
        service = SyncService(store, policy, actor_of(args), config, keep=keep, batch=args.batch_size)
        try:
            if args.release:
                return _report(service.release_all(), args.json, final=True)
            if args.once:
                return _report(service.sync_round(), args.json, final=True)
            return _loop(service, args)
        finally:
            service.close()


def _loop(service, args: argparse.Namespace) -> int:
    interval = max(0.1, args.interval)
    try:
        while True:
            result = service.sync_round()
            _report(result, args.json, final=False)
            _sleep(max(interval, result.status.retry_in_s))
    except KeyboardInterrupt:
        print("sync: stopped", file=sys.stderr)
        return EXIT_OK


def _sleep(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))


def _report(result, as_json: bool, *, final: bool) -> int:
    status = result.status
    if as_json:
        print_json({**result.counts, "online": status.online, "unsynced": status.unsynced, "held": status.held,
                    "in_hand": status.in_hand, "rejected": status.rejected, "local_only": status.local_only,
                    "conflicts": len(status.conflicts), "error": status.last_error})
    else:
        print(summary(result))
    sys.stdout.flush()
    if status.last_error is None:
        return EXIT_OK
    if final:
        return fail(status.last_error, EXIT_NOTHING)
    print(f"moderator: {one_line(status.last_error)}", file=sys.stderr)
    return EXIT_NOTHING


def summary(result) -> str:
    """One line: what the round did, then what is waiting."""
    c, s = result.counts, result.status
    done = []
    if c.get("pushed"):
        outcomes = ", ".join(f"{k} {c[k]}" for k in ("accepted", "duplicate", "conflict", "rejected") if c[k])
        done.append(f"pushed {c['pushed']} ({outcomes})")
    done += [f"{key} {c[key]}" for key in ("leased", "refused", "renewed", "expired", "returned") if c.get(key)]
    if c.get("bank_entries_added") or c.get("bank_entries_removed") or c.get("banks_created"):
        done.append(f"banks v{c['bank_version']} (+{c['bank_entries_added']} entries, "
                    f"{c['bank_entries_removed']} removals recorded)")
    if c.get("policy_updated"):
        done.append("policy updated")
    state = "online" if s.online else "offline"
    waiting = f"unsynced {s.unsynced}, held {s.held} ({s.in_hand} open), rejected {s.rejected}, conflicts {len(s.conflicts)}"
    if s.retry_in_s and not s.online:
        waiting += f", next try in {s.retry_in_s:.1f} s"
    return f"sync: {state}; " + (", ".join(done) + "; " if done else "") + waiting
