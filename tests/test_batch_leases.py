"""With a hub, a batch covers only items this desk still holds leases on when it is written: a lease
returned or run out between the selection and the commit refuses the whole batch with one line that
says how many (nothing written: no decision, outbox or audit row); the items still held then go as
one batch and one push. A real hub process, a real store; and the grid's own check, in the window,
for a lease that ends while the batch's question is open."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from moderator.batch_confirm import Holding, not_held, not_held_refusal
from moderator.clock import iso, utc_now
from moderator.domain import ItemStatus
from moderator.review import ReviewError
from storage import sync as sync_repo
from tests.hub_fixtures import add_items, clear_queue
from tests.sync_fixtures import audit_intact, desk, hub_decisions

LEASE_S = 3


@pytest.fixture(scope="module")
def short_hub(hub_factory):
    return hub_factory("sqlite", "--lease-seconds", str(LEASE_S))


def written(store) -> tuple[int, ...]:
    return tuple(store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("decisions", "outbox", "audit_log"))


def test_the_rule_and_its_line():
    now = utc_now()
    later, earlier = iso(now + timedelta(minutes=5)), iso(now - timedelta(seconds=1))
    rows = [Holding("local", ItemStatus.DECIDED, False), Holding("held", ItemStatus.PENDING, True, "held", later),
            Holding("ran-out", ItemStatus.PENDING, True, "held", earlier),
            Holding("returned", ItemStatus.RELEASED, True, "returned", later),
            Holding("no-lease", ItemStatus.PENDING, True)]
    assert not_held(rows, now) == ["ran-out", "returned", "no-lease"]
    assert not_held_refusal(1, 3).startswith("1 of the 3 items is no longer held by this desk")
    assert not_held_refusal(2, 3).startswith("2 of the 3 items are no longer held")
    assert not_held_refusal(4, 4).startswith("All 4 items are no longer held")
    assert "nothing was labelled" in not_held_refusal(1, 1) and "\n" not in not_held_refusal(2, 9)


def test_a_returned_lease_refuses_the_batch_and_the_held_ones_go_up_as_one(tmp_path, short_hub):
    clear_queue(short_hub)
    add_items(short_hub, 3)
    with desk(tmp_path / "desk", short_hub, keep=3) as (store, sync, review):
        assert sync.pull_leases().counts["leased"] == 3
        selected = [i.id for i in review.queue()]
        sync.return_item(selected[1])  # between the selection and the commit, the lease goes back
        before = written(store)
        with pytest.raises(ReviewError) as refused:
            review.decide_batch(selected, "spam")
        assert str(refused.value) == not_held_refusal(1, 3)
        assert written(store) == before  # nothing of the batch

        held = [selected[0], selected[2]]
        result = review.decide_batch(held, "spam")
        assert len({d.batch_id for d in result.decisions}) == 1 and len(result.decisions) == 2
        pushed = sync.push()
        assert pushed.counts["accepted"] == 2
        on_hub = {item_id: status for _, item_id, status, _ in hub_decisions(short_hub)}
        assert on_hub == {held[0]: "accepted", held[1]: "accepted"}  # the returned item: nothing
        assert audit_intact(store) == []


def test_a_lease_that_ran_out_unnoticed_refuses_the_batch(tmp_path, short_hub):
    """No renewal ran (offline, or the sync timer between rounds): the lease's time is up by the clock
    although the store still says held."""
    clear_queue(short_hub)
    [first] = add_items(short_hub, 1)
    with desk(tmp_path / "desk", short_hub, keep=3) as (store, sync, review):
        assert sync.pull_leases().counts["leased"] == 1
        [lease] = sync_repo.leases(store.db, sync_repo.HELD)
        time.sleep(LEASE_S + 0.5)
        add_items(short_hub, [{"priority": 10}, {"priority": 10}])  # handed out before the first again
        assert sync.pull_leases().counts["leased"] == 2  # two fresh leases beside the one that ran out
        selected = [i.id for i in review.queue()]
        assert first in selected and len(selected) == 3
        assert sync_repo.leases(store.db, sync_repo.HELD)[0].lease_id == lease.lease_id  # still "held" here
        before = written(store)
        with pytest.raises(ReviewError, match="^1 of the 3 items is no longer held by this desk"):
            review.decide_batch(selected, "spam")
        assert written(store) == before
        assert len(review.decide_batch([i for i in selected if i != first], "spam").decisions) == 2


def test_the_grid_refuses_a_batch_whose_lease_ended_while_its_question_was_open(qtbot, tmp_path, policy, short_hub):
    from tests.grid_helpers import decisions, grid_ready
    from tests.test_desk_sync import close_desk, open_hub_desk

    clear_queue(short_hub)
    add_items(short_hub, 3)
    store, window = open_hub_desk(qtbot, tmp_path, policy, short_hub)
    try:
        r = window.reviewer
        qtbot.waitUntil(lambda: len(r.items) == 3 and window.viewer.prepared is not None, timeout=30000)
        qtbot.keyClick(window.viewer, Qt.Key.Key_G)
        grid = window.grid
        qtbot.waitUntil(lambda: grid_ready(window), timeout=20000)
        window.sync._timer.stop()  # no sync round of its own meanwhile: this test ends the lease
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=20000)
        grid.select_all()
        victim = grid.model.item_at(1).id
        qtbot.keyClick(grid.list, Qt.Key.Key_9)  # suspected CSAM escalates: the question comes first
        qtbot.waitUntil(grid.confirm.isVisible)
        r.apply_changes(window.sync.service.return_item(victim).changes)  # meanwhile its lease goes
        qtbot.waitUntil(lambda: r.queue.get(victim) is None)
        messages = []
        grid.message.connect(messages.append)
        qtbot.keyClick(grid.confirm, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: bool(messages))
        assert messages[-1] == not_held_refusal(1, 3)
        qtbot.wait(200)
        assert decisions(store) == [] and not r.saving
    finally:
        close_desk(qtbot, window, store)

