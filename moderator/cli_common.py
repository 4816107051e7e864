"""What every `moderator` command shares: the registry, one-line errors, the store, output helpers."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from contextlib import contextmanager
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
    print(f"moderator: error: {one_line(message)}", file=sys.stderr)
    return code


def one_line(text: str) -> str:
    """Control characters (a newline in a file name, say) escaped, so one message stays one line
    and nothing a file is called can forge another line of output."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def shown(name: object) -> str:
    """A file or item name for human output: as it is when plain, quoted (with escapes) when it
    holds anything that could be read as more than one name or line."""
    text = str(name)
    if text and text == text.strip() and all(ch.isprintable() for ch in text) and '"' not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def bounded_int(low: int, high: int):
    """An argparse type: an integer in [low, high], or one clear usage error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {text}")
        return value
    return parse


def bounded_float(low: float, high: float):
    """An argparse type: a finite number in [low, high], or one clear usage error."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not low <= value <= high:  # NaN fails both comparisons
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {text}")
        return value
    return parse


@contextmanager
def open_store(args: argparse.Namespace, *, demo: bool = False, create: bool = True, readonly: bool = False):
    """The store of --data-dir, closed on the way out.

    create=False (commands that act on what is there): a missing store is a usage error rather
    than a new empty one. readonly=True (commands that only read): opened mode=ro, no migration,
    so a read-only evidence copy works. A store this command created is removed again when the
    command fails, so a failed command leaves nothing behind."""
    from storage.store import Store, StoreError

    base = data_dir(args.data_dir)
    if base.exists() and not base.is_dir():
        raise UsageError(f"data dir {shown(base)} is not a folder")
    folder = demo_dir(base) if demo else base
    existed = (folder / Store.FILENAME).exists()
    if (readonly or not create) and not existed:
        raise UsageError(f"no store in {shown(folder)}: import media first (moderator import PATH)")
    folder_existed = folder.exists()
    try:
        store = Store(folder, readonly=readonly)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        yield store
    except BaseException:
        store.close()
        if not existed:
            _remove_new_store(folder, Store.FILENAME, remove_folder=not folder_existed)
        raise
    store.close()


def _remove_new_store(folder: Path, filename: str, *, remove_folder: bool) -> None:
    if remove_folder:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for suffix in ("", "-wal", "-shm"):
        (folder / f"{filename}{suffix}").unlink(missing_ok=True)


def actor_of(args: argparse.Namespace) -> str:
    return args.actor or default_actor()


def load_policy_of(args: argparse.Namespace):
    from moderator.policy import load_policy

    return load_policy(args.policy)


def print_json(obj) -> None:
    # dumps, not dump: json.dump streams through the pure-Python encoder, dumps takes the C one
    # (queue --json at 5,000 items: 1.6 s -> under 0.1 s of encoding, bench/bench_startup.py).
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=None))
    sys.stdout.write("\n")


def check_out_path(path: str | Path) -> Path:
    """An --out path that can be written: its folder exists and it is not itself a folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"cannot write {shown(path)}: it is a folder; give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {shown(path)}: no such folder {shown(path.parent)}")
    return path


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a failed export never leaves half a file."""
    from storage.files import write_file

    write_file(check_out_path(path), text)


def emit(text: str, out: Path | None, rows: int, what: str) -> None:
    """An export's text to standard output, or whole to the --out file (saying so on standard error)."""
    if out:
        write_atomically(out, text)
        print(f"wrote {rows} {what} to {shown(out)}", file=sys.stderr)
    else:
        sys.stdout.write(text)
