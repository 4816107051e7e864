"""Screenshots of issue 12 part 2 (the report's context, escalation targets, messages, bank looks) from the
real window at 1600×1000 and 1024×700.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_context_screenshots.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
from PySide6.QtCore import QElapsedTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from skimage import data  # noqa: E402

from moderator.bank_formats import BankRow, write_bank_file  # noqa: E402
from moderator.banks import BankService  # noqa: E402
from moderator.importing import import_and_match  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.review import ReviewService  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from moderator.signals import PDQ  # noqa: E402
from storage.store import Store  # noqa: E402
from ui.app import build_window  # noqa: E402

DOCS = ROOT / "docs"
SIZES = ((1600, 1000, "1600x1000"), (1024, 700, "1024x700"))
POST = ("Selling these again, last batch before the weekend!! Message me for prices, shipping anywhere.\n"
        "Same as the ones from last month, ask @sunset_deals_backup if this account gets banned again.\n\n"
        "#deals #limited")


def wait(app, cond, ms=30000):
    clock = QElapsedTimer()
    clock.start()
    while not cond():
        app.processEvents()
        if clock.elapsed() > ms:
            raise TimeoutError


def write(path: Path, name: str, quality: int = 90) -> Path:
    rgb = getattr(data, name)()
    rgb = rgb if rgb.ndim == 3 else cv2.merge([rgb] * 3)
    cv2.imwrite(str(path), cv2.cvtColor(rgb[..., :3], cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return path


def fill(store: Store, tmp: Path) -> tuple:
    policy = load_policy()
    banks = BankService(store, policy, "lead")
    for name, kind, action, label, photo in (
            ("industry-hash-sharing-program-violent-extremism-2026", "block", "escalate", "terrorism", "rocket"),
            ("known-benign-memes-and-stock-photos", "allow", "flag", "no_violation", "rocket"),
            ("stock-photos-licensed-from-agencies-2026", "allow", "allow", "no_violation", "coffee")):
        src = write(tmp / f"{name}.jpg", photo, 40)
        write_bank_file([BankRow("pdq", PDQ.hash_file(src).hex, label, "screenshot")], tmp / f"{name}.csv", "csv")
        banks.import_bank(tmp / f"{name}.csv", name, kind=kind, action=action)
    drop = tmp / "drop"
    drop.mkdir()
    write(drop / "rocket.jpg", "rocket")
    write(drop / "coffee.jpg", "coffee")
    write(drop / "chelsea.jpg", "chelsea")
    shutil.copy(drop / "coffee.jpg", drop / "coffee (2).jpg")
    (drop / "broken.jpg").write_text("this is not a picture")
    rows = [
        {"path": "rocket.jpg", "external_id": "report-88231", "category": "spam", "priority": 5,
         "reason": "Scam: selling fake tickets", "report_count": 4, "reporter": "user:4411902",
         "reported_account": "@sunset_deals", "post_text": POST,
         "source_url": "https://social.example.org/@sunset_deals/posts/771204", "original_name": "IMG_2041.JPG"},
        {"path": "chelsea.jpg", "external_id": "report-80110", "reported_account": "@sunset_deals",
         "reason": "Spam", "original_name": "cat.png"},
        {"path": "coffee.jpg", "reason": "Spam", "original_name": "IMG_1990.JPG"},
        {"path": "coffee (2).jpg", "reason": "Same photo again"},
        {"path": "broken.jpg", "reason": "?"},
        {"path": "missing.jpg"},
        {"path": "chelsea.jpg", "external_id": "report-80110", "reporter": "bot\u001b[2J"},
    ]
    (drop / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return policy, drop


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "store") as store:
        policy, drop = fill(store, Path(tmp))
        outcome = import_and_match(store, [drop / "manifest.jsonl"], "lead", policy)
        chelsea = next(i for i, e in outcome.report.sources.items() if e.external_id == "report-80110")
        ReviewService(store, policy, "alice").decide(chelsea, "spam")
        window = build_window(store, policy, load_keymap(), "alice", settings=Settings(palate_cleanser=False))
        window.show()
        wait(app, lambda: window.reviewer.current is not None and window.facts.row_shown("Prior decisions"))
        from moderator.result_messages import bank_messages, import_messages
        from moderator.session import bank_decisions

        messages = import_messages(outcome.report) + bank_messages(outcome.matching, bank_decisions(store))
        for w, h, size in SIZES:
            window.resize(w, h)
            shot(app, window, f"context-{size}.png")
        window.escalate_bar.open_bar()
        window.escalate_bar.target.setCurrentIndex(window.escalate_bar.target.findData("legal"))
        window.escalate_bar.edit.setPlainText("Same seller as report-80110 last week.\nThe caption points to a "
                                              "backup account: please check both before they move again.")
        for w, h, size in SIZES:
            window.resize(w, h)
            shot(app, window, f"escalate-{size}.png")
        window.escalate_bar.close_bar()
        window.messages.add(messages)
        window.messages.show()
        for w, h, size in SIZES:
            window.resize(w, h)
            shot(app, window, f"messages-{size}.png")
        window.messages.hide()
        window.bank_actions.show_bank_decisions()
        wait(app, lambda: window.bank_actions.dialog.isVisible())
        shot(app, window.bank_actions.dialog, "bank-decisions.png")
        window.bank_actions.dialog.close()
        window.runner.shutdown()
        window.close()


def shot(app, widget, name: str) -> None:
    for _ in range(10):
        app.processEvents()
    widget.grab().save(str(DOCS / name))
    print("wrote", DOCS / name)


if __name__ == "__main__":
    main()
