"""`moderator desk --qa` over a real hub process (SQLite and PostgreSQL) and the real QA window offscreen:
tasks are leased from the hub with their media, nothing of the reviewed decision is on the desk before
the QA key (not in the local store, not in any visible text, not in the painted pixels), the judgement
reaches the hub with qa_of and the QA lease, only then is the original read and shown; leases are
renewed and handed back on quit; offline, 401 and a lease that ran out are one line, nothing lost."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from moderator.clock import parse_iso, utc_now
from moderator.domain import DecisionSource
from moderator.hub_config import HubConfig
from moderator.keymap import load_keymap
from moderator.qa_hub import HubQaSource
from moderator.qa_service import QaError, QaService
from storage import decisions as decisions_repo
from storage import qa_outbox
from storage.hub_client import HubRefused
from storage.qa_hub_client import QaHubClient
from tests.desk_helpers import on_screen, painted_picture, saturation
from tests.hub_fixtures import poll
from tests.test_hub_qa import _analyst, _decided, _one, _sample
from tests.test_qa_desk import GRAY, label_key, visible_texts
from ui.app import build_window

NOTE = "looked twice"  # what _decided's moderator wrote on every decision


def _work(hub, n: int):
    """n decisions by a new moderator, sampled for a new analyst: (analyst, token, pushed decisions)."""
    mod_token, pushed = _decided(hub, n)
    name, token = _analyst(hub)
    _sample(hub, "--percent", "100", "--seed", "3", "--analyst", name)
    return name, token, pushed


def _source(store, policy, hub, name: str, token: str) -> HubQaSource:
    return HubQaSource(store, policy, name, QaHubClient(hub.url, token, f"desk-{uuid.uuid4().hex[:8]}"))


def _open(qtbot, store, policy, hub, name: str, token: str):
    window = build_window(store, policy, load_keymap(), name, qa=True, hub=HubConfig(hub.url, token, "env"))
    qtbot.addWidget(window)
    window.show()
    window.viewer.setFocus()
    return window


def _hub_rows(hub, query):
    engine = hub.engine()
    try:
        with engine.connect() as conn:
            return list(conn.execute(query))
    finally:
        engine.dispose()


def _mod_actor(hub, decision_uuid: str) -> str:
    from upstream.schema import decisions

    return _one(hub, select(decisions.c.actor).where(decisions.c.uuid == decision_uuid))[0]


def _assert_blind(window, words: list[str]) -> None:
    shown = visible_texts(window)
    for word in words:
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", shown, re.I), f"{word!r} visible before the key"
    assert window.labels.suggested() is None
    assert window.verdict_panel.headline.text() == "BLIND RE-REVIEW"
    assert saturation(painted_picture(window.viewer)).max() <= GRAY  # filtered, as the moderator saw it


def test_the_qa_desk_leases_from_the_hub_and_sees_the_original_only_after_the_judgement(qtbot, hub, store, policy):
    from upstream.schema import decisions, qa_tasks

    name, token, pushed = _work(hub, 2)
    by_uuid = {d["uuid"]: d for d in pushed}
    window = _open(qtbot, store, policy, hub, name, token)
    qtbot.waitUntil(lambda: on_screen(window) and len(window.reviewer.items) >= 2, timeout=30000)
    assert window.qa.remote and window.sync is None  # no moderation sync on the QA desk
    mine = {i.id for i in window.reviewer.items}
    tasks = {r.id: r.decision_uuid for r in _hub_rows(hub, select(qa_tasks.c.id, qa_tasks.c.decision_uuid)
                                                      .where(qa_tasks.c.id.in_(mine)))}
    ours = [t for t, d in tasks.items() if d in by_uuid]
    assert len(ours) == 2
    done = 0
    while done < 2:
        qtbot.waitUntil(lambda: on_screen(window), timeout=10000)
        task_id = window.reviewer.current.id
        reviewed = tasks[task_id]
        if reviewed not in by_uuid:  # another test's sample for no analyst in particular: skip it
            qtbot.keyClick(window.viewer, Qt.Key.Key_S)
            continue
        moderator = _mod_actor(hub, reviewed)
        # Before the key: the reviewed decision is nowhere on this desk, nor its actor, label or note.
        assert decisions_repo.decision_by_uuid(store.db, reviewed) is None
        assert not any(moderator in str(row) for row in store.db.execute("SELECT * FROM decisions"))
        _assert_blind(window, [moderator, NOTE, "spam", policy.label("spam").title, "remove"])
        label = "no_violation" if done == 0 else "spam"
        qtbot.keyClick(window.viewer, label_key(policy, label))
        qtbot.waitUntil(lambda: window.reviewer.verdict is not None, timeout=30000)
        # On the hub: the QA row with qa_of and this task's lease; the task judged.
        [qa] = _hub_rows(hub, select(decisions.c.uuid, decisions.c.labels, decisions.c.lease_id, decisions.c.status)
                         .where(decisions.c.qa_of == reviewed))
        assert qa.status == "accepted" and label in qa.labels
        assert _one(hub, select(qa_tasks.c.state).where(qa_tasks.c.id == task_id))[0] == "judged"
        # After: the original is shown beside the QA label, and kept here as imported history.
        panel = window.verdict_panel.text()
        assert moderator in panel and policy.label("spam").title in panel and NOTE in panel
        assert (window.verdict_panel.headline.text() == "AGREE") == (label == "spam")
        here = decisions_repo.decision_by_uuid(store.db, qa.uuid)
        assert here.source is DecisionSource.QA and here.qa_of == reviewed and here.labels == (label,)
        assert decisions_repo.decision_by_uuid(store.db, reviewed).actor == moderator
        assert qa_outbox.counts(store.db) == {"unsent": 0, "rejected": 0}
        if label == "spam":
            qtbot.keyClick(window.viewer, Qt.Key.Key_3)  # any key moves on
        else:
            assert "resolve (final label + note)" in window.verdict_panel.keys.text()
            _resolve_on_hub(qtbot, window, hub, store, task_id, reviewed, name)
        qtbot.waitUntil(lambda: window.reviewer.verdict is None, timeout=10000)
        done += 1
    window.close()
    # Judged tasks' leases ended with the judgement; quitting handed back the rest: none is held.
    for t in mine:
        assert _one(hub, select(qa_tasks.c.lease_id).where(qa_tasks.c.id == t))[0] is None


def _resolve_on_hub(qtbot, window, hub, store, task_id: str, reviewed: str, analyst: str) -> None:
    """Enter, the final label's key and a note, Enter: the hub's standing decision becomes the resolution
    (before it, the judgement alone left the original standing there)."""
    from moderator.decision_log import standing
    from upstream.decisions import stored_decision
    from upstream.schema import decisions

    def hub_standing():
        [item_id] = {r.item_id for r in _hub_rows(hub, select(decisions.c.item_id).where(decisions.c.uuid == reviewed))}
        return standing(stored_decision(r._mapping) for r in _hub_rows(
            hub, select(decisions).where(decisions.c.item_id == item_id, decisions.c.status == "accepted")
            .order_by(decisions.c.seq)))

    assert hub_standing().uuid == reviewed
    qtbot.keyClick(window.viewer, Qt.Key.Key_Return)
    qtbot.waitUntil(window.resolve_bar.isVisible, timeout=5000)
    bar = window.resolve_bar
    qtbot.keyClick(bar, Qt.Key.Key_2)  # the final label: spam
    assert bar.final_label == "spam" and window.focusWidget() is bar.note
    qtbot.keyClicks(bar.note, "hub resolution 7")
    qtbot.keyClick(bar.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.reviewer.verdict is None, timeout=30000)
    now = hub_standing()
    assert (now.source, now.qa_of, now.supersedes, now.labels, now.note, now.actor) == (
        DecisionSource.QA, reviewed, reviewed, ("spam",), "hub resolution 7", analyst)
    assert "Resolved" in window.statusBar().currentMessage()
    here = decisions_repo.decision_by_uuid(store.db, now.uuid)  # kept here as imported history
    assert here is not None and here.qa_of == reviewed and here.supersedes == reviewed
    assert store.db.execute("SELECT count(*) FROM audit_log WHERE event = 'qa_hub_resolved' AND subject = ?",
                            (task_id,)).fetchone()[0] == 1


def test_renew_keeps_leases_and_release_hands_them_back(hub, store, policy):
    from upstream.schema import qa_tasks

    name, token, _ = _work(hub, 1)
    source = _source(store, policy, hub, name, token)
    try:
        [task] = QaService(store, policy, name, hub=source).open_tasks()
        before = source.held[task.task_id].expires_at
        assert source.renew() == []  # not half used yet: nothing to do
        assert source.renew(all_held=True) == []
        after = source.held[task.task_id].expires_at
        assert after >= before
        on_hub = _one(hub, select(qa_tasks.c.lease_expires_at).where(qa_tasks.c.id == task.task_id))[0]
        assert on_hub == after
        with pytest.raises(HubRefused) as before_judgement:  # the desk could not read it early if it tried
            source.client.qa_original(task.task_id)
        assert before_judgement.value.status == 409
        assert source.release_all() == 1 and not source.held
        assert _one(hub, select(qa_tasks.c.lease_id).where(qa_tasks.c.id == task.task_id))[0] is None
        assert task.item.suggested_label is None and task.item.match_badges == ()
    finally:
        source.close()


def test_offline_the_judgement_stays_in_the_outbox_and_goes_up_later(qtbot, hub_factory, store, policy):
    fresh = hub_factory("sqlite")
    name, token, pushed = _work(fresh, 1)
    window = _open(qtbot, store, policy, fresh, name, token)
    qtbot.waitUntil(lambda: on_screen(window), timeout=30000)
    reviewed = pushed[0]["uuid"]
    fresh.kill()
    qtbot.keyClick(window.viewer, label_key(policy, "spam"))
    qtbot.waitUntil(lambda: "kept on this desk" in window.statusBar().currentMessage(), timeout=30000)
    message = window.statusBar().currentMessage()
    assert "\n" not in message and "Traceback" not in message and "unreachable" in message
    assert window.reviewer.verdict is None  # the original stays unknown here
    assert decisions_repo.decision_by_uuid(store.db, reviewed) is None
    assert qa_outbox.counts(store.db)["unsent"] == 1
    [kept] = qa_outbox.unsent(store.db)
    assert kept.decision["qa_of"] == reviewed and kept.decision["source"] == "qa"
    window.close()
    fresh.start()  # back (on a new port): a desk started again pushes what waited
    source = _source(store, policy, fresh, name, token)
    try:
        assert source.push_pending() == 1
    finally:
        source.close()
    assert qa_outbox.counts(store.db) == {"unsent": 0, "rejected": 0}
    assert decisions_repo.decision_by_uuid(store.db, kept.uuid).qa_of == reviewed


def test_a_bad_token_is_one_line_and_nothing_changes(qtbot, hub, store, policy):
    window = _open(qtbot, store, policy, hub, "qa-nobody", "not-a-token")
    qtbot.waitUntil(lambda: "QA tasks not loaded" in window.statusBar().currentMessage(), timeout=30000)
    message = window.statusBar().currentMessage()
    assert "401" in message and "moderator login" in message and "\n" not in message
    assert window.reviewer.items == [] or len(window.reviewer.items) == 0
    assert qa_outbox.counts(store.db) == {"unsent": 0, "rejected": 0}
    window.close()


def test_a_lease_that_ran_out_mid_review_is_refused_and_kept(hub_factory, store, policy):
    short = hub_factory("sqlite", "--lease-seconds", "2")
    name, token, pushed = _work(short, 1)
    source = _source(store, policy, short, name, token)
    qa = QaService(store, policy, name, hub=source)
    try:
        [task] = qa.open_tasks()
        expires = parse_iso(source.held[task.task_id].expires_at)
        poll(lambda: utc_now() > expires + timedelta(milliseconds=300), timeout=30)
        outcome = qa.judge(task.task_id, "spam")
        assert outcome.original is None and "refused" in outcome.pending and "expired" in outcome.pending
        assert qa_outbox.counts(store.db) == {"unsent": 0, "rejected": 1}  # kept, with the hub's reason
        assert decisions_repo.decision_by_uuid(store.db, pushed[0]["uuid"]) is None
        with pytest.raises(QaError, match="no open QA task"):
            qa.judge(task.task_id, "spam")  # never judged twice
        [again] = qa.open_tasks()  # the hub hands the task out again, under a new lease
        assert again.task_id == task.task_id
        poll(lambda: utc_now() > parse_iso(source.held[again.task_id].expires_at) + timedelta(milliseconds=300),
             timeout=30)
        assert source.renew(all_held=True) == [again.task_id] and not source.held  # lost: dropped
    finally:
        source.close()


def _csam_match(hub, item_id: str) -> None:
    """A known-CSAM bank match on a hub item, written as hub matching writes one."""
    from sqlalchemy import insert

    from upstream.db import write_tx
    from upstream.schema import bank_entries, banks, matches

    bank, at = f"known-csam-{uuid.uuid4().hex[:6]}", "2026-12-01T10:00:00Z"
    engine = hub.engine()
    try:
        with write_tx(engine) as conn:
            conn.execute(insert(banks).values(name=bank, kind="block", signal_type="pdq", threshold=31,
                                              action="escalate", created_at=at))
            entry = conn.execute(insert(bank_entries).values(bank=bank, signal_type="pdq", hash="f" * 64,
                                                             label="csam_suspected", added_at=at, added_by="lead",
                                                             version=1)).inserted_primary_key[0]
            conn.execute(insert(matches).values(item_id=item_id, bank=bank, entry_id=entry, distance=3,
                                                signal_type="pdq", label="csam_suspected", matched_at=at))
    finally:
        engine.dispose()


def test_a_known_csam_match_keeps_its_floor_on_the_qa_desk_unseen(qtbot, hub, store, policy):
    """The lease sends the filter its hidden match gives, not the match: no reveal, no peek, blurred,
    and still nothing of the bank or its label on screen."""
    from moderator.domain import Reveal

    name, token, pushed = _work(hub, 1)
    _csam_match(hub, pushed[0]["item_id"])
    window = _open(qtbot, store, policy, hub, name, token)
    qtbot.waitUntil(lambda: on_screen(window) and bool(window.reviewer.items), timeout=30000)
    r = window.reviewer
    row = next(n for n, i in enumerate(r.items) if r.tasks[i.id].id == pushed[0]["item_id"])
    r.go_to(row)
    qtbot.waitUntil(lambda: on_screen(window) and window.viewer.prepared.item_id == r.current.id, timeout=10000)
    spec = r.spec_for(r.current)
    assert spec.reveal is Reveal.NONE and spec.blur == 6  # the CSAM floor, as the moderator had it
    assert r.tasks[r.current.id].suggested_label is None  # the match itself is not on the desk
    assert store.db.execute("SELECT COUNT(*) FROM matches").fetchone()[0] == 0
    qtbot.keyPress(window.viewer, Qt.Key.Key_Space)  # hold to peek: refused
    qtbot.wait(200)
    assert saturation(painted_picture(window.viewer)).max() <= GRAY
    qtbot.keyRelease(window.viewer, Qt.Key.Key_Space)
    _assert_blind(window, ["known-csam", "csam_suspected", policy.label("csam_suspected").title])
    window.close()


def test_quitting_hands_back_the_leases_of_tasks_not_judged(qtbot, hub, store, policy):
    from upstream.schema import qa_tasks

    name, token, _ = _work(hub, 2)
    window = _open(qtbot, store, policy, hub, name, token)
    qtbot.waitUntil(lambda: on_screen(window) and len(window.reviewer.items) >= 2, timeout=30000)
    ids = [i.id for i in window.reviewer.items]  # (the sample holds earlier tests' decisions too)
    held = _hub_rows(hub, select(qa_tasks.c.lease_id).where(qa_tasks.c.id.in_(ids)))
    assert all(r.lease_id for r in held)
    window.close()
    back = _hub_rows(hub, select(qa_tasks.c.lease_id, qa_tasks.c.state).where(qa_tasks.c.id.in_(ids)))
    assert [tuple(r) for r in back] == [(None, "pending")] * len(ids)


def test_a_lease_running_out_on_the_desk_is_one_line_and_the_task_leaves(qtbot, hub_factory, store, policy):
    short = hub_factory("sqlite", "--lease-seconds", "2")
    name, token, _ = _work(short, 1)
    window = _open(qtbot, store, policy, short, name, token)
    qtbot.waitUntil(lambda: on_screen(window) and len(window.reviewer.items) == 1, timeout=30000)
    window.hub_driver._timer.stop()  # no renewals: let it run out
    source = window.qa.hub
    [held] = source.held.values()
    poll(lambda: utc_now() > parse_iso(held.expires_at) + timedelta(milliseconds=300), timeout=30)
    window.hub_driver.sync_round()
    qtbot.waitUntil(lambda: "ran out" in window.statusBar().currentMessage(), timeout=30000)
    assert window.statusBar().currentMessage() == "The QA lease of this task ran out: it went back to the hub"
    assert window.reviewer.current is None or window.reviewer.current.id != held.task_id
    assert qa_outbox.counts(store.db) == {"unsent": 0, "rejected": 0}
    window.close()
