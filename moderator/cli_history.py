"""`moderator decisions import FILE`: decision history in the export format, all of a file or nothing
(moderator.decisions_import reads it, storage.decisions.import_history checks and appends it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from moderator.cli_common import (
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    actor_of,
    fail,
    one_line,
    open_store,
    print_json,
    shown,
)

SHOWN_PROBLEMS = 50  # lines named on standard error; --json names them all


def add_import_parser(dsub, common: argparse.ArgumentParser) -> None:
    imp = dsub.add_parser("import", parents=[common],
                          help="bring in decisions in the export format (JSONL or CSV): all of the file or nothing")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--json", action="store_true", help="print the outcome, every invalid line listed, as JSON")


def run_import(args: argparse.Namespace) -> int:
    from moderator.decisions_import import HistoryFileError, read_history
    from storage.decisions import HistoryImportError, import_history

    path = Path(args.file).expanduser()
    if not path.is_file():
        raise UsageError(f"no such file: {shown(path)}")
    try:
        rows, problems = read_history(path)
    except (HistoryFileError, OSError) as exc:
        raise UsageError(str(exc)) from None
    if not rows and not problems:
        raise UsageError(f"{shown(path.name)}: no decisions in it")
    if problems:  # the log is not consulted for a file already known to be refused
        return _refused(args, path, problems)
    with open_store(args, create=False) as store:
        try:
            outcome = store.write(import_history, rows, actor_of(args), path.name)
        except HistoryImportError as exc:
            return _refused(args, path, exc.problems)
    if args.json:
        print_json({"imported": len(outcome.written), "already": outcome.already, "invalid": []})
    else:
        print(f"imported {len(outcome.written)} decisions from {shown(path.name)} "
              f"({outcome.already} already in the log)")
    return EXIT_OK


def _refused(args: argparse.Namespace, path: Path, problems: list[tuple[int, str]]) -> int:
    if args.json:
        print_json({"imported": 0, "already": 0, "invalid": [{"line": n, "reason": r} for n, r in problems]})
    else:
        for line, reason in problems[:SHOWN_PROBLEMS]:
            print(f"{shown(path.name)}:{line}: {one_line(reason)}", file=sys.stderr)
        if len(problems) > SHOWN_PROBLEMS:
            print(f"… and {len(problems) - SHOWN_PROBLEMS} more invalid lines (--json lists them all)", file=sys.stderr)
    return fail(f"{path.name}: {len(problems)} invalid lines; nothing imported", EXIT_USAGE)
