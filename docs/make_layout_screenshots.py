"""Screenshots of the desk's layout at 1600x1000 and 1024x700 on the demo queue (docs/layout-*.png):
the whole desk, the queue and side panel hidden (Ctrl+1, Ctrl+3), the `?` sheet, the calm screen
after a high-severity item and the break banner with its keys, and the settings dialog naming what
a policy's floors override.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_layout_screenshots.py  (or under xvfb-run)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from docs.make_screenshots import go_to, wait  # noqa: E402
from moderator.demo import ensure_demo  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.app import build_window  # noqa: E402

DOCS = ROOT / "docs"
SIZES = {"1600x1000": (1600, 1000), "1024x700": (1024, 700)}


def settle(app, n=8):
    for _ in range(n):
        app.processEvents()


def save(app, widget, name):
    settle(app)
    widget.grab().save(str(DOCS / name))
    print("wrote", DOCS / name)


def open_window(app, store, size, settings=None):
    window = build_window(store, load_policy(), load_keymap(), "screenshots", settings=settings or Settings())
    window.resize(*size)
    window.show()
    wait(app, lambda: window.viewer.prepared is not None)
    go_to(app, window, "demo-003")  # a bank match: badge, suggested label and the longest facts
    return window


def settings_with_floors(app, window, tag: str) -> None:
    """The settings dialog under a policy with floors, a value edited below one: what it says."""
    from moderator.domain import WellnessFloors

    dialog = window.settings_dialog
    dialog.floors = WellnessFloors(min_blur=3, grayscale=True, max_daily_exposure_s=900, breaks=True)
    dialog.edit(window.settings)
    dialog.fields["blur"].setValue(1)
    dialog.fields["daily_exposure_budget_s"].setValue(0)
    settle(app)
    save(app, dialog, f"settings-floors-{tag}.png")
    dialog.reject()


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    only = set(sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
        ensure_demo(store)
        for tag, size in SIZES.items():
            window = open_window(app, store, size)
            save(app, window, f"layout-{tag}.png")
            if not only or "more" in only:
                window.toggle_queue()
                window.toggle_side()
                save(app, window, f"layout-collapsed-{tag}.png")
                window.toggle_queue()
                window.toggle_side()
                window.help.show()
                settle(app)
                save(app, window.help, f"help-{tag}.png")
                window.help.hide()
                window.wellness.advisor.add_decision(5)
                window.break_banner.remind("1 high-severity item since your last break")
                window.viewer.show_message("Take a breath. The next item follows in a moment.", calm=True)
                save(app, window, f"calm-{tag}.png")
                settings_with_floors(app, window, tag)
            window.runner.wait()
            window.close()


if __name__ == "__main__":
    main()
