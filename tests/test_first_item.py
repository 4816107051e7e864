"""The desk's start-up fast path (ui/first_item.py): the top item read and its picture made on a thread
before the window exists are exactly what the reviewer's own path reads and prepares, the window shows
that same item with the same pixels and then the whole queue, takes no key before the whole queue is
read, and a picture that does not fit (another filter) is never shown: the reviewer prepares its own.
Real store, real photos, real widgets offscreen."""

from __future__ import annotations

import gc
import threading

import numpy as np
from PySide6.QtCore import Qt

from moderator.cli import main
from moderator.clock import now_iso
from moderator.keymap import load_keymap
from moderator.queue_state import QueueState
from moderator.review import ReviewService
from moderator.session import has_items
from moderator.settings import Settings
from storage import decisions as decisions_repo
from tests.desk_helpers import on_screen, painted_picture, qimage_rgb
from ui import first_item
from ui.app import build_window
from ui.images import prepare
from ui.prefetch import DEFAULT_SIZE


def test_the_early_size_is_the_caches():
    assert first_item.DEFAULT_SIZE == DEFAULT_SIZE


def pixels(prepared) -> np.ndarray:
    return qimage_rgb(prepared.filtered)


def open_window(qtbot, store, policy, settings, first=None):
    window = build_window(store, policy, load_keymap(), "tester", settings=settings, first_item=first)
    qtbot.addWidget(window)
    window.first_shown = []  # what the viewer's first `shown` put on screen
    window.viewer.shown.connect(lambda _id: window.first_shown.append(window.viewer.prepared))
    window.show()
    qtbot.waitUntil(lambda: on_screen(window), timeout=15000)
    return window


def test_the_early_read_and_picture_are_the_slow_paths(good_store, policy):
    service, settings = ReviewService(good_store, policy, "tester"), Settings()
    got = first_item.start(service, settings).result(timeout=30)
    full = QueueState(pinned_before=now_iso()).read(service.queue, service.hidden_until)
    assert len(full.items) > 1 and got.items == [full.items[0]] and got.top == full.items[0]
    assert got.hidden == service.hidden_until() and not got.complete  # the rest is the reviewer's to read
    top, early = got.items[0], got.prepared()
    assert early.item_id == top.id and early.size == DEFAULT_SIZE
    slow = prepare(top, first_item.filter_spec(policy, first_item.floored(settings, policy), top, 0), DEFAULT_SIZE)
    assert early.spec == slow.spec
    assert np.array_equal(pixels(early), pixels(slow))
    assert np.array_equal(qimage_rgb(early.original), qimage_rgb(slow.original))


def test_the_desk_shows_the_same_first_item_and_pixels_either_way(qtbot, good_store, policy):
    settings = Settings()
    slow = open_window(qtbot, good_store, policy, settings)
    slow_item, slow_picture = slow.reviewer.current.id, painted_picture(slow.viewer)
    slow_items = list(slow.reviewer.items)
    slow.close()
    first = first_item.start(ReviewService(good_store, policy, "tester"), settings)
    fast = open_window(qtbot, good_store, policy, settings, first)
    assert fast.reviewer.current.id == slow_item and list(fast.reviewer.items) == slow_items
    assert fast.first_shown[0] is first.result().prepared()  # the early picture is what was shown first
    assert np.array_equal(painted_picture(fast.viewer), slow_picture)
    fast.close()


def test_an_empty_queue_is_read_whole_and_shown_empty(qtbot, store, policy):
    got = first_item.start(ReviewService(store, policy, "tester"), Settings()).result(timeout=30)
    assert got.complete and got.items == [] and got.top is None and got.prepared() is None
    window = build_window(store, policy, load_keymap(), "tester", settings=Settings(),
                          first_item=first_item.start(ReviewService(store, policy, "tester"), Settings()))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.viewer.prepared is None and "queue is empty" in window.viewer._message,
                    timeout=15000)
    assert not window.reviewer.partial and window.reviewer.items == []
    window.close()


def held_window(qtbot, store, policy):
    """The desk started on the early read, with its reader thread held by the returned Event (its one
    thread: the rest of the queue is read after it), and the list of what the reviewer tells the
    moderator. The window is shown; returns (window, the top item, the Event, the messages)."""
    first = first_item.start(ReviewService(store, policy, "tester"), Settings())
    window = build_window(store, policy, load_keymap(), "tester", settings=Settings(), first_item=first)
    qtbot.addWidget(window)
    gate = threading.Event()
    window.reviewer.runner.run(lambda: gate.wait(30))
    messages: list[str] = []
    window.reviewer.message.connect(messages.append)
    window.show()
    window.viewer.setFocus()
    return window, first.result().top, gate, messages


