"""What every `moderator` command shares: the registry, one-line errors, the store, output helpers."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from moderator.paths import data_dir, default_actor, demo_dir

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


class UsageError(Exception):
    """Bad input from the person at the terminal: one line, exit 2, nothing changed."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + error
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def command(name: str):
    """Register the function that runs `moderator NAME`."""
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


def fail(message: str, code: int) -> int:
    print(f"moderator: error: {message}", file=sys.stderr)
    return code


def open_store(args: argparse.Namespace, *, demo: bool = False, create: bool = True):
    """The store of --data-dir; with create=False (commands that only read, or that act on what is
    already there) a missing store is a usage error rather than a new empty one."""
    from storage.store import Store

    base = data_dir(args.data_dir)
    if base.exists() and not base.is_dir():
        raise UsageError(f"data dir {base} is not a folder")
    folder = demo_dir(base) if demo else base
    if not create and not (folder / Store.FILENAME).exists():
        raise UsageError(f"no store in {folder}: import media first (moderator import PATH)")
    return Store(folder)


def actor_of(args: argparse.Namespace) -> str:
    return args.actor or default_actor()


def load_policy_of(args: argparse.Namespace):
    from moderator.policy import load_policy

    return load_policy(args.policy)


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=None)
    sys.stdout.write("\n")


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a failed export never leaves half a file."""
    path = path.expanduser()
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: no such folder {path.parent}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
