"""`moderator hub qa sample`: a QA batch drawn from the hub's decisions (upstream.qa), leased to `qa`
users through POST /v1/qa/leases; `hub qa golden import`: items with a known answer, into the hub's
queue as `hub import` puts items in. `upstream` is imported inside the handlers, as in cli_hub_admin.py."""

from __future__ import annotations

import argparse
import secrets
import sys

from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    actor_of,
    bounded_int,
    fail,
    one_line,
    print_json,
    shown,
)
from moderator.cli_hub import hub_command, hub_data_dir
from moderator.cli_hub_admin import _database_errors as database_errors
from moderator.cli_hub_admin import hub_engine
from moderator.cli_qa import SEED_MAX, _percent, print_sample


def add_parsers(hsub, hub_common: argparse.ArgumentParser) -> None:
    qa = hsub.add_parser("qa", parents=[hub_common], help="QA on the hub: sample decisions for qa users to re-review")
    qsub = qa.add_subparsers(dest="hub_qa_command", required=True, parser_class=type(hub_common))
    s = qsub.add_parser("sample", parents=[hub_common],
                        help="draw a batch of the hub's decisions for qa users to lease and re-review")
    size = s.add_mutually_exclusive_group(required=True)
    size.add_argument("--count", type=bounded_int(1, 10_000_000), metavar="N", help="this many decisions")
    size.add_argument("--percent", type=_percent, metavar="P", help="this share of the decisions that qualify")
    s.add_argument("--strategy", choices=("random", "stratified", "targeted"), default="random",
                   help="stratified: by moderator and label; targeted: bank auto-actions, very short handle "
                        "times, escalations, decisions after an undo")
    s.add_argument("--seed", type=bounded_int(0, SEED_MAX), metavar="S",
                   help="the same seed over the same history draws the same sample (default: a new one, printed)")
    s.add_argument("--analyst", metavar="NAME",
                   help="the qa user the batch is for (default: any qa user; nobody gets their own decisions)")
    s.add_argument("--json", action="store_true", help="one JSON record per sampled decision")
    g = qsub.add_parser("golden", parents=[hub_common], help="golden items on the hub: media with a known answer")
    gsub = g.add_subparsers(dest="golden_command", required=True, parser_class=type(hub_common))
    gi = gsub.add_parser("import", parents=[hub_common],
                         help="import files, folders or manifests (a golden_label per row) into the hub as golden items")
    gi.add_argument("paths", nargs="+", metavar="PATH")
    gi.add_argument("--label", action="append", default=[], metavar="L",
                    help="the known answer of plain files and of manifest rows without golden_label (repeatable)")
    gi.add_argument("--allow-outside", action="store_true",
                    help="let manifest paths be absolute or leave the manifest's folder (../)")
    gi.add_argument("--json", action="store_true")


@hub_command("qa")
@database_errors
def _qa(args: argparse.Namespace) -> int:
    return _golden_import(args) if args.hub_qa_command == "golden" else _sample(args)


def _sample(args: argparse.Namespace) -> int:
    from moderator.qa_sampling import SampleError
    from upstream.auth import list_users
    from upstream.db import write_tx
    from upstream.qa import sample_batch

    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    with hub_engine(args, create=False) as engine, write_tx(engine) as conn:
        if args.analyst is not None:
            _check_analyst(list_users(conn), args.analyst)
        try:
            batch = sample_batch(conn, actor_of(args), args.strategy, seed, analyst=args.analyst,
                                 count=args.count, percent=args.percent)
        except SampleError as exc:
            return fail(str(exc), EXIT_NOTHING)
    records = print_sample(batch, as_json=args.json)
    whom = shown(args.analyst) if args.analyst else "any qa user"
    print(f"hub QA batch {batch.batch_id}: {len(records)} of {batch.pool} decisions ({args.strategy}, seed {seed}) "
          f"for {whom}", file=sys.stderr)
    return EXIT_OK


def _check_analyst(users, name: str) -> None:
    found = next((u for u in users if u.name == name), None)
    if found is None or found.revoked_at is not None:
        raise UsageError(f"no active hub user {shown(name)} (moderator hub user add {name} --role qa)")
    if found.role != "qa":
        raise UsageError(f"{shown(name)} is a {found.role}: QA batches are for qa users (only they lease QA work)")


def _golden_import(args: argparse.Namespace) -> int:
    """The answers are checked against the hub's policy before anything is imported (golden.check_golden);
    then the items go in as `hub import` puts them in, and are marked golden in one transaction."""
    from moderator.golden import EXTRA, answer_of, check_golden
    from moderator.ingest import ImportUsageError
    from upstream.db import write_tx
    from upstream.hub_import import hub_policy, import_into_hub
    from upstream.qa import add_golden

    with hub_engine(args, create=False) as engine:
        policy = hub_policy(engine, args.policy)
        try:
            check_golden(args.paths, policy, label=args.label, allow_outside=args.allow_outside)
            report = import_into_hub(engine, hub_data_dir(args), args.paths, policy,
                                     allow_outside=args.allow_outside, extra=EXTRA)
        except ImportUsageError as exc:
            raise UsageError(str(exc)) from None
        golden = [(item_id, answer_of(report.entries[item_id], policy, args.label), report.entries[item_id].origin)
                  for item_id in report.imported]
        if golden:
            with write_tx(engine) as conn:
                add_golden(conn, actor_of(args), golden)
    if args.json:
        print_json({"golden": [{"item_id": i, "labels": list(a)} for i, a, _ in golden],
                    "skipped": [{"path": s.origin, "reason": s.reason} for s in report.skipped]})
    else:
        for s in report.skipped:
            print(f"skipped {shown(s.origin)}: {one_line(s.reason)}", file=sys.stderr)
        print(f"golden items: {report.summary}")
    return EXIT_OK if golden else EXIT_NOTHING
