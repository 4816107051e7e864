"""The dashboard (Ctrl+D) on the real window over a real store: the report's charts painted (not
blank), computed on a worker (the key returns before they are), and a refresh shows new numbers."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from moderator.ingest import import_paths
from moderator.policy import load_policy
from moderator.qa_service import QaService
from moderator.report_charts import CHART_NAMES
from tests.conftest import photo, write_image
from tests.desk_helpers import open_desk, qimage_rgb
from tests.qa_desk_fixtures import ANALYST, build_history, open_qa_desk


@pytest.fixture
def qa_store(store_templates, tmp_path):
    s = store_templates.copy("qa-history", build_history, tmp_path / "qa-data")
    yield s
    s.close()


def ink(label) -> float:
    """The share of a painted chart that is not its white background (a blank one has none)."""
    rgb = qimage_rgb(label.grab().toImage()).astype(int)
    return float((np.abs(rgb - 255).sum(axis=2) > 60).mean())


def chart_label(dashboard, name: str):
    return dashboard.chart_labels[CHART_NAMES.index(name)]


def open_dashboard(qtbot, window):
    qtbot.keyClick(window.viewer, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    dashboard = window.dashboard
    assert dashboard.isVisible() and dashboard.running and dashboard.refreshes == 0  # on a worker, not yet here
    qtbot.waitUntil(lambda: dashboard.refreshes == 1, timeout=60000)
    return dashboard


def test_the_dashboard_paints_every_chart_and_refreshes_on_a_worker(qtbot, qa_store, policy, tmp_path):
    import_paths(qa_store, [write_image(tmp_path / "cat.png", photo("chelsea")[::2, ::2])], "tester")  # one open item
    window = open_desk(qtbot, qa_store, policy)
    dashboard = open_dashboard(qtbot, window)
    shown = dashboard.chart_labels[: len(dashboard.drawn.images)]
    assert len(shown) == len(CHART_NAMES)
    qtbot.waitUntil(lambda: all(lb.isVisible() and lb.width() >= 480 for lb in shown))  # laid out
    assert all(ink(lb) > 0.002 for lb in shown)  # every chart has at least its title and message
    assert ink(chart_label(dashboard, "throughput")) > 0.2 and ink(chart_label(dashboard, "handle_time")) > 0.05
    agreement_before = ink(chart_label(dashboard, "agreement_by_moderator"))
    assert agreement_before < 0.02 and "no QA re-reviews yet" in dashboard.headline.text()
    qa = QaService(qa_store, load_policy(), ANALYST)  # a re-review made elsewhere since (the CLI, say)
    qa.judge(qa.open_tasks()[0].task_id, "no_violation")
    qtbot.keyClick(dashboard, Qt.Key.Key_F5)
    assert dashboard.running and dashboard.refreshes == 1  # the key returned; the report is computing
    qtbot.waitUntil(lambda: dashboard.refreshes == 2 or "not computed" in dashboard.state.text(), timeout=60000)
    assert dashboard.refreshes == 2, dashboard.state.text()
    assert "QA 1 re-reviewed" in dashboard.headline.text()
    assert ink(chart_label(dashboard, "agreement_by_moderator")) > agreement_before + 0.03  # its bar is drawn now
    dashboard.close()
    window.close()


def test_the_qa_desk_has_the_dashboard_too(qtbot, qa_store, policy):
    window = open_qa_desk(qtbot, qa_store, policy)
    dashboard = open_dashboard(qtbot, window)
    assert ink(chart_label(dashboard, "throughput")) > 0.2
    # A press while a refresh runs asks for exactly one more, after it.
    dashboard.refresh()
    dashboard.refresh()
    dashboard.refresh()
    qtbot.waitUntil(lambda: dashboard.refreshes == 3 and not dashboard.running, timeout=60000)
    window.runner.wait()
    assert dashboard.refreshes == 3
    dashboard.close()
    window.close()
