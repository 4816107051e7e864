"""`moderator report`: the QA and KPI numbers of the stored decisions, as JSON or one HTML file."""

from __future__ import annotations

import argparse
import sys

from moderator.cli_common import (
    EXIT_NOTHING,
    EXIT_OK,
    UsageError,
    check_out_path,
    command,
    fail,
    open_store,
    print_json,
    shown,
    write_atomically,
)


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    rep = sub.add_parser("report", parents=[common],
                         help="QA agreement and KPIs of the stored decisions (docs/REPORT.md)")
    rep.add_argument("--json", action="store_true", help="print the report as JSON (its shape: docs/REPORT.md)")
    rep.add_argument("--since", metavar="DATE", help="first UTC day of decisions counted (YYYY-MM-DD)")
    rep.add_argument("--until", metavar="DATE", help="last UTC day of decisions counted (YYYY-MM-DD)")
    rep.add_argument("--out", metavar="FILE", help="write the report as one self-contained HTML file")


@command("report")
def _report(args: argparse.Namespace) -> int:
    from moderator.report import ReportDataError, ReportError, build_report, parse_day

    try:  # every usage error before the store is opened or anything is drawn
        since = parse_day(args.since, "--since") if args.since else None
        until = parse_day(args.until, "--until") if args.until else None
        out = check_out_path(args.out) if args.out else None
        with open_store(args, readonly=True) as store:
            report = build_report(store.db, since, until)
    except ReportDataError as exc:
        return fail(str(exc), EXIT_NOTHING)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    if out:
        from moderator.report_html import render_html  # matplotlib only when a chart is asked for

        write_atomically(out, render_html(report))
        print(f"wrote the report to {shown(out)}", file=sys.stderr)
    if args.json:
        print_json(report)
    elif not out:
        _print_summary(report)
    return EXIT_OK


def _print_summary(report: dict) -> None:
    k, q = report["kpis"]["overall"], report["qa"]["overall"]

    def pct(v):
        return "n/a" if v is None else f"{v * 100:.1f} %"

    def sec(v):
        return "n/a" if v is None else f"{v / 1000:.1f} s"

    r = report["range"]
    print(f"{r['first_day'] or '-'} .. {r['last_day'] or '-'} (UTC)")
    print(f"decisions {k['decided']}, bank auto-actions {k['bank_auto_actions']}, handle median {sec(k['median_handle_ms'])}"
          f" p90 {sec(k['p90_handle_ms'])}, SLA adherence {pct(k['sla_adherence'])}, escalation rate "
          f"{pct(k['escalation_rate'])}, undo rate {pct(k['undo_rate'])}, exposure {sec(k['exposure_ms'])}")
    kappa = "n/a" if q["kappa"] is None else f"{q['kappa']:.3f}"
    print(f"QA judgements {q['n']}, agreement {pct(q['agreement'])}, kappa {kappa}, coverage "
          f"{pct(report['qa']['coverage']['fraction'])}; backlog {report['kpis']['backlog']['size']}")
    print("(--json for every number, --out report.html for the charts)")
