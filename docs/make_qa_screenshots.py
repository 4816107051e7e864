"""Regenerate the QA screenshots in docs/ from the real windows on the demo queue with its QA sample:
the blind re-review before the QA key (qa-blind.png), the side-by-side after a disagreement
(qa-side-by-side.png) and the dashboard after a few judgements (dashboard.png); each at 1600×1000,
and at 1024×700 (…-1024x700.png) to check the small screen.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_qa_screenshots.py  (or under xvfb-run)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from make_screenshots import shot, wait  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from moderator.clock import now_iso  # noqa: E402
from moderator.demo import ensure_demo  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.qa_demo import ensure_qa_demo  # noqa: E402
from moderator.qa_service import QaService  # noqa: E402
from moderator.review import ReviewService  # noqa: E402
from storage import decisions as decisions_repo  # noqa: E402
from storage import items as items_repo  # noqa: E402
from storage import qa as qa_repo  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.app import build_window  # noqa: E402

ANALYST = "qa-quinn"
SIZES = ((1600, 1000, ""), (1024, 700, "-1024x700"))


def on_screen(window) -> bool:
    r, shown = window.reviewer, window.viewer.prepared
    return r.current is not None and shown is not None and shown.item_id == r.current.id and not r.saving


def disagreeing_label(store, policy, task_id: str) -> str:
    """A label other than the original's (the script may read the store; the desk never does)."""
    original = decisions_repo.decision_by_uuid(store.db, qa_repo.task(store.db, task_id).decision_uuid)
    return next(lb.name for lb in policy.labels if lb.name not in original.labels and lb.name != "csam_suspected")


def qa_shots(app, store, policy, width: int, height: int, suffix: str) -> None:
    window = build_window(store, policy, load_keymap(), ANALYST, qa=True)
    window.resize(width, height)
    window.show()
    wait(app, lambda: on_screen(window))
    shot(app, window, f"qa-blind{suffix}.png")
    window.reviewer.decide(disagreeing_label(store, policy, window.reviewer.current.id))
    wait(app, lambda: window.reviewer.verdict is not None)
    shot(app, window, f"qa-side-by-side{suffix}.png")
    window.reviewer.leave_for_lead()
    wait(app, lambda: window.reviewer.verdict is None and not window.reviewer.saving)
    window.runner.wait()
    window.close()


def judge_some(store, policy) -> None:
    """A few more judgements, agreeing with one and not the next, so the QA charts have bars; and the
    demo moderators' peeks and reveals, so the exposure chart has some."""
    revealable = [i for i in items_repo.queue(store.db) if policy.filter_for(i.category, i.suggested_label).reveal == "full"]
    for n, item in enumerate(revealable[:4]):  # items the policy lets anyone reveal, as the desk would
        who = ReviewService(store, policy, ("demo-mod-ana", "demo-mod-ben")[n % 2])
        who.record_exposure(item, ("peek", "reveal", "spotlight", "peek")[n], now_iso(), 1200 + 900 * n)
    qa = QaService(store, policy, ANALYST)
    for n, task in enumerate(qa.open_tasks()[:3]):
        original = decisions_repo.decision_by_uuid(store.db, task.decision_uuid)
        label = original.labels[0] if n % 2 == 0 and original.labels else disagreeing_label(store, policy, task.task_id)
        qa.judge(task.task_id, label, handle_ms=4000 + 1500 * n)


def dashboard_shots(app, store, policy) -> None:
    window = build_window(store, policy, load_keymap(), ANALYST, qa=True)
    window.show()
    wait(app, lambda: window.reviewer.current is not None or window.reviewer.items == [])
    dashboard = window.dashboard
    for width, height, suffix in SIZES:
        dashboard.resize(width, height)
        before = dashboard.refreshes
        dashboard.open_panel()
        wait(app, lambda b=before: dashboard.refreshes > b, 60000)
        shot(app, dashboard, f"dashboard{suffix}.png")
    dashboard.close()
    window.runner.wait()
    window.close()


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    policy = load_policy()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
        ensure_demo(store)
        ensure_qa_demo(store, policy, ANALYST)
        for width, height, suffix in SIZES:
            qa_shots(app, store, policy, width, height, suffix)
        judge_some(store, policy)
        dashboard_shots(app, store, policy)


if __name__ == "__main__":
    main()
