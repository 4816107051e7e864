"""The report context and escalation targets over a real hub process: the hub's items carry the context
(checked like a manifest's), the lease payload hands it to the desk, and a desk's escalation to a
target is replayed by the hub with its target and reason."""

from __future__ import annotations

import pytest

from moderator.escalation import Escalation
from storage import items as items_repo
from tests.hub_fixtures import add_items, clear_queue, hub_factory, pg_server  # noqa: F401
from tests.sync_fixtures import desk, hub_rows

CONTEXT = {"reporter": "user:88412", "reported_account": "@sunset_deals",
           "post_text": "Limited offer!!\nDM me for the link", "source_url": "https://example.org/p/771",
           "original_name": "IMG_2041.JPG"}


@pytest.fixture(scope="module")
def sqlite_hub(hub_factory):  # noqa: F811
    return hub_factory("sqlite")


def test_lease_payload_carries_the_context_and_the_hub_replays_the_target(tmp_path, sqlite_hub):
    hub = sqlite_hub
    clear_queue(hub)
    (with_context,) = add_items(hub, [{"priority": 50, "external_id": "hub-ctx-1", "source_name": "a.png", **CONTEXT}])
    with desk(tmp_path / "desk", hub) as (store, sync, review):
        assert sync.sync_round().counts["leased"] >= 1
        item = items_repo.get_item(store.db, with_context)
        assert {k: getattr(item, k) for k in CONTEXT} == CONTEXT
        assert item.external_id == "hub-ctx-1"
        d = review.escalate(with_context, Escalation("the account posts this daily\nsee caption", "legal",
                                                     "Legal request or court order")).decision
        assert sync.sync_round().counts["pushed"] >= 1
    rows = {r[0]: r[1:] for r in hub_rows(hub, "decisions", "uuid", "status", "escalation_target",
                                          "escalation_reason", "note")}
    assert rows[d.uuid] == ("accepted", "legal", "Legal request or court order",
                            "the account posts this daily\nsee caption")


def test_hub_refuses_a_bad_context_value_at_add_item(sqlite_hub):
    with pytest.raises(ValueError, match=r"source_url must be an http:// or https:// address"):
        add_items(sqlite_hub, [{"source_url": "file:///etc/passwd"}])
    with pytest.raises(ValueError, match=r"reporter contains a control character \(U\+001B\)"):
        add_items(sqlite_hub, [{"reporter": "x\x1b[2J"}])


def test_a_bad_context_value_from_the_hub_refuses_the_lease_with_one_line(tmp_path, sqlite_hub):
    """A hub that skipped the checks (written straight into its table): the desk refuses that lease's item
    with one line naming the field, and nothing of it is stored."""
    from sqlalchemy import update

    from upstream.db import write_tx
    from upstream.schema import items

    hub = sqlite_hub
    clear_queue(hub)
    (bad,) = add_items(hub, [{"priority": 60}])
    engine = hub.engine()
    try:
        with write_tx(engine) as conn:
            conn.execute(update(items).where(items.c.id == bad).values(original_name="a\u202egnp.exe"))
    finally:
        engine.dispose()
    with desk(tmp_path / "desk", hub) as (store, sync, review):
        result = sync.sync_round()
        assert result.counts["refused"] == 1 and result.counts["leased"] == 0
        assert store.db.execute("SELECT count(*) FROM items WHERE id = ?", (bad,)).fetchone()[0] == 0
        reason = store.db.execute("SELECT reason FROM hub_leases WHERE item_id = ?", (bad,)).fetchone()[0]
        assert "original_name contains a bidirectional override (U+202E)" in reason and "\n" not in reason


def test_hub_rejects_a_target_on_a_decision_that_is_no_escalation(sqlite_hub):
    from tests.hub_fixtures import decision

    hub = sqlite_hub
    clear_queue(hub)
    (item_id,) = add_items(hub, [{"priority": 70}])
    with hub.client("moderator") as c:
        lease = c.post("/v1/leases", json={"count": 1}).json()["leases"][0]
        assert lease["item"]["id"] == item_id and lease["item"]["reporter"] is None  # the payload names every field
        bad = decision(item_id, lease["lease_id"], escalation_target="legal", escalation_reason="x")
        got = c.post("/v1/decisions", json={"decisions": [bad]}).json()
        assert got["results"] == [{"uuid": bad["uuid"], "status": "rejected",
                                   "reason": "escalation_target and escalation_reason are only for an escalation"}]
        good = decision(item_id, lease["lease_id"], labels=[], action="escalate", note="see the account",
                        escalation_target="legal", escalation_reason="Legal request or court order")
        assert c.post("/v1/decisions", json={"decisions": [good]}).json()["results"][0]["status"] == "accepted"
    stored = {r[0]: r[1] for r in hub_rows(hub, "decisions", "uuid", "escalation_target")}
    assert stored[good["uuid"]] == "legal" and bad["uuid"] not in stored


def test_hub_import_takes_the_manifest_context(tmp_path, sqlite_hub):
    import json

    from tests.hub_fixtures import png_bytes

    hub = sqlite_hub
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.png").write_bytes(png_bytes(4242))
    rows = [{"path": "a.png", "external_id": "hub-import-ctx", **CONTEXT},
            {"path": "a.png", "external_id": "hub-import-bad", "source_url": "ftp://x.example/a"}]
    (drop / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = hub.cli("import", str(drop / "m.jsonl"), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert len(out["imported"]) == 1
    assert out["skipped"][0]["reason"].startswith("source_url must be an http:// or https:// address")
    got = {r[0]: r[1:] for r in hub_rows(hub, "items", "external_id", *CONTEXT, order="imported_at")}
    assert got["hub-import-ctx"] == tuple(CONTEXT.values()) and "hub-import-bad" not in got
