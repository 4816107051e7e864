"""Review commands: the desk, import, queue, decisions export, demo, audit."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from moderator import export as export_mod
from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    actor_of,
    command,
    fail,
    load_policy_of,
    open_store,
    print_json,
    write_atomically,
)


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    desk = sub.add_parser("desk", parents=[common], help="open the review desk (the default)")
    desk.add_argument("--demo", action="store_true", help="open the demo queue (its own store under <data dir>/demo)")
    imp = sub.add_parser("import", parents=[common], help="import folders, files and manifests (.jsonl/.csv)")
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    q = sub.add_parser("queue", parents=[common], help="list pending items in review order")
    q.add_argument("--json", action="store_true")
    q.add_argument("--limit", type=int, default=None)
    dec = sub.add_parser("decisions", parents=[common], help="decision records")
    dsub = dec.add_subparsers(dest="decisions_command", required=True, parser_class=type(common))
    exp = dsub.add_parser("export", parents=[common], help="write the standing decisions as JSONL or CSV")
    exp.add_argument("--format", choices=export_mod.FORMATS, default="jsonl")
    exp.add_argument("--out", help="file to write (default: standard output)")
    exp.add_argument("--history", action="store_true", help="every row, undone ones and undo rows included")
    demo = sub.add_parser("demo", parents=[common], help="create the demo queue and print where it is")
    demo.add_argument("--json", action="store_true")
    aud = sub.add_parser("audit", parents=[common], help="the append-only audit log")
    aud.add_argument("audit_command", choices=["verify"])


@command("desk")
def _desk(args: argparse.Namespace) -> int:
    from ui.app import run_desk  # Qt is imported only when a window is asked for

    return run_desk(args)


@command("import")
def _import(args: argparse.Namespace) -> int:
    from moderator.ingest import ImportUsageError, collect, import_paths
    from moderator.matching import match_pending
    from storage import banks as banks_repo

    try:
        collect(args.paths)  # usage errors surface before the store is touched
    except ImportUsageError as exc:
        raise UsageError(str(exc)) from None
    policy = load_policy_of(args)
    with open_store(args) as store:
        report = import_paths(store, args.paths, actor_of(args))
        matched = None
        if report.imported and banks_repo.list_banks(store.db, counts=False):
            matched = match_pending(store, policy)  # hash, match and route what just arrived
    if args.json:
        print_json({"imported": report.imported, "skipped": [asdict(s) for s in report.skipped],
                    "matching": matched.text if matched else None})
    else:
        for s in report.skipped:
            print(f"skipped {s.origin}: {s.reason}", file=sys.stderr)
        print(report.summary + (f"; bank matching: {matched.text}" if matched else ""))
    return EXIT_OK if report.imported else EXIT_NOTHING


@command("queue")
def _queue(args: argparse.Namespace) -> int:
    from storage import items as items_repo

    if args.limit is not None and args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    with open_store(args, create=False) as store:
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
    if args.out and not Path(args.out).expanduser().parent.is_dir():
        raise UsageError(f"cannot write {args.out}: no such folder {Path(args.out).parent}")
    with open_store(args, create=False) as store:
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

    with open_store(args, create=False) as store:
        broken = audit.verify(store.db)
        total = store.db.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    if broken is not None:
        return fail(f"audit log broken at entry {broken} (of {total})", EXIT_NOTHING)
    print(f"audit log intact: {total} entries")
    return EXIT_OK
