"""Regenerate the grid's screenshots in docs/ from the real window on the demo queue: filtered
thumbnails with their badges, near-duplicates folded into families, a selection; at 1600x1000 and at
1024x700.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_grid_screenshots.py
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

from docs.make_screenshots import shot, wait  # noqa: E402
from moderator.demo import ensure_demo  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.app import build_window  # noqa: E402

SHIFT = Qt.KeyboardModifier.ShiftModifier


def thumbnails_ready(grid) -> bool:
    first, last = grid.list.visible_rows()
    return first >= 0 and grid.requester.idle and all(
        grid.requester.image(grid.model.item_at(r)) is not None or grid.requester.failure(grid.model.item_at(r))
        for r in range(first, last + 1))


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MODERATOR_CONFIG_DIR"] = str(Path(tmp) / "config")
        with Store(Path(tmp) / "store") as store:
            ensure_demo(store)
            window = build_window(store, load_policy(), load_keymap(), "demo", settings=Settings())
            window.resize(1600, 1000)
            window.show()
            window.reviewer.load()
            wait(app, lambda: window.viewer.prepared is not None)
            QTest.keyClick(window.viewer, Qt.Key.Key_G)
            grid = window.grid
            QTest.keyClick(grid.list, Qt.Key.Key_F)  # near-duplicates folded into families
            wait(app, lambda: bool(grid.model.rows.members) and thumbnails_ready(grid), 60000)
            QTest.keyClick(grid.list, Qt.Key.Key_Home)
            QTest.keyClick(grid.list, Qt.Key.Key_Right)
            for _ in range(3):
                QTest.keyClick(grid.list, Qt.Key.Key_Right, SHIFT)
            wait(app, lambda: thumbnails_ready(grid))
            shot(app, window, "grid.png")
            window.resize(1024, 700)
            wait(app, lambda: thumbnails_ready(grid))
            shot(app, window, "grid-1024x700.png")
            window.close()


if __name__ == "__main__":
    main()
