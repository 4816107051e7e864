"""The `moderator` command: the desk (default) and everything that does not need eyes."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from moderator import export as export_mod
from moderator.keymap import KeymapError
from moderator.paths import data_dir, default_actor, demo_dir
from moderator.policy import PolicyError
from moderator.settings import SettingsError

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


class UsageError(Exception):
    """Bad input from the person at the terminal: one line, exit 2, nothing changed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + error
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


def _common(default) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name."""
    common = _Parser(add_help=False)
    common.add_argument("--data-dir", default=default,
                        help="the store to use (default: per-user data dir, or $MODERATOR_DATA_DIR)")
    common.add_argument("--actor", default=default, help="who is acting (default: $MODERATOR_ACTOR or the OS user)")
    common.add_argument("--policy", default=default, help="policy TOML (default: the shipped resources/policy.toml)")
    return common


def build_parser() -> argparse.ArgumentParser:
    # Sub-commands SUPPRESS their defaults so `moderator --data-dir X import …` keeps X.
    parser = _Parser(prog="moderator", parents=[_common(None)], description="Moderator Desk")
    common = _common(argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    desk = sub.add_parser("desk", parents=[common], help="open the review desk (the default)")
    desk.add_argument("--demo", action="store_true", help="open the demo queue (its own store under <data dir>/demo)")
    imp = sub.add_parser("import", parents=[common], help="import folders, files and manifests (.jsonl/.csv)")
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    q = sub.add_parser("queue", parents=[common], help="list pending items in review order")
    q.add_argument("--json", action="store_true")
    q.add_argument("--limit", type=int, default=None)
    dec = sub.add_parser("decisions", parents=[common], help="decision records")
    dsub = dec.add_subparsers(dest="decisions_command", required=True, parser_class=_Parser)
    exp = dsub.add_parser("export", parents=[common], help="write the standing decisions as JSONL or CSV")
    exp.add_argument("--format", choices=export_mod.FORMATS, default="jsonl")
    exp.add_argument("--out", help="file to write (default: standard output)")
    exp.add_argument("--history", action="store_true", help="every row, undone ones and undo rows included")
    demo = sub.add_parser("demo", parents=[common], help="create the demo queue and print where it is")
    demo.add_argument("--json", action="store_true")
    aud = sub.add_parser("audit", parents=[common], help="the append-only audit log")
    aud.add_argument("audit_command", choices=["verify"])
    expo = sub.add_parser("exposure", parents=[common], help="unfiltered exposure by day and category")
    expo.add_argument("--json", action="store_true")
    expo.add_argument("--all-actors", action="store_true", help="everyone's exposure, not only --actor's")
    _add_preview(sub.add_parser("preview", parents=[common], help="write what the desk would show as PNG"))
    st = sub.add_parser("settings", parents=[common], help="show or change your per-user settings")
    st.add_argument("--set", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[])
    st.add_argument("--json", action="store_true")
    return parser


def _add_preview(p: argparse.ArgumentParser) -> None:
    p.add_argument("file")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--blur", type=int, default=None, help="0 (off) … 6; default: the policy's for --category")
    p.add_argument("--grayscale", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--pixelate", type=int, default=0)
    p.add_argument("--style", choices=["drawing"], default=None)
    p.add_argument("--category", default=None, help="apply the policy's filter for this category")
    p.add_argument("--size", default="1920x1080", help="WxH to fit inside (default 1920x1080)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = args.command or "desk"
    if name == "desk" and not hasattr(args, "demo"):
        args.demo = False
    try:
        return COMMANDS[name](args)
    except (UsageError, PolicyError, KeymapError, SettingsError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (sqlite3.DatabaseError, OSError) as exc:
        return _fail(f"store problem: {exc}", EXIT_NOTHING)


def _fail(message: str, code: int) -> int:
    print(f"moderator: error: {message}", file=sys.stderr)
    return code


def open_store(args: argparse.Namespace, *, demo: bool = False):
    from storage.store import Store

    base = data_dir(args.data_dir)
    if base.exists() and not base.is_dir():
        raise UsageError(f"data dir {base} is not a folder")
    return Store(demo_dir(base) if demo else base)


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


@command("desk")
def _desk(args: argparse.Namespace) -> int:
    from ui.app import run_desk  # Qt is imported only when a window is asked for

    return run_desk(args)


@command("import")
def _import(args: argparse.Namespace) -> int:
    from moderator.ingest import ImportUsageError, collect, import_paths

    try:
        collect(args.paths)  # usage errors surface before the store is touched
    except ImportUsageError as exc:
        raise UsageError(str(exc)) from None
    with open_store(args) as store:
        report = import_paths(store, args.paths, actor_of(args))
    if args.json:
        print_json({"imported": report.imported, "skipped": [asdict(s) for s in report.skipped]})
    else:
        for s in report.skipped:
            print(f"skipped {s.origin}: {s.reason}", file=sys.stderr)
        print(report.summary)
    return EXIT_OK if report.imported else EXIT_NOTHING


@command("queue")
def _queue(args: argparse.Namespace) -> int:
    from storage import items as items_repo

    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    with open_store(args) as store:
        items = items_repo.queue(store.db, limit=args.limit)
    if args.json:
        print_json([{**asdict(i), "kind": i.kind.value, "status": i.status.value} for i in items])
        return EXIT_OK
    for i in items:
        due = i.sla_due_at or "-"
        print(f"{i.id}  p{i.priority}  due {due}  {i.kind.value:5}  {i.category or '-':14}  {i.external_id or i.source_name}")
    print(f"{len(items)} pending")
    return EXIT_OK


@command("decisions")
def _decisions(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        rows = export_mod.export_rows(store.db, include_history=args.history)
    text = export_mod.render(rows, args.format)
    if args.out:
        write_atomically(Path(args.out), text)
        print(f"wrote {len(rows)} decisions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


@command("demo")
def _demo(args: argparse.Namespace) -> int:
    from moderator.demo import ensure_demo

    with open_store(args, demo=True) as store:
        report = ensure_demo(store, actor_of(args))
        where = str(store.data_dir)
    made = len(report.imported) if report else 0
    if args.json:
        print_json({"data_dir": where, "created": made})
    else:
        print(f"demo store: {where} ({'created ' + str(made) + ' items' if report else 'already there'})")
    return EXIT_OK


@command("audit")
def _audit(args: argparse.Namespace) -> int:
    from storage import audit

    with open_store(args) as store:
        broken = audit.verify(store.db)
        total = store.db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    if broken is not None:
        return _fail(f"audit log broken at entry {broken} (of {total})", EXIT_NOTHING)
    print(f"audit log intact: {total} entries")
    return EXIT_OK


@command("exposure")
def _exposure(args: argparse.Namespace) -> int:
    from moderator.wellness import exposure_summary

    with open_store(args) as store:
        rows = exposure_summary(store.db, None if args.all_actors else actor_of(args))
    if args.json:
        print_json(rows)
        return EXIT_OK
    for r in rows:
        print(f"{r['day']}  {r['category'] or '-':16} {r['kind']:9} {r['ms'] / 1000:8.1f} s  "
              f"{r['events']} events, {r['items']} items, mean fraction {r['mean_fraction']}")
    total = sum(r["ms"] for r in rows)
    print(f"total {total / 1000:.1f} s")
    return EXIT_OK


@command("preview")
def _preview(args: argparse.Namespace) -> int:
    from blurring.errors import MediaError
    from blurring.preview import render_preview, to_png

    spec = _preview_spec(args)
    size = _parse_size(args.size)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: no such folder {out.parent}")
    if not Path(args.file).is_file():
        raise UsageError(f"no such file: {args.file}")
    try:
        image = render_preview(args.file, spec, size)
    except MediaError as exc:
        return _fail(f"{args.file}: {exc.reason}", EXIT_NOTHING)
    to_png(image, out)
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]}, blur {spec.blur}, "
          f"{'grayscale' if spec.grayscale else 'colour'}{', ' + spec.style if spec.style else ''})")
    return EXIT_OK


def _preview_spec(args: argparse.Namespace):
    from dataclasses import replace

    policy = load_policy_of(args)
    spec = policy.filter_for(args.category)
    changes = {k: v for k, v in (("blur", args.blur), ("grayscale", args.grayscale)) if v is not None}
    if not 0 <= changes.get("blur", 0) <= 6 or not 0 <= args.pixelate <= 6:
        raise UsageError("--blur and --pixelate take 0..6")
    return replace(spec, pixelate=args.pixelate, style=args.style or spec.style, **changes)


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 1920x1080, got {text!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise UsageError("--size must be between 16x16 and 8192x8192")
    return w, h


@command("settings")
def _settings(args: argparse.Namespace) -> int:
    import dataclasses
    import tomllib

    from moderator.settings import from_dict, load_settings, save_settings, settings_path

    current = load_settings()
    if args.set:
        changes = dict(dataclasses.asdict(current))
        for name, raw in args.set:
            try:
                changes[name] = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                changes[name] = raw  # a bare word is a string
        current = from_dict(changes).validate()  # all or nothing: one bad value changes nothing
        save_settings(current)
    values = dataclasses.asdict(current)
    if args.json:
        print_json({"path": str(settings_path()), **values})
    else:
        print(f"# {settings_path()}")
        for k, v in values.items():
            print(f"{k} = {v!r}")
    return EXIT_OK
