"""A desk whose audit log was cut short (restored from an old copy) shows up on the hub: every push
carries the desk's audit head, and `moderator hub status` names the desk whose head went backwards."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.hub_fixtures import add_items, clear_queue
from tests.sync_fixtures import desk


@pytest.fixture(scope="module")
def hub(hub_factory):
    """SQLite only: the head checks are the hub's Python over rows both databases store alike
    (tests/test_hub_reports.py runs them on both)."""
    return hub_factory("sqlite")


def test_a_desk_restored_from_an_old_copy_is_named_by_hub_status(tmp_path, hub):
    clear_queue(hub)
    first, second = add_items(hub, [{"priority": 2}, {"priority": 1}])
    folder, backup = tmp_path / "desk", tmp_path / "backup"
    with desk(folder, hub) as (store, sync, review):
        sync.pull_leases()
        review.decide(first, "spam")
        assert sync.push().status.unsynced == 0
    shutil.copytree(folder, backup)  # the copy someone restores later: one decision, a shorter log
    with desk(folder, hub) as (store, sync, review):
        review.decide(second, "spam")
        assert sync.push().status.unsynced == 0
    shutil.rmtree(folder)
    shutil.copytree(backup, folder)
    with desk(folder, hub) as (store, sync, review):
        review.decide(second, "no_violation")  # the restored desk still holds the lease on `second`
        sync.push()
        desk_id = store.db.execute("SELECT value FROM sync_state WHERE key = 'desk_id'").fetchone()[0]
    status = json.loads(hub.cli("status", "--json").stdout)
    named = [h for h in status["desk_heads"] if h["desk"] == desk_id]
    assert named and named[0]["actor"] == "moderator-1", status["desk_heads"]
    human = hub.cli("status")
    assert human.returncode == 0 and desk_id in human.stdout
