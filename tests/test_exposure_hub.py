"""Exposure per person across desks: a hub answers GET /v1/exposure/today with the caller's total and
the part from other desks, and the desk's budget adds the other desks' part (never its own twice);
offline, the last figure stands. A real hub process, real stores."""

from __future__ import annotations

import pytest

from moderator.clock import now_iso
from moderator.exposure import HubExposure
from moderator.hub_config import HubConfig
from moderator.wellness import today
from storage import sync as sync_repo
from tests.hub_fixtures import add_items, hub_factory, pg_server  # noqa: F401
from tests.sync_fixtures import desk


@pytest.fixture
def sqlite_hub(hub_factory):  # noqa: F811
    return hub_factory("sqlite")


def reveal_decide_push(store, sync, review, item_id, ms):
    item = review.item(item_id)
    review.record_exposure(item, "reveal", now_iso(), ms)
    review.decide(item_id, "spam")
    assert sync.push().status.last_error is None


def test_the_hub_counts_every_desk_and_the_desk_adds_only_the_others(tmp_path, sqlite_hub):
    hub = sqlite_hub
    ids = add_items(hub, [{"priority": 2}, {"priority": 1}])
    with desk(tmp_path / "a", hub, keep=1) as (store_a, sync_a, review_a), \
         desk(tmp_path / "b", hub, keep=1) as (store_b, sync_b, review_b):
        sync_a.pull_leases()
        sync_b.pull_leases()
        (held_a,), (held_b,) = ([i.id for i in r.queue()] for r in (review_a, review_b))
        assert {held_a, held_b} == set(ids)
        reveal_decide_push(store_a, sync_a, review_a, held_a, 3_000)
        reveal_decide_push(store_b, sync_b, review_b, held_b, 5_000)
        desk_a = store_a.write(sync_repo.ensure_desk_id)
        with hub.client("moderator", desk=desk_a) as http:
            body = http.get("/v1/exposure/today").json()
            assert http.get("/v1/exposure/today", params={"day": "yesterday"}).status_code == 422
        assert body["exposure_ms"] == 8_000 and body["other_desks_ms"] == 5_000
        config = HubConfig(hub.url, hub.tokens["moderator"], "env")
        on_a = HubExposure(config, store_a)
        try:
            other = on_a.other_desks_ms()
            assert other == 5_000
            day = now_iso()[:10]
            # desk A's own 3 s from its store, desk B's 5 s from the hub (the ledger has B's store too:
            # this machine runs both desks, so the test asks the store and the hub only)
            assert today(store_a.db, "tester", day, 60, other).exposure_ms == 8_000
            hub.kill()
            assert on_a.other_desks_ms() == 5_000  # offline: the last figure stands
        finally:
            on_a.close()
            hub.start()
