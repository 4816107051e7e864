"""Review commands: the desk, import, queue, decisions export and import, demo, audit."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    actor_of,
    bounded_int,
    check_out_path,
    command,
    emit,
    fail,
    load_policy_of,
    one_line,
    open_store,
    print_json,
    shown,
)
from moderator.cli_history import add_import_parser, run_import

EXPORT_FORMATS = ("jsonl", "csv")  # moderator.export.FORMATS, without importing it for --help (a test checks)


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    desk = sub.add_parser("desk", parents=[common], help="open the review desk (the default)")
    desk.add_argument("--demo", action="store_true", help="open the demo queue (its own store under <data dir>/demo)")
    desk.add_argument("--qa", action="store_true",
                      help="blind QA re-review of your QA tasks (`moderator qa sample`); with --demo, a sample is made")
    imp = sub.add_parser("import", parents=[common], help="import folders, files and manifests (.jsonl/.csv)")
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.add_argument("--allow-outside", action="store_true",
                     help="let manifest paths be absolute or leave the manifest's folder (../)")
    imp.add_argument("--progress", action="store_true", help="print DONE/TOTAL to standard error after each file")
    imp.add_argument("--allow-duplicates", action="store_true",
                     help="import a file whose content is already in the store as a new report (default: skip it)")
    q = sub.add_parser("queue", parents=[common], help="list pending items in review order")
    q.add_argument("--json", action="store_true")
    q.add_argument("--limit", type=bounded_int(0, 10_000_000), default=None, help="at most this many items")
    dec = sub.add_parser("decisions", parents=[common], help="decision records")
    dsub = dec.add_subparsers(dest="decisions_command", required=True, parser_class=type(common))
    exp = dsub.add_parser("export", parents=[common], help="write the standing decisions as JSONL or CSV")
    exp.add_argument("--format", choices=EXPORT_FORMATS, default="jsonl")
    exp.add_argument("--out", help="file to write (default: standard output)")
    exp.add_argument("--history", action="store_true", help="every row, undone ones and undo rows included")
    add_import_parser(dsub, common)
    demo = sub.add_parser("demo", parents=[common], help="create the demo queue and print where it is")
    demo.add_argument("--json", action="store_true")
    aud = sub.add_parser("audit", parents=[common], help="the append-only audit log")
    aud.add_argument("audit_command", choices=["verify"])
    aud.add_argument("--json", action="store_true", help="print the report, every problem listed, as JSON")


@command("desk")
def _desk(args: argparse.Namespace) -> int:
    import gc

    # No cyclic garbage collection until the first item is on screen (ui.app turns it back on and
    # freezes what start-up made): its passes over the objects the imports create cost 65-160 ms.
    gc.disable()
    try:
        from ui.app import run_desk  # Qt is imported only when a window is asked for

        return run_desk(args)
    finally:
        gc.enable()


@command("import")
def _import(args: argparse.Namespace) -> int:
    from moderator.importing import import_and_match
    from moderator.ingest import ImportUsageError, collect

    policy = load_policy_of(args)
    try:  # usage errors (and every manifest row's checks) surface before the store is touched
        collect(args.paths, policy, allow_outside=args.allow_outside)
    except ImportUsageError as exc:
        raise UsageError(str(exc)) from None
    with open_store(args) as store:
        outcome = import_and_match(store, args.paths, actor_of(args), policy,
                                   _progress_printer() if args.progress else None,
                                   allow_outside=args.allow_outside, allow_duplicates=args.allow_duplicates)
    report, matched = outcome.report, outcome.matching
    if args.json:
        print_json({"imported": report.imported, "skipped": [asdict(s) for s in report.skipped],
                    "matching": matched.text if matched else None})
    else:
        for s in report.skipped:
            print(f"skipped {shown(s.origin)}: {one_line(s.reason)}", file=sys.stderr)
        print(outcome.text)
    return EXIT_OK if report.imported else EXIT_NOTHING


def _progress_printer():
    return lambda done, total: print(f"{done}/{total}", file=sys.stderr, flush=True)


@command("queue")
def _queue(args: argparse.Namespace) -> int:
    from moderator.settings import load_settings
    from storage import items as items_repo

    with open_store(args, readonly=True) as store:
        items = items_repo.queue(store.db, limit=args.limit, golden_rate=load_settings().golden_rate)
    if args.json:
        # vars(), not asdict(): an Item holds no dataclass inside, and asdict's deep copy was most of the
        # time at 5,000 items (bench/bench_startup.py); the JSON is the same.
        print_json([{**vars(i), "kind": i.kind.value, "status": i.status.value} for i in items])
        return EXIT_OK
    for i in items:
        due = i.sla_due_at or "-"
        print(f"{i.id}  p{i.priority}  due {due}  {i.kind.value:5}  {i.category or '-':14}  {shown(i.external_id or i.source_name)}")
    print(f"{len(items)} pending")
    return EXIT_OK


@command("decisions")
def _decisions(args: argparse.Namespace) -> int:
    if args.decisions_command == "import":
        return run_import(args)
    out = check_out_path(args.out) if args.out else None
    with open_store(args, readonly=True) as store:
        from moderator import export as export_mod

        rows = export_mod.export_rows(store.db, include_history=args.history)
    text = export_mod.render(rows, args.format)
    emit(text, out, len(rows), "decisions")
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
    """verify: the whole file (what the open does not check: docs/AUDIT.md), then the chain, every row
    against its entry and the anchor; one line per problem and exit 1 when there is any. Read-only, so
    an evidence copy can be checked."""
    from storage import audit, audit_check
    from storage.store import check_integrity

    with open_store(args, readonly=True) as store:
        check_integrity(store.db, store.path, whole_file=True)  # StoreError: one line, exit 1
        try:
            key = audit.load_key(store.data_dir)
        except audit.AuditKeyError as exc:
            raise UsageError(str(exc)) from None
        report = audit_check.check(store.db, audit.anchor_path(store.path), key)
    if args.json:
        print_json(report.as_json())
    else:
        for problem in report.problems:
            print(f"problem: {one_line(problem.message)}")
    rows = ", ".join(f"{n} {view}" for view, n in report.rows.items())
    keyed = f", {report.keyed} keyed" if report.keyed else ""
    if not report.ok:
        return fail(f"audit log not intact: {len(report.problems)} problems ({report.entries} entries{keyed})",
                    EXIT_NOTHING)
    if not args.json:
        print(f"audit log intact: {report.entries} entries{keyed}; rows checked: {rows}; anchor matches")
    return EXIT_OK
