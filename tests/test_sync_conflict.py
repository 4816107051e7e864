"""Two desks, one item: desk A's lease runs out, desk B leases and decides it, A pushes its own decision
late: the hub keeps it as evidence (conflict) and A marks the item decided elsewhere. A's other,
undecided item, whose lease ran out too, leaves A's queue when renewal says so."""

from __future__ import annotations

from moderator.domain import ItemField, ItemStatus
from tests.hub_fixtures import add_items, hub_factory, pg_server, poll  # noqa: F401
from tests.sync_fixtures import audit_intact, desk, hub_decisions


def test_late_decision_on_an_expired_lease_is_a_conflict_marked_on_the_item(tmp_path, hub_factory):  # noqa: F811
    hub = hub_factory("sqlite", "--lease-seconds", "2")
    b_token = hub.add_user_cli("moderator-2", "moderator")
    x, y = add_items(hub, [{"priority": 2}, {"priority": 1}])
    with desk(tmp_path / "a", hub, keep=2) as (_sa, a, ra), desk(tmp_path / "b", hub, b_token, keep=1) as (_sb, b, rb):
        assert a.pull_leases().counts["leased"] == 2
        poll(lambda: b.pull_leases().counts.get("leased"), timeout=30, interval=0.1)  # once A's leases run out
        assert [i.id for i in rb.queue()] == [x]
        rb.decide(x, "spam")
        assert b.push().counts["accepted"] == 1

        late = ra.decide(x, "no_violation").decision
        result = a.push()
        assert result.counts["conflict"] == 1 and result.counts["accepted"] == 0
        [change] = result.changes.item_changes
        assert (change.item_id, change.status, change.fields) == (x, ItemStatus.CONFLICT, frozenset({ItemField.STATUS}))
        assert ra.item(x).status is ItemStatus.CONFLICT
        [conflict] = result.status.conflicts
        assert (conflict.decision_uuid, conflict.item_id) == (late.uuid, x)
        assert "another desk" in conflict.reason
        assert result.status.unsynced == 0  # delivered (as evidence): never sent again
        assert [(r[0], r[2]) for r in hub_decisions(hub) if r[1] == x][-1] == (late.uuid, "conflict")
        assert a.push().counts["pushed"] == 0

        renewed = a.renew_leases(all_held=True)
        assert renewed.counts == {"renewed": 0, "expired": 1}
        assert [(c.item_id, c.status) for c in renewed.changes.item_changes] == [(y, ItemStatus.RELEASED)]
        assert ra.queue() == [] and ra.item(y).status is ItemStatus.RELEASED
        assert audit_intact(_sa) == []
