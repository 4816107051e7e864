"""A QA history for the desk tests: five real photos, banks that route two of them, decisions by a
moderator, one by the analyst, and a random QA batch for the analyst (a session template store)."""

from __future__ import annotations

from moderator.demo import _demo_banks
from moderator.keymap import load_keymap
from moderator.matching import match_pending
from moderator.policy import load_policy
from moderator.qa_service import sample_batch
from moderator.review import ReviewService
from storage import items as items_repo
from tests.conftest import import_good_folder, photo, write_image
from tests.desk_helpers import on_screen
from ui.app import build_window

ANALYST, MODERATOR = "qa-quinn", "mod-alice"
NOTE = "alice-note-7731"
BANKS = ("demo-known-violent", "demo-known-harmless")


def build_history(store, work) -> None:
    """Five photos; banks route two (rocket: escalated with a suggested label; coffee: closed by a
    bank); mod-alice decides three, the analyst one; then a random batch for the analyst."""
    from moderator.ingest import import_paths

    import_good_folder(store, work)
    import_paths(store, [write_image(work / "retina.jpg", photo("retina"))], "tester")
    policy = load_policy()
    _demo_banks(store, work, "lead")
    match_pending(store, policy)
    by_file = {i.source_name: i for i in items_repo.queue(store.db)}
    alice, quinn = ReviewService(store, policy, MODERATOR), ReviewService(store, policy, ANALYST)
    alice.decide(by_file["rocket.jpg"].id, "violence_gore", handle_ms=5200)
    alice.decide(by_file["astronaut.jpg"].id, "spam", handle_ms=3100)
    alice.escalate(by_file["retina.jpg"].id, NOTE, handle_ms=9000)
    quinn.decide(by_file["chelsea.webp"].id, "no_violation", handle_ms=4000)
    sample_batch(store, ANALYST, "random", 7, count=10)


def open_qa_desk(qtbot, store, policy, analyst: str = ANALYST):
    """The real QA window on `store`, its first task on screen (blind)."""
    window = build_window(store, policy, load_keymap(), analyst, qa=True)
    qtbot.addWidget(window)
    window.show()
    window.viewer.setFocus()
    qtbot.waitUntil(lambda: on_screen(window), timeout=10000)
    return window
