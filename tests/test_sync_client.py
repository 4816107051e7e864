"""The desk's sync client against a real hub process: leases in review order with their media checked
into the cache, local decisions pushed as exactly those rows, refused media, returned leases, banks
and policy pulled."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moderator.domain import ItemStatus
from moderator.policy import load_policy
from storage import audit
from storage import sync as sync_repo
from tests.hub_fixtures import add_items, clear_queue, hub_factory, pg_server  # noqa: F401
from tests.sync_fixtures import audit_intact, desk, hub_decisions, hub_rows, outbox


@pytest.fixture(scope="module")
def sqlite_hub(hub_factory):  # noqa: F811
    return hub_factory("sqlite")


def _png(seed: int, side: int = 48) -> bytes:
    rgb = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def _add_raw(hub, content: bytes, **item) -> str:
    """An item on arbitrary bytes the hub believes are a PNG (what a damaged hub could serve)."""
    from upstream.db import write_tx
    from upstream.items import MediaInfo, add_item, add_media

    engine = hub.engine()
    try:
        with write_tx(engine) as conn:
            sha = add_media(conn, hub.data_dir, content, MediaInfo("image/png", "image", 48, 48))
            return add_item(conn, sha, **item)
    finally:
        engine.dispose()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_lease_download_decide_push_delivers_exactly_those_rows(tmp_path, hub_factory, db):  # noqa: F811
    hub = hub_factory(db)
    specs = [{"priority": p, "category": "spam", "reason": f"report {p}", "report_count": p + 1,
              "external_id": f"post-{p}", "source_name": f"p{p}.png"} for p in (1, 5, 3, 0, 4, 2)]
    ids = add_items(hub, specs)
    by_priority = [ids[i] for i in sorted(range(6), key=lambda i: -specs[i]["priority"])]
    with desk(tmp_path / "desk", hub, keep=4) as (store, sync, review):
        result = sync.sync_round()
        assert result.status.online and result.status.last_error is None
        assert result.counts["leased"] == 4 and result.counts["refused"] == 0
        queue = review.queue()
        assert [i.id for i in queue] == by_priority[:4]  # hub item id = local id, in review order
        first = queue[0]
        assert (first.priority, first.category, first.reason, first.report_count, first.external_id) == (
            5, "spam", "report 5", 6, "post-5")
        assert hashlib.sha256(Path(first.media_path).read_bytes()).hexdigest() == first.sha256
        assert Path(first.media_path).is_relative_to(store.media_dir)
        assert {c.item_id for c in result.changes.item_changes} == set(by_priority[:4])
        origins = {r[0] for r in store.db.execute("SELECT origin FROM items")}
        assert origins == {"hub"}

        review.decide(queue[0].id, "spam")
        review.decide_batch([queue[1].id, queue[2].id], "no_violation")
        review.undo_last()  # two undo rows, superseding the batch
        local = [r[1] for r in outbox(store)]
        assert len(local) == 5 and sync.status().unsynced == 5

        pushed = sync.push()
        assert pushed.counts["accepted"] == 5 and pushed.status.unsynced == 0
        desk_id = sync_repo.desk_id(store.db)
        on_hub = hub_decisions(hub, desk_id)
        assert [r[0] for r in on_hub] == local and {r[2] for r in on_hub} == {"accepted"}
        leases = {r[0]: r[1] for r in store.db.execute("SELECT item_id, lease_id FROM hub_leases")}
        assert all(r[3] == leases[r[1]] for r in on_hub)
        head = audit.head(store.db)
        heads = hub_rows(hub, "desk_heads", "desk", "audit_hash", "audit_count", order="id")
        assert heads[-1] == (desk_id, head.head, head.count)

        # An answer lost on the way back: the same rows again are duplicates, never second rows.
        store.write(lambda d: d.execute("UPDATE outbox SET sent_at = NULL"))
        again = sync.push()
        assert again.counts["duplicate"] == 5 and again.counts["accepted"] == 0
        assert len(hub_decisions(hub, desk_id)) == 5
        assert all(r[2] is not None and r[3] == 2 for r in outbox(store))
        assert audit_intact(store) == []


def test_media_failing_the_checks_is_refused_and_its_lease_returned(tmp_path, sqlite_hub):
    hub = sqlite_hub
    clear_queue(hub)
    text = _add_raw(hub, b"this is a text file, not a photo\n" * 40, priority=9)
    whole = _png(7)
    cut = _add_raw(hub, whole[: len(whole) // 2], priority=8)
    good = add_items(hub, [{"priority": 7}])[0]
    with desk(tmp_path / "desk", hub, keep=3) as (store, sync, review):
        result = sync.pull_leases()
        # Returned, the two come straight back in the same pull: held unseen that time, not looped on.
        assert result.counts == {"leased": 1, "refused": 2, "refused_again": 2}
        assert [i.id for i in review.queue()] == [good]
        first = {x.item_id: x.reason for x in sync_repo.refused(store.db) if "before" not in x.reason}
        assert set(first) == {text, cut}
        assert "not an image or video" in first[text]
        assert sync.pull_leases().counts == {"leased": 0, "refused": 0}  # nothing circles back
        assert store.db.execute("SELECT COUNT(*) FROM items WHERE id IN (?, ?)", (text, cut)).fetchone()[0] == 0
        events = [r[0] for r in store.db.execute("SELECT subject FROM audit_log WHERE event = 'hub_media_refused'")]
        assert sorted(events) == sorted([text, cut])
        cached = [p for p in store.media_dir.rglob("*") if p.is_file()]
        assert len(cached) == 1  # only the good item's file; nothing staged is left behind
        assert audit_intact(store) == []
    ended: dict[str, list] = {}
    for item_id, reason in hub_rows(hub, "leases", "item_id", "end_reason", order="acquired_at"):
        ended.setdefault(item_id, []).append(reason)
    assert ended[text] == ended[cut] == ["returned", None]  # returned at once; the second held


def test_release_all_returns_undecided_items_and_keeps_decided_ones(tmp_path, sqlite_hub):
    hub = sqlite_hub
    clear_queue(hub)
    ids = add_items(hub, [{"priority": 3}, {"priority": 2}, {"priority": 1}])
    with desk(tmp_path / "desk", hub, keep=3) as (store, sync, review):
        sync.pull_leases()
        review.decide(ids[0], "spam")
        result = sync.release_all()
        assert result.counts["returned"] == 2
        assert {c.item_id: c.status for c in result.changes.item_changes} == {
            ids[1]: ItemStatus.RELEASED, ids[2]: ItemStatus.RELEASED}
        assert review.queue() == []
        assert review.item(ids[0]).status is ItemStatus.DECIDED
        assert sync.status().held == 1  # the decided item keeps its lease until its decision is up
        pushed = sync.push()
        assert pushed.counts["accepted"] == 1
        assert audit_intact(store) == []
    with desk(tmp_path / "other", hub, hub.tokens["lead"], keep=3) as (_store, other, other_review):
        taken = other.pull_leases()
        assert sorted(c.item_id for c in taken.changes.item_changes) == sorted(ids[1:])


def test_renew_extends_held_leases(tmp_path, sqlite_hub):
    hub = sqlite_hub
    clear_queue(hub)
    add_items(hub, 2)
    with desk(tmp_path / "desk", hub, keep=2) as (store, sync, _review):
        sync.pull_leases()
        before = dict(store.db.execute("SELECT lease_id, expires_at FROM hub_leases").fetchall())
        assert sync.renew_leases().counts["renewed"] == 0  # not half used yet
        result = sync.renew_leases(all_held=True)
        assert result.counts == {"renewed": 2, "expired": 0}
        after = dict(store.db.execute("SELECT lease_id, expires_at FROM hub_leases").fetchall())
        assert after.keys() == before.keys() and all(after[k] > before[k] for k in before)
        on_hub = dict((r[0], r[1]) for r in hub_rows(hub, "leases", "lease_id", "expires_at", order="acquired_at"))
        assert all(on_hub[k] == after[k] for k in after)


def test_bank_changes_and_policy_are_pulled(tmp_path, sqlite_hub):
    hub = sqlite_hub
    hashes = [hashlib.md5(f"bad {n}".encode()).hexdigest() for n in range(3)]
    with hub.client("lead") as lead:
        bank = {"kind": "block", "signal_type": "md5", "threshold": 0, "action": "escalate", "description": "t"}
        made = lead.post("/v1/banks/known-bad/entries", json={
            "bank": bank, "entries": [{"hash": h, "label": "spam"} for h in hashes]})
        assert made.status_code == 200, made.text
        removed = lead.post("/v1/banks/known-bad/entries", json={"entries": [], "remove": [hashes[0]]})
        assert removed.status_code == 200, removed.text
    with desk(tmp_path / "desk", hub, keep=0) as (store, sync, _review):
        banks = sync.pull_banks()
        assert banks.changes.banks and banks.counts["bank_entries_added"] == 3
        assert banks.counts["bank_entries_removed"] == 1 and banks.counts["banks_created"] == 1
        entries = [r[0] for r in store.db.execute("SELECT hash FROM bank_entries WHERE bank = 'known-bad' ORDER BY id")]
        assert entries == hashes
        removals = [r[0] for r in store.db.execute("SELECT hash FROM hub_bank_removals")]
        assert removals == [hashes[0]]
        assert sync_repo.get_state(store.db, "bank_version") == str(banks.counts["bank_version"])
        assert sync.pull_banks().counts["bank_entries_added"] == 0  # since the version seen: nothing new

        policy = sync.pull_policy()
        assert policy.counts == {"policy_updated": 1}
        kept = store.data_dir / "hub-policy.toml"
        assert kept.stat().st_mode & 0o777 == 0o600
        served = json.loads(hub.client("moderator").get("/v1/policy").text)
        assert load_policy(kept).version == served["version"] == sync_repo.get_state(store.db, "policy_version")
        assert sync.pull_policy().counts == {"policy_updated": 0}
        assert audit_intact(store) == []
