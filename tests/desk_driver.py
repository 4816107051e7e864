"""A real desk in its own process that keeps deciding; prints SAVED <uuid> when the UI shows a save.

Used by test_durability: the test kills this process with SIGKILL right after reading a line.
"""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.app import build_window  # noqa: E402


def main() -> None:
    app = QApplication(sys.argv[:1])
    store = Store(sys.argv[1])
    window = build_window(store, load_policy(), load_keymap(), "killed")
    window.show()

    def press_when_ready() -> None:
        r = window.reviewer
        shown = window.viewer.prepared
        if r.current is not None and shown is not None and shown.item_id == r.current.id and not r.saving:
            QTest.keyClick(window.viewer, Qt.Key.Key_2)
        else:
            QTimer.singleShot(5, press_when_ready)

    def on_saved(uuid: str, _text: str) -> None:
        print("SAVED", uuid, flush=True)
        QTimer.singleShot(0, press_when_ready)

    window.reviewer.saved.connect(on_saved)
    QTimer.singleShot(0, press_when_ready)
    app.exec()


if __name__ == "__main__":
    main()
