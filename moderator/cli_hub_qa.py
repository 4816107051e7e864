"""`moderator hub qa sample`: a QA batch drawn from the hub's decisions (upstream.qa), leased to `qa`
users through POST /v1/qa/leases. `upstream` is imported inside the handler, as in cli_hub_admin.py."""

from __future__ import annotations

import argparse
import json
import secrets
import sys

from moderator.cli_common import EXIT_NOTHING, EXIT_OK, UsageError, actor_of, bounded_int, fail, shown
from moderator.cli_hub import hub_command
from moderator.cli_hub_admin import _database_errors as database_errors
from moderator.cli_hub_admin import hub_engine
from moderator.cli_qa import SEED_MAX, _percent


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


@hub_command("qa")
@database_errors
def _qa(args: argparse.Namespace) -> int:
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
    records = [{"decision_uuid": p.decision.uuid, "item_id": p.decision.item_id, "actor": p.decision.actor,
                "labels": list(p.decision.labels), "action": p.decision.action.value,
                "source": p.decision.source.value, "decided_at": p.decision.decided_at, "stratum": p.stratum,
                "batch_id": batch.batch_id, "task_id": task_id}
               for p, task_id in zip(batch.picks, batch.task_ids, strict=True)]
    if args.json:
        sys.stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    else:
        for r in records:
            print(f"{r['decision_uuid']}  {shown(r['actor'])}  {';'.join(r['labels']) or r['action']}"
                  f"{'  [' + r['stratum'] + ']' if r['stratum'] else ''}")
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
