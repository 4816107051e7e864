"""The facts panel in the real desk: the report's context in full (wrapping, selectable), named by its
external id or file name, earlier decisions on the same media or account once a worker has read them,
and bank matches that say (and paint) "known violating" or "known benign". The suggested key is painted
in the accent blue, not the severity red."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt

from moderator.ingest import import_paths
from moderator.matching import match_pending
from moderator.report_context import item_context
from moderator.resources import resource_path
from moderator.review import ReviewService
from moderator.settings import Settings
from storage import items as items_repo
from tests.conftest import photo, write_image
from tests.desk_helpers import open_desk, qimage_rgb
from tests.test_desk_banks import bank_of_edited_copy

POST = "Limited offer!!\nDM me for the link " + "and more words " * 200 + "\nEND-OF-POST"
SETTINGS = Settings(palate_cleanser=False)


def _import(tmp_path, store, policy, rows: list[dict]) -> list[str]:
    folder = tmp_path / "drop"
    folder.mkdir(exist_ok=True)
    for name in ("retina", "coffee", "rocket"):
        write_image(folder / f"{name}.jpg", photo(name))
    (folder / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = import_paths(store, [folder / "m.jsonl"], "tester", policy=policy)
    assert report.skipped == []
    return report.imported


def _pixels_near(rgb: np.ndarray, colour: str, tol: int = 40) -> int:
    want = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb.astype(int) - want).max(axis=2) <= tol).sum())


def _painted(qtbot, label) -> np.ndarray:
    """The label's pixels once the layout has given it the height its text needs."""
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=3000)
    return qimage_rgb(label.grab().toImage())


def test_context_is_shown_in_full_and_named_by_its_file(qtbot, tmp_path, store, policy):
    first, second = _import(tmp_path, store, policy, [
        {"path": "retina.jpg", "priority": 9, "reporter": "user:88412", "reported_account": "@sunset_deals",
         "post_text": POST, "source_url": "https://example.org/p/771", "original_name": "IMG_2041.JPG"},
        {"path": "coffee.jpg", "priority": 1},
    ])
    window = open_desk(qtbot, store, policy, SETTINGS)
    facts = window.facts
    assert window.reviewer.current.id == first
    assert facts.text_of("Item") == "IMG_2041.JPG"  # no external id: the file's name, not the uuid
    assert facts.text_of("File") == "IMG_2041.JPG (imported as retina.jpg)"
    assert (facts.text_of("Reported by"), facts.text_of("Account")) == ("user:88412", "@sunset_deals")
    assert facts.text_of("Post") == POST  # in full: every line, the last word too
    assert facts.post.lineWrapMode() is facts.post.LineWrapMode.WidgetWidth and facts.post.isReadOnly()
    assert facts.text_of("Source") == "https://example.org/p/771"
    source = facts._values["Source"]
    assert source.textFormat() is Qt.TextFormat.PlainText  # shown, never a link that opens the media unfiltered
    assert source.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse and source.wordWrap()
    assert all(facts.row_shown(n) for n in ("Reported by", "Account", "Post", "Source", "File"))
    window.reviewer.move(1)
    qtbot.waitUntil(lambda: window.reviewer.current.id == second)
    assert facts.text_of("Item") == "coffee.jpg"
    assert not any(facts.row_shown(n) for n in ("Reported by", "Account", "Post", "Source", "File",
                                                "Prior decisions", "Escalation"))


def test_prior_decisions_on_same_media_and_account_appear(qtbot, tmp_path, store, policy):
    ids = _import(tmp_path, store, policy, [
        {"path": "retina.jpg", "external_id": "rep-new", "priority": 9, "reported_account": "@acct"},
        {"path": "retina.jpg", "external_id": "rep-old-media"},
        {"path": "coffee.jpg", "external_id": "rep-old-account", "reported_account": "@acct"},
    ])
    review = ReviewService(store, policy, "alice")
    review.decide(ids[1], "spam")
    review.decide(ids[2], "nudity")
    window = open_desk(qtbot, store, policy, SETTINGS)
    assert window.reviewer.current.id == ids[0]
    qtbot.waitUntil(lambda: window.facts.row_shown("Prior decisions"), timeout=5000)
    lines = window.facts.text_of("Prior decisions").splitlines()
    assert lines[0].startswith("rep-old-account (same account): nudity → age_restrict, ")
    assert lines[1].startswith("rep-old-media (same media): spam → remove, ") and lines[1].endswith("by alice")


def test_block_and_allow_matches_differ_in_words_and_paint(qtbot, tmp_path, good_store, policy):
    store = good_store
    bank_of_edited_copy(tmp_path, "ncmec-hash-list-with-a-long-name-2026", "violence_gore", "block", "escalate",
                        policy, store)
    bank_of_edited_copy(tmp_path, "memes-allow", "no_violation", "allow", "allow", policy, store)
    match_pending(store, policy)
    rocket = items_repo.get_item(store.db, store.db.execute(
        "SELECT id FROM items WHERE source_name = 'rocket.jpg'").fetchone()[0])
    context = item_context(store.db, rocket)
    assert {(m.bank, m.kind) for m in context.matches} == {
        ("ncmec-hash-list-with-a-long-name-2026", "block"), ("memes-allow", "allow")}
    window = open_desk(qtbot, store, policy, SETTINGS)
    facts = window.facts
    facts.show_item(rocket)
    facts.show_context(rocket, context)
    text = facts._values["Bank matches"].text()
    assert "known violating</b></span> · ncmec-hash-list-with-a-long-name-2026" in text  # the full name
    assert "known benign</b></span> · memes-allow" in text
    assert facts.text_of("Suggested") == ("violence_gore (Enter applies it), from known violating bank "
                                          "ncmec-hash-list-with-a-long-name-2026")
    tip = facts._values["Bank matches"].toolTip()
    assert "ncmec-hash-list-with-a-long-name-2026 (block list: known violating)" in tip
    assert "memes-allow (allow list: known benign)" in tip
    painted = _painted(qtbot, facts._values["Bank matches"])
    assert _pixels_near(painted, "#f0a35e") > 20 and _pixels_near(painted, "#6fcf8e") > 20
    # Only the block match: no green is painted (the colour follows the kind).
    facts.show_context(rocket, type(context)(matches=tuple(m for m in context.matches if m.kind == "block")))
    painted = _painted(qtbot, facts._values["Bank matches"])
    assert _pixels_near(painted, "#f0a35e") > 20 and _pixels_near(painted, "#6fcf8e") == 0


def test_suggested_key_is_painted_in_the_accent_not_the_severity_red(qtbot, store, policy, tmp_path):
    _import(tmp_path, store, policy, [{"path": "retina.jpg"}])
    window = open_desk(qtbot, store, policy, SETTINGS)
    window.setStyleSheet(resource_path("theme.qss").read_text(encoding="utf-8"))  # as ui/app.py does, on the app
    window.labels.suggest("terrorism")
    key = window.labels._keycaps["terrorism"]
    painted = qimage_rgb(key.grab().toImage()).reshape(-1, 3).astype(int)
    red = _pixels_near(painted.reshape(1, -1, 3), "#c0392b")
    accent = _pixels_near(painted.reshape(1, -1, 3), "#1f6f8b", tol=20)
    assert red == 0 and accent > painted.shape[0] // 3
    assert key.toolTip() == "suggested by a bank match"
