"""Every KPI of the report against values worked out by hand for a constructed history in a real store
(decisions appended through storage.decisions.append_decisions, a skip through the review service):
an empty day, an undone decision, an escalation, a batch, a bank auto-action, QA rows that must never
count as throughput, exposure of several kinds and categories, and the backlog."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime

import numpy as np
import pytest

from moderator import kpis
from moderator.domain import DecisionSource
from moderator.report import build_report
from moderator.review import ReviewService
from moderator.wellness import today
from tests.report_fixtures import History

NOW = datetime(2024, 5, 4, tzinfo=UTC)
DAY_MS = 86_400_000


@pytest.fixture
def report(store, policy):
    h = History(store, policy)
    # amy, 2024-05-01: spam 4 s (SLA met), no_violation 6 s (SLA missed, then undone), an escalation
    # 10 s (no SLA); 2024-05-03: nudity 20 s decided exactly at its SLA (met).
    h.decided("amy", "spam", "2024-05-01T09:10:00.000Z", handle_ms=4_000, sla_due_at="2024-05-01T10:00:00.000Z")
    d2 = h.decided("amy", "no_violation", "2024-05-01T09:20:00.000Z", handle_ms=6_000,
                   sla_due_at="2024-05-01T09:00:00.000Z")
    h.undo(d2, "2024-05-01T09:21:00.000Z")
    h.decide(h.item(), None, "amy", "2024-05-01T10:05:00.000Z", handle_ms=10_000)
    d4 = h.decided("amy", "nudity", "2024-05-03T14:00:00.000Z", handle_ms=20_000,
                   sla_due_at="2024-05-03T14:00:00.000Z")
    # bo, 2024-05-03: spam 8 s (SLA missed) and a batch of two at 1 s each (no SLA).
    b1 = h.decided("bo", "spam", "2024-05-03T15:30:00.000Z", handle_ms=8_000, sla_due_at="2024-05-03T15:00:00.000Z")
    for _ in range(2):
        h.decide(h.item(), "spam", "bo", "2024-05-03T15:31:00.000Z", handle_ms=1_000,
                 source=DecisionSource.BATCH, batch_id="batch-1")
    # A bank closes an item on 2024-05-01.
    h.decide(h.item(category="gore"), "spam", "bank:known", "2024-05-01T08:00:00.000Z", source=DecisionSource.BANK)
    # Outside the range: not counted.
    h.decided("amy", "spam", "2024-04-30T23:59:59.999Z", handle_ms=99_000)
    h.decided("amy", "spam", "2024-05-04T00:00:00.000Z", handle_ms=99_000)
    # QA rows, one of them inside the range: never throughput.
    h.qa(b1, "spam", "quinn", "2024-05-03T16:00:00.000Z")
    h.qa(d4, "nudity", "quinn", "2024-05-04T10:00:00.000Z")
    # Exposure: amy 1.5 s peek (gore) + 2.5 s full (no category) on 05-01; bo 0.7 s spotlight (gore)
    # and quinn 0.5 s peek (gore) on 05-03; amy 9.999 s on 05-04, outside.
    h.expose(d2.item_id, "amy", "2024-05-01T09:05:00.000Z", 1_500, kind="peek", category="gore")
    h.expose(d2.item_id, "amy", "2024-05-01T09:15:00.000Z", 2_500, kind="full")
    h.expose(b1.item_id, "bo", "2024-05-03T15:29:00.000Z", 700, kind="spotlight", category="gore")
    h.expose(b1.item_id, "quinn", "2024-05-03T15:59:00.000Z", 500, kind="peek", category="gore")
    h.expose(b1.item_id, "amy", "2024-05-04T01:00:00.000Z", 9_999, kind="full")
    # Backlog at NOW: d2's item is pending again (reported 05-01, SLA 05-01T09:00 passed), one pending
    # item reported 05-03 without SLA, one skipped item reported 05-02; the escalated item waits.
    h.item(reported_at="2024-05-03T00:00:00.000Z")
    ReviewService(store, policy, "amy").skip(h.item(reported_at="2024-05-02T00:00:00.000Z"))
    return build_report(store.db, date(2024, 5, 1), date(2024, 5, 3), now=NOW)


def block(**values):
    empty = {"decided": 0, "active_ms": 0, "throughput_per_active_hour": None, "median_handle_ms": None,
             "p90_handle_ms": None, "sla_n": 0, "sla_met": 0, "sla_adherence": None, "escalations": 0,
             "escalation_rate": None, "undone": 0, "undo_rate": None, "bank_auto_actions": 0, "exposure_ms": 0}
    assert set(values) <= set(empty)
    return {**empty, **values}


AMY = block(decided=4, active_ms=40_000, throughput_per_active_hour=pytest.approx(360.0),  # 4 / (40 s / 1 h)
            median_handle_ms=8_000, p90_handle_ms=pytest.approx(17_000),  # 10 s + 0.7 * (20 s - 10 s)
            sla_n=3, sla_met=2, sla_adherence=pytest.approx(2 / 3), escalations=1, escalation_rate=0.25,
            undone=1, undo_rate=0.25, exposure_ms=4_000)
BO = block(decided=3, active_ms=10_000, throughput_per_active_hour=pytest.approx(1_080.0),
           median_handle_ms=1_000, p90_handle_ms=pytest.approx(6_600),  # 1 s + 0.8 * (8 s - 1 s)
           sla_n=1, sla_met=0, sla_adherence=0.0, escalation_rate=0.0, undo_rate=0.0, exposure_ms=700)


def test_per_moderator(report):
    by = report["kpis"]["by_moderator"]
    assert by["amy"] == AMY and by["bo"] == BO
    # The analyst is listed for the exposure they had, never for their QA rows.
    assert by["quinn"] == block(exposure_ms=500)
    assert set(by) == {"amy", "bo", "quinn"}  # no bank:known: a bank is no moderator


def test_overall_and_team(report):
    # Handle times 1,1,4,6,8,10,20 s: median 6 s, p90 at rank 5.4: 10 s + 0.4 * 10 s.
    overall = block(decided=7, active_ms=50_000, throughput_per_active_hour=pytest.approx(504.0),
                    median_handle_ms=6_000, p90_handle_ms=pytest.approx(14_000), sla_n=4, sla_met=2,
                    sla_adherence=0.5, escalations=1, escalation_rate=pytest.approx(1 / 7), undone=1,
                    undo_rate=pytest.approx(1 / 7), bank_auto_actions=1, exposure_ms=5_200)
    assert report["kpis"]["overall"] == overall
    assert report["kpis"]["by_team"] == {"local": overall}


def test_per_day_with_an_empty_day(report):
    days = report["kpis"]["by_day"]
    assert list(days) == ["2024-05-01", "2024-05-02", "2024-05-03"]
    assert days["2024-05-01"] == block(
        decided=3, active_ms=20_000, throughput_per_active_hour=pytest.approx(540.0), median_handle_ms=6_000,
        p90_handle_ms=pytest.approx(9_200), sla_n=2, sla_met=1, sla_adherence=0.5, escalations=1,
        escalation_rate=pytest.approx(1 / 3), undone=1, undo_rate=pytest.approx(1 / 3), bank_auto_actions=1,
        exposure_ms=4_000)
    assert days["2024-05-02"] == block()  # nothing decided: zeros, and null where a share is of nothing
    # amy's nudity and bo's three; quinn's QA row at 16:00 is not a decision.
    assert days["2024-05-03"] == block(
        decided=4, active_ms=30_000, throughput_per_active_hour=pytest.approx(480.0), median_handle_ms=4_500,
        p90_handle_ms=pytest.approx(16_400), sla_n=2, sla_met=1, sla_adherence=0.5, escalation_rate=0.0,
        undo_rate=0.0, exposure_ms=1_200)
    assert report["range"] == {"since": "2024-05-01", "until": "2024-05-03", "first_day": "2024-05-01",
                               "last_day": "2024-05-03"}


def test_per_hour(report):
    hours = report["kpis"]["by_hour"]
    assert list(hours) == [f"{h:02d}" for h in range(24)]
    decided = {h: b["decided"] for h, b in hours.items() if b["decided"]}
    assert decided == {"09": 2, "10": 1, "14": 1, "15": 3}
    assert hours["08"] == block(bank_auto_actions=1)
    assert {h: b["exposure_ms"] for h, b in hours.items() if b["exposure_ms"]} == {"09": 4_000, "15": 1_200}
    assert hours["15"]["sla_adherence"] == 0.0 and hours["14"]["sla_adherence"] == 1.0
    assert hours["03"] == block()


def test_exposure_bank_histogram_backlog(report):
    k = report["kpis"]
    assert k["exposure"] == {"total_ms": 5_200, "by_category": {"(none)": 2_500, "gore": 2_700},
                             "by_kind": {"full": 2_500, "peek": 2_000, "spotlight": 700},
                             "by_category_kind": {"(none)": {"full": 2_500},
                                                  "gore": {"peek": 2_000, "spotlight": 700}}}
    assert k["bank"] == {"auto_actions": 1, "undone": 0, "by_action": {"remove": 1}, "by_bank": {"known": 1}}
    # 1, 1 | 4 | 6, 8 | 10 | 20 s in the bins from 0, 2, 5, 10, 20 s.
    assert k["handle_ms_histogram"] == {"edges_ms": list(kpis.HANDLE_EDGES_MS), "counts": [2, 1, 2, 1, 1, 0, 0, 0, 0]}
    # Waiting since 05-01, 05-02 (skipped), 05-03: 3, 2 and 1 days at NOW; the 05-01 one is past its SLA.
    # The two items decided on 05-04 and 04-30 (outside the range) are decided, not backlog.
    assert k["backlog"] == {"size": 3, "pending": 2, "skipped": 1, "escalated": 1, "median_age_ms": 2 * DAY_MS,
                            "oldest_age_ms": 3 * DAY_MS, "overdue": 1}


def test_unbounded_range_counts_everything(store, policy):
    h = History(store, policy)
    h.decided("amy", "spam", "2024-04-28T12:00:00.000Z", handle_ms=1_000)
    h.decided("amy", "spam", "2024-04-30T12:00:00.000Z", handle_ms=3_000)
    report = build_report(store.db, now=NOW)
    assert report["range"] == {"since": None, "until": None, "first_day": "2024-04-28", "last_day": "2024-04-30"}
    assert [b["decided"] for b in report["kpis"]["by_day"].values()] == [1, 0, 1]
    assert report["kpis"]["overall"]["median_handle_ms"] == 2_000


def test_a_timestamp_with_an_offset_counts_on_its_utc_day(store, policy):
    h = History(store, policy)
    h.decided("amy", "spam", "2024-05-02T01:30:00+02:00")  # 2024-05-01T23:30Z
    report = build_report(store.db, date(2024, 5, 1), date(2024, 5, 1), now=NOW)
    assert report["kpis"]["by_day"]["2024-05-01"]["decided"] == 1
    assert report["kpis"]["by_hour"]["23"]["decided"] == 1


@pytest.mark.parametrize("seed", range(20))
def test_percentile_matches_numpy_and_statistics(seed):
    rng = random.Random(seed)
    values = [rng.randint(0, 60_000) for _ in range(rng.randint(1, 50))]
    for q in (0.1, 0.5, 0.9, 0.99):
        assert kpis.percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))
    assert kpis.percentile(values, 0.5) == pytest.approx(statistics.median(values))
    assert kpis.percentile([], 0.9) is None


def test_wellness_today_does_not_count_qa_rows(store, policy):
    """An analyst's QA judgements are not items they reviewed as a moderator (their exposure still counts)."""
    h = History(store, policy)
    d = h.decided("amy", "spam", "2024-05-01T09:00:00.000Z")
    h.qa(d, "spam", "quinn", "2024-05-01T10:00:00.000Z")
    h.expose(d.item_id, "quinn", "2024-05-01T09:59:00.000Z", 800)
    assert today(store.db, "quinn", "2024-05-01", 0).reviewed == 0
    assert today(store.db, "quinn", "2024-05-01", 0).exposure_ms == 800
    assert today(store.db, "amy", "2024-05-01", 0).reviewed == 1
