"""Offline first and exactly once: decisions made while the hub is away wait and go up in order; a hub
killed -9 mid-push, or a desk killed mid-sync, loses nothing and doubles nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading

import pytest

from moderator.sync_backoff import Backoff
from storage import sync as sync_repo
from storage.store import Store
from tests.hub_fixtures import add_items, hub_factory, pg_server, poll  # noqa: F401
from tests.sync_fixtures import audit_intact, decide_and_undo, desk, free_port, hub_decisions, outbox


def _sent(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").fetchone()[0]


def test_backoff_is_exponential_with_full_jitter_and_capped():
    now = [0.0]
    b = Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(5), clock=lambda: now[0])
    assert b.ready() and b.wait_s() == 0
    delays = [b.failed() for _ in range(12)]
    assert all(0 <= d <= min(8.0, 2.0 ** (n + 1)) for n, d in enumerate(delays))
    assert max(delays[3:]) > 4.0  # once capped, waits spread over the whole range, not just its start
    assert not b.ready() and b.wait_s() == pytest.approx(delays[-1])
    now[0] += delays[-1]
    assert b.ready()
    b.succeeded()
    assert b.failures == 0 and b.ready()
    many = Backoff(base_s=1, cap_s=60, failures=10_000)  # a hub away for days: no float overflow
    assert 0 <= many.failed() <= 60


def test_offline_decisions_wait_and_go_up_in_order_exactly_once(tmp_path, hub_factory):  # noqa: F811
    hub = hub_factory("sqlite", "--port", str(free_port()))  # a fixed port: the restarted hub is at the same URL
    ids = add_items(hub, 4)
    now = [0.0]
    backoff = Backoff(base_s=1.0, cap_s=60.0, rng=random.Random(2), clock=lambda: now[0])
    with desk(tmp_path / "desk", hub, keep=4, backoff=backoff) as (store, sync, review):
        assert sync.pull_leases().counts["leased"] == 4
        hub.kill()
        for item_id in ids:  # the desk keeps working on what it holds
            review.decide(item_id, "spam")
        failed = sync.push()
        assert not failed.status.online and "unreachable" in failed.status.last_error
        assert failed.status.unsynced == 4 and backoff.failures == 1
        assert failed.status.retry_in_s == pytest.approx(backoff.next_at, abs=0.001)
        assert all(r[2] is None and r[3] == 1 and "unreachable" in r[4] for r in outbox(store))

        held_back = sync.sync_round()  # still backing off: no call at all, nothing counted
        assert held_back.counts == {} and [r[3] for r in outbox(store)] == [1, 1, 1, 1]

        now[0] = backoff.next_at
        sync.push()
        assert backoff.failures == 2 and [r[3] for r in outbox(store)] == [2, 2, 2, 2]

        hub.start()
        now[0] = backoff.next_at
        back = sync.push()
        assert back.status.online and back.status.last_error is None and back.status.unsynced == 0
        assert back.counts["accepted"] == 4 and backoff.failures == 0
        local = [r[1] for r in outbox(store)]
        assert [r[0] for r in hub_decisions(hub, sync_repo.desk_id(store.db))] == local
        assert audit_intact(store) == []


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_hub_killed_mid_push_every_decision_arrives_exactly_once(tmp_path, hub_factory, db):  # noqa: F811
    hub = hub_factory(db, "--port", str(free_port()))
    ids = add_items(hub, 20)
    with desk(tmp_path / "desk", hub, keep=20, batch=5) as (store, sync, review):
        sync.pull_leases()
        written = decide_and_undo(review, ids, 10)
        assert written == 400
        pusher = threading.Thread(target=sync.push)
        pusher.start()
        poll(lambda: _sent(store) > 0, timeout=60, interval=0.002)
        hub.kill()
        pusher.join(60)
        assert not pusher.is_alive()
        assert 0 < _sent(store) < written, "the hub was to die mid-push"
        assert not sync.last_status.online
        hub.start()
        poll(lambda: sync.push().status.unsynced == 0, timeout=60, interval=0.05)
        local = [r[1] for r in outbox(store)]
        on_hub = hub_decisions(hub, sync_repo.desk_id(store.db))
        assert [r[0] for r in on_hub] == local  # every row once, in the desk's order
        assert {r[2] for r in on_hub} == {"accepted"}
        assert audit_intact(store) == []


def test_desk_killed_mid_sync_resumes_nothing_lost_nothing_doubled(tmp_path, hub_factory):  # noqa: F811
    hub = hub_factory("sqlite")
    ids = add_items(hub, 50)
    folder = tmp_path / "desk"
    with desk(folder, hub, keep=50) as (_store, sync, review):
        sync.pull_leases()
        written = decide_and_undo(review, ids, 20)
    assert written == 2000
    env = {**os.environ, "MODERATOR_HUB_URL": hub.url, "MODERATOR_HUB_TOKEN": hub.tokens["moderator"]}
    argv = [sys.executable, "-m", "moderator", "sync", "--once", "--json", "--keep", "0", "--batch-size", "10",
            "--data-dir", str(folder)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with Store(folder, readonly=True) as reader:
            poll(lambda: _sent(reader) > 0, timeout=60, interval=0.002)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
            at_kill = _sent(reader)
            assert 0 < at_kill < written, "the desk was to die mid-push"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["unsynced"] == 0 and summary["online"] and summary["error"] is None
    # What the killed run had not marked sent goes up again; only its last batch can be on the hub already.
    assert summary["accepted"] + summary["duplicate"] == written - at_kill and summary["duplicate"] <= 10
    with Store(folder) as store:
        local = [r[1] for r in outbox(store)]
        assert all(r[2] is not None for r in outbox(store))
        on_hub = hub_decisions(hub, sync_repo.desk_id(store.db))
        assert [r[0] for r in on_hub] == local and len(local) == written
        assert audit_intact(store) == []
