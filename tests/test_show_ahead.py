"""After a decision key the next item is painted while the commit is flushed; keys wait for the save,
and a save that fails brings the decided item back on screen. The writer is held for real: a job on
the store's own writer thread that waits, so the save is provably still under way."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from moderator import export
from tests.desk_helpers import on_screen, open_desk, painted_picture, saturation


@pytest.fixture
def desk(qtbot, good_store, policy):
    window = open_desk(qtbot, good_store, policy)
    # every item prepared before the key, as after a moderator has looked at one for a moment
    qtbot.waitUntil(lambda: window.reviewer.cache.idle and not window.runner.busy, timeout=10000)
    yield window
    window.close()


def hold_writer(store) -> threading.Event:
    """Block the store's writer thread until the returned event is set (decisions queue behind it)."""
    release, started = threading.Event(), threading.Event()

    def wait(_db):
        started.set()
        release.wait(30)

    store.submit(wait)
    assert started.wait(10)
    return release


def decided(store) -> list[tuple[str, list[str]]]:
    return [(r["item_id"], r["labels"]) for r in export.export_rows(store.db, include_history=True)]


def test_the_next_item_is_painted_before_the_save_returns(qtbot, desk, good_store):
    ids = [i.id for i in desk.reviewer.items]
    release = hold_writer(good_store)
    try:
        qtbot.keyClick(desk.viewer, Qt.Key.Key_2)
        qtbot.waitUntil(lambda: desk.viewer.prepared.item_id == ids[1], timeout=5000)
        assert desk.reviewer.saving and decided(good_store) == []  # on screen, not yet saved
        assert desk.facts.text_of("Item") == (desk.reviewer.items[1].external_id or desk.reviewer.items[1].source_name)  # the panel follows
        assert saturation(painted_picture(desk.viewer)).max() <= 12  # filtered like any item
        qtbot.keyClick(desk.viewer, Qt.Key.Key_3)  # too early: the first save is still under way
    finally:
        release.set()
    qtbot.waitUntil(lambda: on_screen(desk) and not desk.runner.busy, timeout=10000)
    assert desk.reviewer.current.id == ids[1]
    assert decided(good_store) == [(ids[0], ["spam"])]  # one decision, on the item that was shown
    assert [i.id for i in desk.reviewer.items] == ids[1:]


def test_a_failed_save_brings_the_decided_item_back(qtbot, desk, good_store, tmp_path, monkeypatch):
    ids = [i.id for i in desk.reviewer.items]
    loose_key = tmp_path / "audit.key"
    loose_key.write_bytes(b"k" * 40)
    loose_key.chmod(0o644)  # the audit refuses a key others can read: the decision's write fails
    release = hold_writer(good_store)
    try:
        qtbot.keyClick(desk.viewer, Qt.Key.Key_2)
        qtbot.waitUntil(lambda: desk.viewer.prepared.item_id == ids[1], timeout=5000)
        monkeypatch.setenv("MODERATOR_AUDIT_KEY_FILE", str(loose_key))
    finally:
        release.set()
    qtbot.waitUntil(lambda: not desk.reviewer.saving and desk.viewer.prepared.item_id == ids[0], timeout=10000)
    assert "Not saved" in desk.statusBar().currentMessage()
    assert decided(good_store) == [] and [i.id for i in desk.reviewer.items] == ids
    assert desk.facts.text_of("Item") == (desk.reviewer.items[0].external_id or desk.reviewer.items[0].source_name)
    monkeypatch.delenv("MODERATOR_AUDIT_KEY_FILE")
    qtbot.waitUntil(lambda: on_screen(desk))
    qtbot.keyClick(desk.viewer, Qt.Key.Key_2)  # the same key again saves it
    qtbot.waitUntil(lambda: on_screen(desk) and not desk.runner.busy and bool(decided(good_store)), timeout=10000)
    assert decided(good_store) == [(ids[0], ["spam"])]


def test_a_high_severity_decision_shows_the_calm_screen_not_the_next_item(qtbot, desk, good_store, policy):
    severe = max(policy.labels, key=lambda lb: lb.severity)
    assert severe.severity >= desk.reviewer.settings.high_severity
    ids = [i.id for i in desk.reviewer.items]
    release = hold_writer(good_store)
    try:
        qtbot.keyClick(desk.viewer, getattr(Qt.Key, f"Key_{severe.key}"))
        qtbot.wait(100)
        assert desk.viewer.prepared.item_id == ids[0]  # nothing of the next item before the calm screen
    finally:
        release.set()
    qtbot.waitUntil(lambda: desk.viewer.calm, timeout=10000)
