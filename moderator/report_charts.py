"""The report's charts, drawn with matplotlib from the report dict alone (moderator.report): PNG bytes for
the desk's dashboard, SVG text for the HTML report, so both show the same pictures of the same numbers.

Only matplotlib's object API with the Agg and SVG renderers (never pyplot, never a GUI backend): each
call makes its own Figure, so charts can be drawn on a worker thread.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Okabe & Ito's colour-blind-safe palette.
BLUE, ORANGE, GREEN, VERMILION, SKY, PURPLE, YELLOW, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#999999")
KIND_COLOURS = (ORANGE, SKY, GREEN, PURPLE, YELLOW, VERMILION, BLUE, GREY)
SIZE = (8.0, 4.0)  # inches; at 100 dpi an 800x400 PNG (taller with many bars: figure_size)


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    png: bytes | None  # for the desk (QImage.fromData)
    svg: str | None  # an inline <svg> element for the HTML report: no XML prolog, nothing external


def _no_data(fig: Figure, message: str = "no data in this range") -> None:
    ax = fig.subplots()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", color=GREY, fontsize=12, transform=ax.transAxes)


def _legend(ax) -> None:
    """Above the plot, right-aligned: inside it, a legend covers bars."""
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize=8, frameon=False)


def _top_down(ax, rows: int) -> None:
    """Bars listed from the top, half a bar of margin (matplotlib's 5% is rows of blank with 80 bars)."""
    ax.set_ylim(rows - 0.5, -0.5)


def _thin_ticks(ax, labels: list[str], most: int = 16) -> None:
    step = max(1, -(-len(labels) // most))
    ax.set_xticks(range(0, len(labels), step), labels[::step], rotation=45, ha="right", fontsize=8)


def _throughput(fig: Figure, report: dict[str, Any]) -> None:
    days = report["kpis"]["by_day"]
    if not days:
        return _no_data(fig)
    names = list(days)
    human = [days[d]["decided"] for d in names]
    bank = [days[d]["bank_auto_actions"] for d in names]
    ax = fig.subplots()
    ax.bar(range(len(names)), human, color=BLUE, label="moderator decisions")
    ax.bar(range(len(names)), bank, bottom=human, color=ORANGE, label="bank auto-actions")
    _thin_ticks(ax, names)
    ax.set_ylabel("decisions per day (UTC)")
    _legend(ax)


def _throughput_by_hour(fig: Figure, report: dict[str, Any]) -> None:
    hours = report["kpis"]["by_hour"]
    if not any(h["decided"] or h["bank_auto_actions"] for h in hours.values()):
        return _no_data(fig)
    ax = fig.subplots()
    ax.bar(range(24), [hours[h]["decided"] for h in hours], color=BLUE)
    ax.set_xticks(range(24), list(hours), fontsize=8)
    ax.set_xlabel("hour of day (UTC)")
    ax.set_ylabel("moderator decisions")


def _handle_label(lo: int, hi: int | None) -> str:
    def s(ms: int) -> str:
        return f"{ms // 60_000} min" if ms >= 60_000 and ms % 60_000 == 0 else f"{ms / 1000:g} s"
    return f"≥ {s(lo)}" if hi is None else f"{s(lo)}–{s(hi)}"


def _handle_time(fig: Figure, report: dict[str, Any]) -> None:
    hist = report["kpis"]["handle_ms_histogram"]
    if not sum(hist["counts"]):
        return _no_data(fig)
    edges = hist["edges_ms"]
    labels = [_handle_label(lo, edges[i + 1] if i + 1 < len(edges) else None) for i, lo in enumerate(edges)]
    ax = fig.subplots()
    ax.bar(range(len(labels)), hist["counts"], color=BLUE)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("moderator decisions")
    overall = report["kpis"]["overall"]
    ax.set_title(f"median {_seconds(overall['median_handle_ms'])}, p90 {_seconds(overall['p90_handle_ms'])}",
                 fontsize=9, color=GREY)


def _seconds(ms: float | None) -> str:
    return "n/a" if ms is None else f"{ms / 1000:.1f} s"


def _sla(fig: Figure, report: dict[str, Any]) -> None:
    days, people = report["kpis"]["by_day"], report["kpis"]["by_moderator"]
    if not any(d["sla_n"] for d in days.values()):
        return _no_data(fig, "no decision in this range had an SLA")
    left, right = fig.subplots(1, 2, width_ratios=(3, 2))
    names = list(days)
    values = [days[d]["sla_adherence"] for d in names]
    left.plot(range(len(names)), [float("nan") if v is None else v for v in values], marker="o",
              color=GREEN)
    _thin_ticks(left, names, most=10)
    left.set_ylim(0, 1.05)
    left.set_ylabel("share decided before sla_due_at")
    rated = [(n, p["sla_adherence"]) for n, p in people.items() if p["sla_adherence"] is not None]
    right.barh([n for n, _ in rated], [v for _, v in rated], color=GREEN)
    right.set_xlim(0, 1.05)
    _top_down(right, len(rated))
    right.tick_params(labelsize=8)
    right.set_xlabel("per moderator")


def _exposure(fig: Figure, report: dict[str, Any]) -> None:
    per = report["kpis"]["exposure"]["by_category_kind"]
    if not per:
        return _no_data(fig, "no unfiltered exposure in this range")
    kinds = sorted({k for c in per.values() for k in c})
    ax = fig.subplots()
    cats = list(per)
    left = [0.0] * len(cats)
    for n, kind in enumerate(kinds):
        seconds = [per[c].get(kind, 0) / 1000 for c in cats]
        ax.barh(cats, seconds, left=left, color=KIND_COLOURS[n % len(KIND_COLOURS)], label=kind)
        left = [a + b for a, b in zip(left, seconds, strict=True)]
    _top_down(ax, len(cats))
    ax.set_xlabel("seconds of unfiltered pixels on screen")
    _legend(ax)


def _agreement_by_moderator(fig: Figure, report: dict[str, Any]) -> None:
    people = {n: p for n, p in report["qa"]["by_moderator"].items() if p["n"]}
    if not people:
        return _no_data(fig, "no QA judgement in this range")
    ax = fig.subplots()
    names = list(people)
    ys = range(len(names))
    agree = [people[n]["agreement"] for n in names]
    kappa = [people[n]["kappa"] for n in names]
    ax.barh([y - 0.2 for y in ys], agree, height=0.4, color=BLUE, label="agreement")
    ax.barh([y + 0.2 for y in ys], [0 if k is None else k for k in kappa], height=0.4, color=ORANGE,
            label="Cohen's kappa")
    for y, k in zip(ys, kappa, strict=True):
        if k is None:
            ax.text(0.01, y + 0.2, "kappa undefined (one class)", va="center", fontsize=7, color=GREY)
    ax.set_yticks(list(ys), [f"{n} (n={people[n]['n']})" for n in names], fontsize=8)
    _top_down(ax, len(names))
    ax.set_xlim(min([0.0, *(k for k in kappa if k is not None)]), 1.05)  # every kappa undefined: from 0
    _legend(ax)


def _agreement_by_label(fig: Figure, report: dict[str, Any]) -> None:
    labels = {n: v for n, v in report["qa"]["by_label"].items() if v["n"]}
    if not labels:
        return _no_data(fig, "no QA judgement in this range")
    ax = fig.subplots()
    names = list(labels)
    ax.barh(names, [labels[n]["agreement"] for n in names], color=BLUE)
    ax.set_yticks(range(len(names)), [f"{n} (n={labels[n]['n']})" for n in names], fontsize=8)
    _top_down(ax, len(names))
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("share of the moderator's label the QA analyst confirmed")


def _confusion(fig: Figure, report: dict[str, Any]) -> None:
    matrix = report["qa"]["confusion"]
    labels, counts = matrix["labels"], matrix["counts"]
    if not labels:
        return _no_data(fig, "no QA judgement in this range")
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues", aspect="auto")
    top = max(max(row) for row in counts) or 1
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                    color="white" if value > top / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("QA analyst")
    ax.set_ylabel("moderator")
    fig.colorbar(image, ax=ax, shrink=0.8)


DRAWERS: dict[str, tuple[str, Callable[[Figure, dict[str, Any]], None]]] = {
    "throughput": ("Throughput per day", _throughput),
    "throughput_by_hour": ("Throughput by hour of day", _throughput_by_hour),
    "handle_time": ("Handle time", _handle_time),
    "sla": ("SLA adherence", _sla),
    "exposure": ("Exposure by category and reveal kind", _exposure),
    "agreement_by_moderator": ("QA agreement per moderator", _agreement_by_moderator),
    "agreement_by_label": ("QA agreement per label", _agreement_by_label),
    "confusion": ("Confusion matrix: moderator vs QA", _confusion),
}
CHART_NAMES = tuple(DRAWERS)
ROW_INCHES = 0.28  # per bar of a horizontal bar chart: labels stay readable with 80 moderators


def _rows(report: dict[str, Any], name: str) -> int:
    """How many bars (or heat-map rows) chart `name` stacks vertically."""
    qa, k = report["qa"], report["kpis"]
    return {
        "sla": sum(p["sla_adherence"] is not None for p in k["by_moderator"].values()),
        "exposure": len(k["exposure"]["by_category_kind"]),
        "agreement_by_moderator": 2 * sum(1 for p in qa["by_moderator"].values() if p["n"]),
        "agreement_by_label": sum(1 for v in qa["by_label"].values() if v["n"]),
        "confusion": len(qa["confusion"]["labels"]),
    }.get(name, 0)


def figure_size(report: dict[str, Any], name: str) -> tuple[float, float]:
    """SIZE, taller when a chart has more bars than fit in it; the width is always SIZE[0]."""
    return SIZE[0], max(SIZE[1], 1.4 + ROW_INCHES * _rows(report, name))


def chart(report: dict[str, Any], name: str, *, png: bool = True, svg: bool = True, dpi: int = 100) -> Chart:
    """One chart of `report` (a name in CHART_NAMES), as PNG bytes and/or SVG text."""
    title, draw = DRAWERS[name]
    fig = _figure_class()(figsize=figure_size(report, name), layout="constrained")
    draw(fig, report)
    fig.suptitle(title, fontsize=11, fontweight="bold")
    return Chart(name, title, _png(fig, dpi) if png else None, _svg(fig) if svg else None)


@cache
def _figure_class() -> type[Figure]:
    """matplotlib, imported on the first chart (0.3-0.4 s of imports: the desk's start-up and the
    dashboard's module never pay them; the chart is drawn on a worker)."""
    import matplotlib
    from matplotlib.figure import Figure

    # Text stays text in SVG (no glyph paths: smaller, selectable) and ids are stable run to run.
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "moderator-report"})
    return Figure


def charts(report: dict[str, Any], *, png: bool = True, svg: bool = True, dpi: int = 100) -> dict[str, Chart]:
    """Every chart of `report`, in CHART_NAMES order."""
    return {name: chart(report, name, png=png, svg=svg, dpi=dpi) for name in CHART_NAMES}


def _png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _svg(fig: Figure) -> str:
    """The figure as an <svg> element to inline in HTML: without the XML declaration, the DOCTYPE (a URL)
    and the RDF metadata block (URLs), so nothing in it points outside the file."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return _METADATA.sub("", _PROLOG.sub("", buf.getvalue(), count=1))
