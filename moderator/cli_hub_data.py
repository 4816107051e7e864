"""`moderator hub import`, `hub decisions export` and `hub status`: putting work into the hub and
reading off it. `upstream` is imported inside the handlers, as in moderator/cli_hub_admin.py."""

from __future__ import annotations

import argparse
import sys

from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    check_out_path,
    emit,
    load_policy_of,
    one_line,
    print_json,
    shown,
)
from moderator.cli_hub import hub_command, hub_data_dir
from moderator.cli_hub_admin import _database_errors as database_errors
from moderator.cli_hub_admin import hub_engine
from moderator.clock import iso, parse_iso

FORMATS = ("jsonl", "csv")


def add_parsers(hsub, hub_common: argparse.ArgumentParser) -> None:
    """Adds import, decisions and status; handlers registered with moderator.cli_hub.hub_command."""
    imp = hsub.add_parser("import", parents=[hub_common],
                          help="put folders, files and manifests (.jsonl/.csv) into the hub's queue")
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.add_argument("--allow-outside", action="store_true",
                     help="let manifest paths be absolute or leave the manifest's folder (../)")
    imp.add_argument("--allow-duplicates", action="store_true",
                     help="import a file whose content is already on the hub as a new report (default: skip it)")
    dec = hsub.add_parser("decisions", parents=[hub_common], help="the hub's decision records")
    dsub = dec.add_subparsers(dest="decisions_command", required=True, parser_class=type(hub_common))
    exp = dsub.add_parser("export", parents=[hub_common],
                          help="every decision the hub holds (accepted and conflict) as JSONL or CSV")
    exp.add_argument("--format", choices=FORMATS, default="jsonl")
    exp.add_argument("--out", help="file to write (default: standard output)")
    exp.add_argument("--since", type=_iso_time, metavar="ISO", help="only decisions received at or after this time")
    st = hsub.add_parser("status", parents=[hub_common],
                         help="items by state, leases out, the oldest item, today's decisions, suspect desks")
    st.add_argument("--json", action="store_true")


def _iso_time(text: str) -> str:
    try:
        return iso(parse_iso(text))
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time like 2026-01-31T09:00:00Z, got {text!r}") \
            from None


@hub_command("import")
@database_errors
def _import(args: argparse.Namespace) -> int:
    from moderator.ingest import ImportUsageError, collect
    from upstream.hub_import import hub_policy, import_into_hub

    try:  # usage errors (a missing path, an unreadable manifest) before the hub is touched
        collect(args.paths, load_policy_of(args), allow_outside=args.allow_outside)
        with hub_engine(args, create=True) as engine:
            report = import_into_hub(engine, hub_data_dir(args), args.paths, hub_policy(engine, args.policy),
                                     allow_outside=args.allow_outside, allow_duplicates=args.allow_duplicates)
    except ImportUsageError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print_json({"imported": report.imported,
                    "skipped": [{"path": s.origin, "reason": s.reason} for s in report.skipped],
                    "matched": report.matched, "routed": report.routed})
    else:
        for s in report.skipped:
            print(f"skipped {shown(s.origin)}: {one_line(s.reason)}", file=sys.stderr)
        print(report.summary)
    return EXIT_OK if report.imported else EXIT_NOTHING


@hub_command("decisions")
@database_errors
def _decisions(args: argparse.Namespace) -> int:
    from moderator.export import render
    from upstream.db import read_tx
    from upstream.reports import EXPORT_COLUMNS, decision_rows

    out = check_out_path(args.out) if args.out else None
    with hub_engine(args, create=False) as engine, read_tx(engine) as conn:
        rows = decision_rows(conn, args.since)
    text = render(rows, args.format, EXPORT_COLUMNS)
    emit(text, out, len(rows), "decisions")
    return EXIT_OK


@hub_command("status")
@database_errors
def _status(args: argparse.Namespace) -> int:
    from moderator.clock import utc_now
    from upstream.db import read_tx
    from upstream.reports import hub_status

    with hub_engine(args, create=False) as engine, read_tx(engine) as conn:
        status = hub_status(conn, utc_now())
    if args.json:
        print_json(status)
    else:
        for name, value in _status_lines(status):
            print(f"{name:<11} {value}")
    return EXIT_OK


def _status_lines(s: dict) -> list[tuple[str, str]]:
    i, leases, today = s["items"], s["leases"], s["decisions_today"]
    desks = ", ".join(f"{shown(d)} {n}" for d, n in leases["by_desk"].items())
    teams = ", ".join(f"{shown(t['team']) if t['team'] else '(no team)'} {t['accepted']}+{t['conflict']}"
                      for t in today["by_team"])
    lines = [
        ("items", f"pending {i['pending']}  leased {i['leased']}  decided {i['decided']}  escalated {i['escalated']}"),
        ("leases", f"{leases['live']} live" + (f" ({desks})" if desks else "")),
        ("oldest", _oldest_line(s["oldest"])),
        ("today", f"{today['day']} UTC: accepted {today['accepted']}, conflict {today['conflict']}"
                  + (f" (per team, accepted+conflict: {teams})" if teams else "")),
    ]
    heads = s["desk_heads"]
    lines += [("desk heads", "all extend their previous push")] if not heads else [
        ("desk heads" if n == 0 else "", f"desk {shown(h['desk'])} ({shown(h['actor'])}): {h['text']}")
        for n, h in enumerate(heads)]
    return lines


def _oldest_line(oldest: dict | None) -> str:
    if oldest is None:
        return "no open items"
    hours, rest = divmod(oldest["age_s"], 3600)
    return f"{oldest['id']}  age {hours}h {rest // 60:02d}m  SLA due {oldest['sla_due_at'] or '-'}"

