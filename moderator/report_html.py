"""The report as one self-contained HTML file: the charts inline as SVG, the numbers as tables, and the
report dict itself embedded as JSON, so the file shows and carries exactly what `--json` prints.
Nothing is loaded from anywhere: no script, no stylesheet, font or image by URL (a Content-Security-
Policy says so to the browser too), so it opens the same from a USB stick on an air-gapped laptop."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

from moderator.report_charts import Chart, charts

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body { font: 14px/1.4 system-ui, "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1300px; color: #222; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { margin-top: 36px; border-bottom: 2px solid #0072B2; }
h3 { margin: 18px 0 6px; font-size: 15px; }
.meta { color: #666; } .tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.tile { border: 1px solid #ccd; border-radius: 6px; padding: 8px 12px; min-width: 140px; background: #f7f9fc; }
.tile b { display: block; font-size: 20px; } .tile span { color: #555; font-size: 12px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 12px; }
.charts figure { margin: 0; }
svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #dde; padding: 3px 8px; text-align: right; } th { background: #eef2f8; }
td:first-child, th:first-child { text-align: left; } .null { color: #999; }
.scroll { max-height: 420px; overflow: auto; display: inline-block; }
"""
NULL = '<span class="null">n/a</span>'


def _num(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _pct(value: float | None) -> str:
    return NULL if value is None else f"{value * 100:.1f} %"


def _ms(value: float | None) -> str:
    return NULL if value is None else f"{value / 1000:,.1f} s"


def _age(value: float | None) -> str:
    """A wait as a person reads it: seconds, minutes, hours or days."""
    if value is None:
        return NULL
    for unit, ms in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000)):
        if value >= ms:
            return f"{value / ms:,.1f} {unit}"
    return _ms(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, scroll: bool = False) -> str:
    """A table of already formatted (escaped) cells; header texts are escaped here."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>' if scroll else table


# The KPI block's columns: (header, key, formatter)
KPI_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("decided", "decided", _num), ("per active hour", "throughput_per_active_hour", _num),
    ("median handle", "median_handle_ms", _ms), ("p90 handle", "p90_handle_ms", _ms),
    ("SLA n", "sla_n", _num), ("SLA adherence", "sla_adherence", _pct),
    ("escalation rate", "escalation_rate", _pct), ("undo rate", "undo_rate", _pct),
    ("bank auto-actions", "bank_auto_actions", _num), ("exposure", "exposure_ms", _ms),
)


def _kpi_table(first: str, blocks: dict[str, dict[str, Any]], *, scroll: bool = False) -> str:
    rows = ([escape(name)] + [fmt(b[key]) for _, key, fmt in KPI_COLUMNS] for name, b in blocks.items())
    return _table([first] + [h for h, _, _ in KPI_COLUMNS], rows, scroll=scroll)


def _qa_table(first: str, groups: dict[str, dict[str, Any]], extra: Sequence[tuple[str, str, Callable]] = ()) -> str:
    cols = [("n", "n", _num), ("agreement", "agreement", _pct), *extra]
    rows = ([escape(name)] + [fmt(g.get(key)) for _, key, fmt in cols] for name, g in groups.items())
    return _table([first] + [h for h, _, _ in cols], rows)


def _tiles(report: dict[str, Any]) -> str:
    k, q = report["kpis"]["overall"], report["qa"]
    tiles = [
        ("moderator decisions", _num(k["decided"])), ("per active hour", _num(k["throughput_per_active_hour"])),
        ("median handle time", _ms(k["median_handle_ms"])), ("p90 handle time", _ms(k["p90_handle_ms"])),
        ("SLA adherence", _pct(k["sla_adherence"])), ("escalation rate", _pct(k["escalation_rate"])),
        ("undo rate", _pct(k["undo_rate"])), ("bank auto-actions", _num(k["bank_auto_actions"])),
        ("exposure", _ms(k["exposure_ms"])), ("QA agreement", _pct(q["overall"]["agreement"])),
        ("Cohen's kappa", _num(q["overall"]["kappa"])), ("QA coverage", _pct(q["coverage"]["fraction"])),
        ("golden accuracy", _pct(q["golden"]["overall"]["accuracy"])),
        ("backlog", _num(report["kpis"]["backlog"]["size"])),
    ]
    return '<div class="tiles">' + "".join(f'<div class="tile"><b>{v}</b><span>{escape(t)}</span></div>'
                                           for t, v in tiles) + "</div>"


def _figures(made: dict[str, Chart], *names: str) -> str:
    return '<div class="charts">' + "".join(
        f'<figure id="chart-{n}" aria-label="{escape(made[n].title)}">{made[n].svg}</figure>' for n in names) + "</div>"


CHART_ORDER = ("throughput", "throughput_by_hour", "handle_time", "sla", "exposure", "confusion",
               "agreement_by_moderator", "agreement_by_label")


def _charts(made: dict[str, Chart]) -> str:
    """Every chart first, two a row, so one screen shows the whole picture; the tables follow."""
    return "<h2>Charts</h2>" + _figures(made, *CHART_ORDER, *(n for n in made if n not in CHART_ORDER))


def _throughput(report: dict[str, Any]) -> str:
    k = report["kpis"]
    return ("<h2>Throughput, handle time and SLA</h2>"
            + "<h3>Per day (UTC)</h3>" + _kpi_table("day", k["by_day"], scroll=True)
            + "<h3>Handle-time distribution</h3>" + _histogram(k)
            + "<h3>Per hour of day (UTC)</h3>" + _kpi_table("hour", k["by_hour"], scroll=True))


def _histogram(k: dict[str, Any]) -> str:
    edges, counts = k["handle_ms_histogram"]["edges_ms"], k["handle_ms_histogram"]["counts"]
    bounds = [f"{_ms(lo)} – {_ms(edges[i + 1]) if i + 1 < len(edges) else '…'}" for i, lo in enumerate(edges)]
    return _table(["handle time", "decisions"], zip(bounds, map(_num, counts), strict=True))


def _people(report: dict[str, Any]) -> str:
    k = report["kpis"]
    return ("<h2>Moderators and teams</h2><h3>Per moderator</h3>" + _kpi_table("moderator", k["by_moderator"])
            + "<h3>Per team</h3>" + _kpi_table("team", k["by_team"]))


def _exposure(report: dict[str, Any]) -> str:
    e = report["kpis"]["exposure"]
    rows = [[escape(c), escape(kind), _ms(ms)] for c, kinds in e["by_category_kind"].items() for kind, ms in kinds.items()]
    return ("<h2>Exposure</h2>" + f"<p>Total {_ms(e['total_ms'])}.</p>"
            + _table(["category", "reveal kind", "exposure"], rows))


def _qa(report: dict[str, Any]) -> str:
    q = report["qa"]
    extra = (("kappa", "kappa", _num), ("decided", "decided", _num), ("reviewed", "reviewed", _num),
             ("coverage", "coverage", _pct))
    cov, gold = q["coverage"], q["golden"]
    gold_rows = ([escape(a), _num(g["n"]), _num(g["correct"]), _pct(g["accuracy"])]
                 for a, g in gold["by_moderator"].items())
    return ("<h2>QA</h2>"
            + f"<p>{_num(q['overall']['n'])} QA judgements: agreement {_pct(q['overall']['agreement'])}, "
            f"Cohen's kappa {_num(q['overall']['kappa'])}. Coverage: {_num(cov['reviewed'])} of "
            f"{_num(cov['decisions'])} decisions re-reviewed ({_pct(cov['fraction'])}).</p>"
            + "<h3>Per moderator</h3>" + _qa_table("moderator", q["by_moderator"], extra)
            + "<h3>Per label the moderator gave</h3>"
            + _qa_table("label", q["by_label"], (("given by QA", "qa_n", _num),))
            + "<h3>Per team</h3>" + _qa_table("team", q["by_team"], (("kappa", "kappa", _num),))
            + "<h3>Confusion matrix (rows: moderator, columns: QA)</h3>"
            + _confusion(q["confusion"])
            + f"<h3>Golden items</h3><p>{_num(gold['overall']['n'])} judged, "
            f"accuracy {_pct(gold['overall']['accuracy'])}.</p>"
            + _table(["moderator", "n", "correct", "accuracy"], gold_rows))


def _confusion(matrix: dict[str, Any]) -> str:
    labels = matrix["labels"]
    rows = ([escape(label)] + [_num(v) for v in row] for label, row in zip(labels, matrix["counts"], strict=True))
    return _table(["moderator \\ QA", *labels], rows)


def _backlog_bank(report: dict[str, Any]) -> str:
    b, bank = report["kpis"]["backlog"], report["kpis"]["bank"]
    backlog_rows = [["open (pending + skipped)", _num(b["size"])], ["pending", _num(b["pending"])],
                    ["skipped", _num(b["skipped"])], ["escalated, waiting for a lead", _num(b["escalated"])],
                    ["median age", _age(b["median_age_ms"])], ["oldest", _age(b["oldest_age_ms"])],
                    ["past their SLA", _num(b["overdue"])]]
    bank_rows = ([f"action {escape(a)}", _num(n)] for a, n in bank["by_action"].items())
    per_bank = ([f"bank {escape(a)}", _num(n)] for a, n in bank["by_bank"].items())
    return (f"<h2>Backlog (at {escape(report['generated_at'])})</h2>" + _table(["", "items"], backlog_rows)
            + "<h2>Bank auto-actions</h2>"
            + _table(["", "decisions"], [["all", _num(bank["auto_actions"])], ["later undone", _num(bank["undone"])],
                                          *bank_rows, *per_bank]))


def _embedded(report: dict[str, Any]) -> str:
    # <, > and & as JSON escapes: nothing a name holds can end the element or read as markup.
    text = json.dumps(report, ensure_ascii=False)
    for ch in "<>&":
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return f'<script type="application/json" id="report-data">{text}</script>'


def render_html(report: dict[str, Any], made: dict[str, Chart] | None = None) -> str:
    """The whole HTML file of `report`; `made`: its charts (moderator.report_charts.charts), drawn here
    when not given."""
    made = made if made is not None else charts(report, png=False)
    r = report["range"]
    span = f"{r['first_day'] or '…'} to {r['last_day'] or '…'} (UTC)" if r["first_day"] else "no decisions"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Moderator Desk report {escape(span)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Moderator Desk report</h1><p class=\"meta\">{escape(span)}; made {escape(report['generated_at'])} "
        "from the stored decisions, items and exposure events. Shares are of the rows named in each table; "
        "n/a: nothing to take a share of.</p>"
        + _tiles(report) + _charts(made) + _throughput(report) + _people(report) + _exposure(report)
        + _qa(report) + _backlog_bank(report) + _embedded(report) + "</body></html>\n"
    )

