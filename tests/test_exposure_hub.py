"""Exposure per person across desks: a hub answers GET /v1/exposure/today with the caller's total and
the part from other desks, and the desk's budget adds the other desks' part (never its own, nor a
neighbour's on the same machine that the ledger counts already, twice); offline, the last figure
stands. A real hub process, real stores."""

from __future__ import annotations

import pytest

from moderator import exposure
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


def reveal_decide_push(sync, review, item_id, ms):
    review.record_exposure(review.item(item_id), "reveal", now_iso(), ms)
    review.decide(item_id, "spam")
    assert sync.push().status.last_error is None


def budget_today(store, actor, hub_part):
    day = now_iso()[:10]
    return today(store.db, actor, day, 60, exposure.other_stores_ms(actor, day, store.path) + hub_part)


def test_the_hub_counts_other_machines_desks_once(tmp_path, sqlite_hub, monkeypatch):
    hub = sqlite_hub
    ids = add_items(hub, [{"priority": 3}, {"priority": 2}, {"priority": 1}])
    with desk(tmp_path / "a", hub, keep=1) as (store_a, sync_a, review_a), \
         desk(tmp_path / "b", hub, keep=1) as (store_b, sync_b, review_b), \
         desk(tmp_path / "c", hub, keep=1) as (store_c, sync_c, review_c):
        for sync in (sync_a, sync_b, sync_c):
            sync.pull_leases()
        held = [r.queue()[0].id for r in (review_a, review_b, review_c)]
        assert sorted(held) == sorted(ids)
        for s in (store_a, store_b, store_c):
            s.write(sync_repo.ensure_desk_id)
        reveal_decide_push(sync_a, review_a, held[0], 3_000)  # desk A and B: this machine (one ledger)
        reveal_decide_push(sync_b, review_b, held[1], 5_000)
        this_machine = exposure.ledger_path()
        monkeypatch.setenv("MODERATOR_CONFIG_DIR", str(tmp_path / "another-machine"))
        reveal_decide_push(sync_c, review_c, held[2], 7_000)  # desk C: another machine, its own ledger
        monkeypatch.setenv("MODERATOR_CONFIG_DIR", str(this_machine.parent))

        desk_a, desk_b = (s.write(sync_repo.ensure_desk_id) for s in (store_a, store_b))
        with hub.client("moderator", desk=desk_a) as http:
            body = http.get("/v1/exposure/today").json()
            without_b = http.get("/v1/exposure/today", params={"exclude": [desk_b]}).json()
            assert http.get("/v1/exposure/today", params={"day": "yesterday"}).status_code == 422
            assert http.get("/v1/exposure/today", params={"exclude": ["x"] * 51}).status_code == 422
        assert body["exposure_ms"] == 15_000 and body["other_desks_ms"] == 12_000
        assert without_b["other_desks_ms"] == 7_000

        on_a = HubExposure(HubConfig(hub.url, hub.tokens["moderator"], "env"), store_a, "tester")
        try:
            hub_part = on_a.other_desks_ms()
            assert hub_part == 7_000  # B is on this machine: the ledger counts it, the hub does not again
            assert budget_today(store_a, "tester", hub_part).exposure_ms == 15_000  # 3 + 5 + 7, each once
            hub.kill()
            assert on_a.other_desks_ms() == 7_000  # offline: the last figure stands
        finally:
            on_a.close()
            hub.start()


def test_the_desk_meter_adds_another_machines_desk(qtbot, tmp_path, sqlite_hub, monkeypatch, policy):
    from moderator.keymap import load_keymap
    from moderator.settings import Settings
    from storage.store import Store
    from ui.app import build_window

    hub = sqlite_hub
    add_items(hub, [{"priority": 2}, {"priority": 1}])
    this_machine = exposure.ledger_path().parent
    monkeypatch.setenv("MODERATOR_CONFIG_DIR", str(tmp_path / "another-machine"))
    with desk(tmp_path / "remote", hub, keep=1) as (_store, sync, review):
        sync.pull_leases()
        reveal_decide_push(sync, review, review.queue()[0].id, 62_000)  # 1:02 on another machine
    monkeypatch.setenv("MODERATOR_CONFIG_DIR", str(this_machine))
    store = Store(tmp_path / "desk")
    window = build_window(store, policy, load_keymap(), "tester", settings=Settings(palate_cleanser=False),
                          hub=HubConfig(hub.url, hub.tokens["moderator"], "env"))
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: "Exposure today 1:02" in window.meter.text(), timeout=30_000)
        assert window.wellness.today.elsewhere_ms == 62_000
        assert "other stores or desks" in window.meter.toolTip()
    finally:
        window._quit_confirmed = True
        window.close()
        window.sync.service.close()
        store.close()
