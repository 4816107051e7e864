"""QA commands: `moderator qa sample` (a batch of decisions to re-review), `qa golden import` (items with
a known answer), `qa list` (the batches and what became of their tasks). docs/QA.md."""

from __future__ import annotations

import argparse
import json
import math
import secrets
import sys
from datetime import datetime, timedelta

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
    shown,
)
from moderator.clock import parse_iso

SEED_MAX = 2**63 - 1


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    qa = sub.add_parser("qa", parents=[common], help="QA: sample decisions to re-review, golden items, batches")
    qsub = qa.add_subparsers(dest="qa_command", required=True, parser_class=type(common))
    s = qsub.add_parser("sample", parents=[common], help="draw a batch of decisions for you (--actor) to re-review")
    size = s.add_mutually_exclusive_group(required=True)
    size.add_argument("--count", type=bounded_int(1, 10_000_000), metavar="N", help="this many decisions")
    size.add_argument("--percent", type=_percent, metavar="P", help="this share of the decisions that qualify")
    s.add_argument("--strategy", choices=("random", "stratified", "targeted"), default="random",
                   help="stratified: by moderator and label; targeted: bank auto-actions, very short handle "
                        "times, escalations, decisions after an undo")
    s.add_argument("--moderator", metavar="M", help="only decisions by this moderator")
    s.add_argument("--label", metavar="L", help="only decisions with this label")
    s.add_argument("--since", type=_since, metavar="DATE", help="only decisions at or after (YYYY-MM-DD or ISO time)")
    s.add_argument("--until", type=_until, metavar="DATE",
                   help="only decisions before the end of this day (or before this ISO time)")
    s.add_argument("--seed", type=bounded_int(0, SEED_MAX), metavar="S",
                   help="the same seed over the same history draws the same sample (default: a new one, printed)")
    s.add_argument("--json", action="store_true", help="one JSON record per sampled decision")
    g = qsub.add_parser("golden", parents=[common], help="golden items: media with a known answer")
    gsub = g.add_subparsers(dest="golden_command", required=True, parser_class=type(common))
    gi = gsub.add_parser("import", parents=[common],
                         help="import files, folders or manifests (a golden_label per row) as golden items")
    gi.add_argument("paths", nargs="+", metavar="PATH")
    gi.add_argument("--label", action="append", default=[], metavar="L",
                    help="the known answer of plain files and of manifest rows without golden_label (repeatable)")
    gi.add_argument("--seed", type=bounded_int(0, SEED_MAX), metavar="S", help="the order they are mixed in")
    gi.add_argument("--allow-outside", action="store_true",
                    help="let manifest paths be absolute or leave the manifest's folder (../)")
    gi.add_argument("--json", action="store_true")
    lst = qsub.add_parser("list", parents=[common], help="QA batches and the state of their tasks")
    lst.add_argument("--json", action="store_true")


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"must be over 0 and at most 100, got {text}")
    return value