def test_no_key_is_taken_before_the_whole_queue_is_read(qtbot, good_store, policy):
    """The top item is on screen while the rest is read; a decision key then is not taken (nothing is
    stored, the moderator is told), and once the read lands the same key decides the item on screen."""
    window, top, gate, messages = held_window(qtbot, good_store, policy)
    try:
        qtbot.waitUntil(lambda: window.viewer.prepared is not None and window.viewer.prepared.item_id == top.id,
                        timeout=15000)
        assert window.reviewer.partial and [i.id for i in window.reviewer.items] == [top.id]
        assert window.queue_panel.model.rowCount() == 1
        assert "open" not in window.queue_panel.title.text() + window.status_label.text()  # no count of one
        qtbot.keyClick(window.viewer, Qt.Key.Key_1)
        assert messages[-1] == "Still reading the queue: that key was not taken"
        assert not window.reviewer.saving and decisions_repo.history_for_items(good_store.db, [top.id]) == []
    finally:
        gate.set()
    qtbot.waitUntil(lambda: on_screen(window), timeout=15000)
    assert list(window.reviewer.items) == ReviewService(good_store, policy, "tester").queue()
    count = len(window.reviewer.items)
    assert window.queue_panel.model.rowCount() == count > 1 and window.queue_panel.title.text() == f"Queue · {count} open"
    assert window.reviewer.current.id == top.id
    qtbot.keyClick(window.viewer, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: decisions_repo.history_for_items(good_store.db, [top.id]) != [], timeout=15000)
    window.close()


def test_a_picture_made_for_another_filter_is_never_shown(qtbot, good_store, policy):
    """Made under the default blur, the window's settings blur more: the reviewer prepares its own."""
    first = first_item.start(ReviewService(good_store, policy, "tester"), Settings())
    window = open_window(qtbot, good_store, policy, Settings(blur=Settings().blur + 2), first)
    shown = window.first_shown[0]
    assert shown is not first.result().prepared() and shown.spec != first.result().preview.spec
    assert shown.spec == window.reviewer.spec_for(window.reviewer.current)
    window.close()


def test_a_failed_early_read_falls_back_to_the_reviewers_own(qtbot, good_store, policy):
    from concurrent.futures import Future

    broken: Future = Future()
    broken.set_exception(RuntimeError("the early read failed"))
    window = open_window(qtbot, good_store, policy, Settings(), broken)
    assert window.reviewer.current.id == ReviewService(good_store, policy, "tester").queue()[0].id
    window.close()


def test_has_items_is_the_demos_own_test(good_store, store):
    assert has_items(good_store) and not has_items(store)


def test_the_desk_command_turns_garbage_collection_back_on(tmp_path, capsys):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "store.sqlite3").write_bytes(b"not a database " * 100)
    assert main(["desk", "--data-dir", str(junk)]) != 0
    assert gc.isenabled()
    capsys.readouterr()


def test_a_failed_read_of_the_rest_is_tried_again(qtbot, good_store, policy):
    """The rest of the queue cannot be read (its media table is away): the moderator is told, keys still
    wait, and the read is tried again until it lands (the table back): then the whole queue is in."""
    window, top, gate, messages = held_window(qtbot, good_store, policy)
    window.reviewer.REREAD_MS = 100
    qtbot.waitUntil(lambda: window.viewer.prepared is not None and window.reviewer.partial, timeout=15000)
    good_store.write(lambda db: db.execute("ALTER TABLE media RENAME TO media_away"))
    gate.set()
    try:
        qtbot.waitUntil(lambda: any(m.startswith("Could not read the queue (") for m in messages), timeout=15000)
        qtbot.wait(300)  # a retry or more, each failing while the table is away
        assert window.reviewer.partial and [i.id for i in window.reviewer.items] == [top.id]
    finally:
        good_store.write(lambda db: db.execute("ALTER TABLE media_away RENAME TO media"))
    qtbot.waitUntil(lambda: on_screen(window), timeout=15000)
    assert list(window.reviewer.items) == ReviewService(good_store, policy, "tester").queue()
    assert sum(m.startswith("Could not read the queue (") for m in messages) >= 2
    window.close()
