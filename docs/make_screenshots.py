"""Regenerate the screenshots in docs/ from the real window on the demo queue.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_screenshots.py  (or under xvfb-run)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QElapsedTimer, QPoint  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from moderator.demo import ensure_demo  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.app import build_window  # noqa: E402

DOCS = ROOT / "docs"


def wait(app, cond, ms=20000):
    clock = QElapsedTimer()
    clock.start()
    while not cond():
        app.processEvents()
        if clock.elapsed() > ms:
            raise TimeoutError


def shot(app, window, name):
    for _ in range(5):
        app.processEvents()
    window.grab().save(str(DOCS / name))
    print("wrote", DOCS / name)


def go_to(app, window, external_id):
    r = window.reviewer
    row = next(n for n, it in enumerate(r.items) if it.external_id == external_id)
    r.go_to(row)
    wait(app, lambda: window.viewer.prepared is not None and window.viewer.prepared.item_id == r.current.id)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
        ensure_demo(store)
        for name, settings, setup in [
            ("desk.png", Settings(), None),  # demo-003 matches a demo bank: badge and suggested label
            ("spotlight.png", Settings(reveal_seconds=60), "spotlight"),
            ("drawing.png", Settings(style="drawing", blur=0), None),
            ("video.png", Settings(), "video"),
            ("break.png", Settings(break_after_high_severity=1), "break"),
            ("bank-decisions.png", Settings(), "bank-decisions"),
        ]:
            window = build_window(store, load_policy(), load_keymap(), "screenshots", settings=settings)
            window.resize(1500, 900)
            window.show()
            wait(app, lambda w=window: w.viewer.prepared is not None)
            go_to(app, window, {"video": "demo-v00", None: "demo-003"}.get(setup, "demo-000"))
            if setup == "spotlight":
                QTest.mouseMove(window.viewer, QPoint(window.viewer.width() // 2 - 40, window.viewer.height() // 3))
                window.reveal.toggle("spotlight", window.viewer.spec)
            if setup == "break":
                window.wellness.advisor.add_decision(5)
                window.break_banner.remind(window.wellness.advisor.due())
            if setup == "bank-decisions":
                window.bank_actions.show_bank_decisions()
                dialog = window.bank_actions.dialog
                wait(app, lambda d=dialog: d.isVisible() and d.table.rowCount() > 0)
                shot(app, dialog, name)
            else:
                shot(app, window, name)
            window.reveal.end()
            window.runner.wait()
            window.close()


if __name__ == "__main__":
    main()
