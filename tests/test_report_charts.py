"""The report's charts (moderator.report_charts): every chart as a real PNG and an inline SVG, drawn from
the report dict alone, the same bytes every time and from any thread (the desk draws on a worker)."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from PIL import Image

from moderator import report_charts
from moderator.report import build_report
from tests.report_fixtures import History


@pytest.fixture
def report(store, policy):
    h = History(store, policy)
    a = h.decided("amy", "spam", "2024-05-01T09:00:00.000Z", handle_ms=3_000, sla_due_at="2024-05-01T10:00:00.000Z")
    b = h.decided("bo", "nudity", "2024-05-02T15:00:00.000Z", handle_ms=12_000, category="sexual",
                  sla_due_at="2024-05-02T14:00:00.000Z")
    h.qa(a, "spam", "quinn", "2024-05-03T09:00:00.000Z")
    h.qa(b, "sexual", "quinn", "2024-05-03T09:00:00.000Z")
    h.expose(b.item_id, "bo", "2024-05-02T14:59:00.000Z", 2_000, kind="spotlight", category="sexual")
    return build_report(store.db, date(2024, 5, 1), date(2024, 5, 3))


def test_every_chart_as_png_and_svg(report):
    made = report_charts.charts(report)
    assert tuple(made) == report_charts.CHART_NAMES
    for name, chart in made.items():
        assert chart.name == name and chart.title
        image = Image.open(io.BytesIO(chart.png))
        assert image.format == "PNG" and image.size == (800, 400)
        assert len(image.convert("RGB").getcolors(1_000_000)) > 20  # something was drawn
        assert chart.svg.startswith("<svg") and chart.svg.rstrip().endswith("</svg>")
        assert "<?xml" not in chart.svg and "DOCTYPE" not in chart.svg and "<metadata" not in chart.svg
        refs = re.findall(r'(?:xlink:)?href="([^"]*)"', chart.svg)
        assert all(r.startswith(("#", "data:image/png;base64,")) for r in refs)  # the heat map is an image


def test_charts_show_the_report_numbers(report):
    made = report_charts.charts(report, png=False)
    assert made["confusion"].png is None
    confusion = made["confusion"].svg
    for label in ("nudity", "sexual", "spam", "QA analyst", "moderator"):
        assert label in confusion
    assert "amy (n=1)" in made["agreement_by_moderator"].svg and "bo (n=1)" in made["agreement_by_moderator"].svg
    # bo's kappa (one pair, disagreeing): p_e = 0, kappa 0; amy's one pair agrees: p_e = 1, undefined.
    assert "kappa undefined (one class)" in made["agreement_by_moderator"].svg
    assert "median 7.5 s, p90 11.1 s" in made["handle_time"].svg  # 3 s and 12 s
    assert "sexual" in made["exposure"].svg and "spotlight" in made["exposure"].svg
    assert "2024-05-02" in made["throughput"].svg


def test_same_bytes_every_time_and_from_threads(report):
    first = report_charts.charts(report)
    with ThreadPoolExecutor(4) as pool:
        drawn = list(pool.map(lambda name: report_charts.chart(report, name), report_charts.CHART_NAMES))
    for chart in drawn:
        assert chart.png == first[chart.name].png and chart.svg == first[chart.name].svg


def test_empty_report_charts_say_no_data(store):
    made = report_charts.charts(build_report(store.db), png=False)
    for name, chart in made.items():
        assert "no " in chart.svg and ("no data" in chart.svg or "no QA" in chart.svg or "no decision" in chart.svg
                                        or "no unfiltered" in chart.svg), name


def test_agreement_chart_when_no_kappa_is_defined(store, policy):
    """One agreeing judgement: kappa is undefined for everyone, and the chart still draws (it once raised)."""
    h = History(store, policy)
    h.qa(h.decided("amy", "spam", "2024-05-01T09:00:00.000Z"), "spam", "quinn", "2024-05-01T10:00:00.000Z")
    report = build_report(store.db)
    assert report["qa"]["by_moderator"]["amy"]["kappa"] is None
    svg = report_charts.chart(report, "agreement_by_moderator", png=False).svg
    assert "amy (n=1)" in svg and "kappa undefined (one class)" in svg


def test_many_moderators_make_taller_charts(store, policy):
    """80 moderators: the per-moderator charts grow in height (same width), so each bar keeps its label."""
    h = History(store, policy)
    for m in range(80):
        d = h.decided(f"mod{m:02d}", "spam", "2024-05-01T09:00:00.000Z", handle_ms=1_000,
                      sla_due_at="2024-05-01T10:00:00.000Z")
        h.qa(d, "spam" if m % 2 else "no_violation", "quinn", "2024-05-01T12:00:00.000Z")
    report = build_report(store.db)
    made = report_charts.charts(report, svg=False)
    sizes = {n: Image.open(io.BytesIO(c.png)).size for n, c in made.items()}
    assert all(w == 800 for w, _ in sizes.values())
    assert sizes["agreement_by_moderator"][1] >= 160 * 25 and sizes["sla"][1] >= 80 * 25
    assert sizes["throughput"] == (800, 400) and sizes["confusion"] == (800, 400)
