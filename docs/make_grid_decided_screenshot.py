"""Regenerate docs/grid-decided.png (1600x1000) and docs/grid-decided-1024x700.png from the real window
on the demo queue: the status filter "open + decided", three tiles just labelled spam with one key,
dimmed in their places with their label, the open ones around them as they were.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_grid_decided_screenshot.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from docs.make_grid_screenshots import thumbnails_ready  # noqa: E402
from docs.make_screenshots import shot, wait  # noqa: E402
from moderator.demo import ensure_demo  # noqa: E402
from moderator.grid_view import WITH_DECIDED  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.app import build_window  # noqa: E402

SHIFT = Qt.KeyboardModifier.ShiftModifier


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MODERATOR_CONFIG_DIR"] = str(Path(tmp) / "config")
        with Store(Path(tmp) / "store") as store:
            ensure_demo(store)
            window = build_window(store, load_policy(), load_keymap(), "demo",
                                  settings=Settings(palate_cleanser=False))
            window.resize(1600, 1000)
            window.show()
            window.reviewer.load()
            wait(app, lambda: window.viewer.prepared is not None)
            QTest.keyClick(window.viewer, Qt.Key.Key_G)
            grid = window.grid
            grid.filters.set_choice("status", WITH_DECIDED)
            wait(app, lambda: thumbnails_ready(grid), 60000)
            QTest.keyClick(grid.list, Qt.Key.Key_Home)
            QTest.keyClick(grid.list, Qt.Key.Key_Down)  # the second line: items with no category hint
            for _ in range(2):
                QTest.keyClick(grid.list, Qt.Key.Key_Right, SHIFT)
            QTest.keyClick(grid.list, Qt.Key.Key_2)  # spam, three items: no question
            wait(app, lambda: grid.model.decided_count() == 3 and not window.reviewer.saving)
            for _ in range(2):  # the focus moves on: the decided tiles unselected
                QTest.keyClick(grid.list, Qt.Key.Key_Right)
            wait(app, lambda: thumbnails_ready(grid))
            shot(app, window, "grid-decided.png")
            window.resize(1024, 700)
            wait(app, lambda: thumbnails_ready(grid))
            shot(app, window, "grid-decided-1024x700.png")
            window.close()


if __name__ == "__main__":
    main()