def _when(text: str, end_of_day: bool) -> datetime:
    try:
        when = parse_iso(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected a date like 2026-01-31 or an ISO 8601 time, got {text!r}") \
            from None
    is_date = len(text.strip()) == 10  # YYYY-MM-DD: the whole day
    return when + timedelta(days=1) if end_of_day and is_date else when


def _since(text: str) -> datetime:
    return _when(text, end_of_day=False)


def _until(text: str) -> datetime:
    return _when(text, end_of_day=True)


@command("qa")
def _qa(args: argparse.Namespace) -> int:
    if args.qa_command == "sample":
        return _sample(args)
    if args.qa_command == "golden":
        return _golden_import(args)
    return _list(args)


def _sample(args: argparse.Namespace) -> int:
    from moderator.qa_sampling import Filters, SampleError
    from moderator.qa_service import sample_batch

    analyst = actor_of(args)
    if args.since and args.until and args.since >= args.until:
        raise UsageError("--since must be before --until")
    if args.moderator == analyst:
        raise UsageError(f"{analyst} cannot re-review their own decisions: sample another moderator")
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    filters = Filters(moderator=args.moderator, label=args.label, since=args.since, until=args.until)
    with open_store(args, create=False) as store:
        _check_filters(store.db, load_policy_of(args), filters)
        try:
            batch = sample_batch(store, analyst, args.strategy, seed, count=args.count, percent=args.percent,
                                 filters=filters)
        except SampleError as exc:
            return fail(str(exc), EXIT_NOTHING)
    records = print_sample(batch, as_json=args.json)
    print(f"QA batch {batch.batch_id}: {len(records)} of {batch.pool} decisions ({args.strategy}, seed {seed}) "
          f"for {shown(analyst)}", file=sys.stderr)
    return EXIT_OK


def _check_filters(db, policy, filters) -> None:
    """A moderator with no decisions, or a label neither the policy nor any decision knows, is a typo."""
    if filters.moderator and not db.execute("SELECT 1 FROM decisions WHERE actor = ? LIMIT 1",
                                            (filters.moderator,)).fetchone():
        raise UsageError(f"no decisions by moderator {shown(filters.moderator)}")
    if filters.label:
        known = {lb.name for lb in policy.labels} | {"escalate"}
        used = db.execute("SELECT 1 FROM decisions, json_each(decisions.labels) WHERE json_each.value = ? LIMIT 1",
                          (filters.label,)).fetchone()
        if filters.label not in known and not used:
            raise UsageError(f"unknown label {shown(filters.label)} (known: {', '.join(sorted(known))})")


def _golden_import(args: argparse.Namespace) -> int:
    from moderator.golden import check_golden, import_golden
    from moderator.ingest import ImportUsageError

    policy = load_policy_of(args)
    try:  # every path, manifest row and answer is checked before the store is touched
        check_golden(args.paths, policy, label=args.label, allow_outside=args.allow_outside)
    except ImportUsageError as exc:
        raise UsageError(str(exc)) from None
    with open_store(args) as store:
        report = import_golden(store, args.paths, actor_of(args), policy, label=args.label, seed=args.seed,
                               allow_outside=args.allow_outside)
    imported = report.outcome.report
    if args.json:
        print_json({"golden": [{"item_id": i, "labels": list(a)} for i, a in report.golden],
                    "skipped": [{"origin": s.origin, "reason": s.reason} for s in imported.skipped]})
    else:
        for s in imported.skipped:
            print(f"skipped {shown(s.origin)}: {one_line(s.reason)}", file=sys.stderr)
        print(f"golden items: {report.outcome.text}")
    return EXIT_OK if report.golden else EXIT_NOTHING


def _list(args: argparse.Namespace) -> int:
    from storage import qa as qa_repo

    with open_store(args, readonly=True) as store:
        batches = qa_repo.batches(store.db) if qa_repo.has_qa_tables(store.db) else []
    if args.json:
        print_json(batches)
        return EXIT_OK
    for b in batches:
        states = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(b["states"].items()))
        print(f"{b['id']}  {b['created_at']}  {shown(b['created_by'])}  {b['strategy']} seed {b['seed']}  {states}")
    print(f"{len(batches)} QA batches")
    return EXIT_OK


def print_sample(batch, *, as_json: bool) -> list[dict]:
    """A drawn batch on standard output, one record (JSON) or line per sampled decision; the records.
    Shared by `qa sample` and `hub qa sample`."""
    records = [{"decision_uuid": p.decision.uuid, "item_id": p.decision.item_id, "actor": p.decision.actor,
                "labels": list(p.decision.labels), "action": p.decision.action.value,
                "source": p.decision.source.value, "decided_at": p.decision.decided_at, "stratum": p.stratum,
                "batch_id": batch.batch_id, "task_id": task_id}
               for p, task_id in zip(batch.picks, batch.task_ids, strict=True)]
    if as_json:
        sys.stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    else:
        for r in records:
            print(f"{r['decision_uuid']}  {shown(r['actor'])}  {';'.join(r['labels']) or r['action']}"
                  f"{'  [' + r['stratum'] + ']' if r['stratum'] else ''}")
    return records
