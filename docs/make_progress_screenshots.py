"""Regenerate the progress strip, history panel and shift summary screenshots in docs/ from the real
window on the demo queue (issue 12, part 1): a few decisions, one skip, two items breached and pinned
on top; the history panel over the desk; the empty queue's shift summary. At 1600x1000 and 1024x700.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_progress_screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QPainter  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from docs.make_screenshots import DOCS, wait  # noqa: E402
from moderator.clock import iso, utc_now  # noqa: E402
from moderator.demo import ensure_demo  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.app import build_window  # noqa: E402

SIZES = ((1600, 1000, "1600x1000"), (1024, 700, "1024x700"))


def settle(app, window) -> None:
    wait(app, lambda: not window.runner.busy and not window.reviewer.saving
         and (window.reviewer.current is None or (window.viewer.prepared is not None
                                                  and window.viewer.prepared.item_id == window.reviewer.current.id)),
         60000)
    for _ in range(10):
        app.processEvents()


def decide(app, window, key) -> None:
    wait(app, lambda: window.viewer.prepared is not None and window.reviewer.current is not None
         and window.viewer.prepared.item_id == window.reviewer.current.id and not window.reviewer.saving, 30000)
    QTest.keyClick(window.viewer, key)
    settle(app, window)


def save(app, window, name: str, dialog=None) -> None:
    settle(app, window)
    picture = window.grab()
    if dialog is not None:  # the dialog where the moderator sees it: over the desk, centred
        painter = QPainter(picture)
        top = dialog.grab()
        painter.drawPixmap((picture.width() - top.width()) // 2, (picture.height() - top.height()) // 2, top)
        painter.end()
    picture.save(str(DOCS / name))
    print("wrote", DOCS / name)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MODERATOR_CONFIG_DIR"] = str(Path(tmp) / "config")
        with Store(Path(tmp) / "store") as store:
            ensure_demo(store)
            window = build_window(store, load_policy(), load_keymap(), "demo", settings=Settings(palate_cleanser=False))
            window.resize(1600, 1000)
            window.show()
            settle(app, window)
            for key in (Qt.Key.Key_2, Qt.Key.Key_1, Qt.Key.Key_4, Qt.Key.Key_1):
                decide(app, window, key)
            decide(app, window, Qt.Key.Key_S)
            late = [i.id for i in window.reviewer.items[-2:]]
            for n, item_id in enumerate(late):  # two reports past their SLA: pinned on top, breach colour
                due = iso(utc_now() - timedelta(minutes=12 + 30 * n))
                store.write(lambda db, i=item_id, d=due: db.execute("UPDATE items SET sla_due_at = ? WHERE id = ?",
                                                                    (d, i)))
            window.reviewer.reload()
            wait(app, lambda: window.reviewer.items[0].id in late, 30000)
            window.reviewer.go_to(0)
            for width, height, tag in SIZES:
                window.resize(width, height)
                save(app, window, f"progress-{tag}.png")
            QTest.keyClick(window.viewer, Qt.Key.Key_H)
            wait(app, lambda: window.history.table.rowCount() > 0 and not window.runner.busy)
            window.history.table.selectRow(2)
            for width, height, tag in SIZES:
                window.resize(width, height)
                save(app, window, f"history-{tag}.png", window.history)
            window.history.close()
            service = window.reviewer.service  # the rest decided through the service: no decode to wait for
            for item in list(window.reviewer.items):
                service.decide(item.id, "no_violation", handle_ms=6000)
            window.reviewer.reload()
            wait(app, lambda: "Your shift so far" in window.viewer._message, 30000)
            for width, height, tag in SIZES:
                window.resize(width, height)
                save(app, window, f"shift-summary-{tag}.png")
            window.close()


if __name__ == "__main__":
    main()
