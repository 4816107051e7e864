"""QA leases renewed and returned (POST /v1/qa/leases/{id}/renew, DELETE /v1/qa/leases/{id}), against a
real hub process on SQLite and PostgreSQL, in the style of the moderation leases' routes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from moderator.clock import parse_iso, utc_now
from tests.hub_fixtures import poll
from tests.test_hub_qa import _analyst, _decided, _one, _qa_row, _sample


def _leased(hub, n: int = 1, *options):
    """n decisions to re-review, sampled for a new analyst, leased by them: (token, leases)."""
    _decided(hub, n)
    name, token = _analyst(hub)
    records = _sample(hub, "--count", str(n), "--seed", "11", "--analyst", name)
    with hub.client(token, desk=f"desk-{token[:8]}") as c:
        leases = c.post("/v1/qa/leases", json={"count": 100}).json()["leases"]
    ours = [x for x in leases if x["task_id"] in {r["task_id"] for r in records}]
    assert len(ours) == n
    return token, ours


def test_a_qa_lease_is_renewed_by_its_holder_only(hub):
    from upstream.schema import qa_leases, qa_tasks

    token, [task] = _leased(hub)
    _other, other_token = _analyst(hub)
    with hub.client(token) as mine, hub.client(other_token) as other, hub.client("moderator") as mod:
        renewed = mine.post(f"/v1/qa/leases/{task['lease_id']}/renew")
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["lease_id"] == task["lease_id"] and renewed.json()["expires_at"] >= task["expires_at"]
        refused = other.post(f"/v1/qa/leases/{task['lease_id']}/renew")
        assert refused.status_code == 403 and "not yours" in refused.json()["detail"]
        assert mine.post("/v1/qa/leases/no-such-lease/renew").status_code == 404
        assert mod.post(f"/v1/qa/leases/{task['lease_id']}/renew").status_code == 403  # the qa role only
        lease = _one(hub, select(qa_leases.c.expires_at).where(qa_leases.c.lease_id == task["lease_id"]))
        on_task = _one(hub, select(qa_tasks.c.lease_expires_at).where(qa_tasks.c.id == task["task_id"]))
        assert lease[0] == on_task[0] == renewed.json()["expires_at"]
        # Judged: the lease ended, so it can no longer be renewed (409, the reason in one line).
        assert mine.post("/v1/decisions", json={"decisions": [_qa_row(task)]}).json()["results"][0]["status"] == \
            "accepted"
        late = mine.post(f"/v1/qa/leases/{task['lease_id']}/renew")
    assert late.status_code == 409 and "judged" in late.json()["detail"] and "\n" not in late.json()["detail"]


def test_a_returned_qa_lease_frees_its_task_at_once(hub):
    from upstream.schema import qa_leases, qa_tasks

    token, [task] = _leased(hub)
    with hub.client(token) as mine:
        media = f"/v1/media/{task['item']['sha256']}"
        assert mine.get(media).status_code == 200
        gone = mine.delete(f"/v1/qa/leases/{task['lease_id']}")
        assert gone.status_code == 200 and gone.json() == {"lease_id": task["lease_id"], "returned": True}
        assert mine.delete(f"/v1/qa/leases/{task['lease_id']}").status_code == 200  # again: the same answer
        assert mine.get(media).status_code == 403  # no live lease: no media
        renew = mine.post(f"/v1/qa/leases/{task['lease_id']}/renew")
        assert renew.status_code == 409
        late = mine.post("/v1/decisions", json={"decisions": [_qa_row(task)]}).json()["results"][0]
        assert late["status"] == "rejected" and "expired" in late["reason"]  # a judgement needs the live lease
        ended = _one(hub, select(qa_leases.c.ended_at, qa_leases.c.end_reason)
                     .where(qa_leases.c.lease_id == task["lease_id"]))
        assert ended[0] is not None and ended[1] == "expired"
        row = _one(hub, select(qa_tasks.c.state, qa_tasks.c.lease_id).where(qa_tasks.c.id == task["task_id"]))
        assert tuple(row) == ("pending", None)
        again = mine.post("/v1/qa/leases", json={"count": 100}).json()["leases"]  # leasable again, at once
    assert task["task_id"] in {t["task_id"] for t in again}


def test_only_the_holder_returns_a_qa_lease(hub):
    from upstream.schema import qa_tasks

    token, [task] = _leased(hub)
    _other, other_token = _analyst(hub)
    with hub.client(other_token) as other:
        r = other.delete(f"/v1/qa/leases/{task['lease_id']}")
        assert r.status_code == 403 and "not yours" in r.json()["detail"]
        assert other.delete("/v1/qa/leases/no-such-lease").status_code == 404
    row = _one(hub, select(qa_tasks.c.lease_id).where(qa_tasks.c.id == task["task_id"]))
    assert row[0] == task["lease_id"]  # still held


def test_an_expired_qa_lease_is_not_renewed(hub_factory):
    """A hub with 1-second leases: once it ran out, renew answers 409 naming the expiry."""
    short = hub_factory("sqlite", "--lease-seconds", "1")
    token, [task] = _leased(short)
    poll(lambda: utc_now() > parse_iso(task["expires_at"]) + timedelta(milliseconds=200), timeout=30)
    with short.client(token) as mine:
        r = mine.post(f"/v1/qa/leases/{task['lease_id']}/renew")
    assert r.status_code == 409 and "expired" in r.json()["detail"]
