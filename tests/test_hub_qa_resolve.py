"""QA resolutions on the hub (docs/HUB.md, "QA on the hub"), against a real hub process on SQLite and
PostgreSQL: POST /v1/qa/tasks/{id}/resolve writes the analyst's final label as a QA row that supersedes
the item's standing decision (the hub's decision_log replay), and only then does the item change."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from moderator.decision_log import standing, status_for
from tests.hub_fixtures import add_items, clear_queue, decision


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _judged(hub, *, qa_label: str = "no_violation") -> dict:
    """A moderator decides one new item spam; a new analyst samples, leases and judges it `qa_label`."""
    mod = hub.add_user_cli(_name("mod"), "moderator", team="vendor-x")
    clear_queue(hub)
    add_items(hub, 1)
    with hub.client(mod) as c:
        [lease] = c.post("/v1/leases", json={"count": 1}).json()["leases"]
        pushed = decision(lease["item"]["id"], lease["lease_id"], labels=["spam"])
        assert c.post("/v1/decisions", json={"decisions": [pushed]}).json()["results"][0]["status"] == "accepted"
    name = _name("qa")
    token = hub.add_user_cli(name, "qa", team="qa-team")
    done = hub.cli("qa", "sample", "--count", "1", "--seed", "3", "--analyst", name, "--strategy", "random",
                   "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.splitlines()[0])
    desk = f"desk-{name}"
    with hub.client(token, desk=desk) as c:
        [task] = [t for t in c.post("/v1/qa/leases", json={"count": 100}).json()["leases"]
                  if t["task_id"] == record["task_id"]]
        judged = decision(task["item"]["id"], task["lease_id"], source="qa", qa_of=task["decision_uuid"],
                          labels=[qa_label], action="allow" if qa_label == "no_violation" else "remove")
        got = c.post("/v1/decisions", json={"decisions": [judged]}).json()
        assert got.get("results", [{}])[0].get("status") == "accepted", got
    # The draw is over every standing decision of the module's hub: the task may be an earlier test's item.
    return {"token": token, "name": name, "desk": desk, "task": task, "pushed": {"uuid": task["decision_uuid"]},
            "judged": judged, "item_id": task["item"]["id"]}


def _resolution(label: str = "no_violation", note: str | None = "not spam: a product photo") -> dict:
    return {"uuid": str(uuid.uuid4()), "label": label, "note": note, "decided_at": "2026-11-03T10:00:00.000Z",
            "handle_ms": 900}


def _item_state(hub, item_id: str):
    """(standing decision on the hub, item status, accepted rows of the item) read from the hub's tables."""
    from upstream.decisions import stored_decision
    from upstream.schema import decisions, items

    engine = hub.engine()
    try:
        with engine.connect() as conn:
            rows = [stored_decision(r) for r in conn.execute(
                select(decisions).where(decisions.c.item_id == item_id, decisions.c.status == "accepted")
                .order_by(decisions.c.seq)).mappings()]
            status = conn.execute(select(items.c.status).where(items.c.id == item_id)).scalar_one()
            total = conn.execute(select(func.count()).select_from(decisions)
                                 .where(decisions.c.item_id == item_id)).scalar_one()
    finally:
        engine.dispose()
    return standing(rows), status, total


def test_the_standing_decision_changes_only_when_resolved(hub):
    from upstream.schema import decisions

    s = _judged(hub)
    before, status, _ = _item_state(hub, s["item_id"])
    assert before.uuid == s["pushed"]["uuid"] and status == "decided"  # the judgement alone changed nothing
    body = _resolution()
    with hub.client(s["token"], desk=s["desk"]) as c:
        r = c.post(f"/v1/qa/tasks/{s['task']['task_id']}/resolve", json=body)
    assert r.status_code == 200, r.text
    now, status, _ = _item_state(hub, s["item_id"])
    assert (now.uuid, now.labels, now.source.value, now.qa_of, now.supersedes, now.actor, now.note) == (
        body["uuid"], ("no_violation",), "qa", s["pushed"]["uuid"], s["pushed"]["uuid"], s["name"], body["note"])
    assert status == status_for(now).value == r.json()["item_status"]
    assert r.json()["supersedes"] == s["pushed"]["uuid"] and r.json()["action"] == "allow"
    engine = hub.engine()
    try:
        with engine.connect() as conn:  # the audit record: who, from which desk and team, when received
            row = conn.execute(select(decisions.c.desk, decisions.c.team, decisions.c.received_at)
                               .where(decisions.c.uuid == body["uuid"])).one()
    finally:
        engine.dispose()
    assert row.desk == s["desk"] and row.team == "qa-team" and row.received_at


def test_resolving_twice_is_refused_with_nothing_written(hub):
    s = _judged(hub)
    url = f"/v1/qa/tasks/{s['task']['task_id']}/resolve"
    with hub.client(s["token"], desk=s["desk"]) as c:
        first = _resolution()
        assert c.post(url, json=first).status_code == 200
        _, status, total = _item_state(hub, s["item_id"])
        for again in (_resolution("spam", "changed my mind"), first):  # a second one, and a retry of the first
            r = c.post(url, json=again)
            assert r.status_code == 409 and "resolved already" in r.json()["detail"], r.text
    now, status_after, total_after = _item_state(hub, s["item_id"])
    assert (now.uuid, status_after, total_after) == (first["uuid"], status, total)


def test_who_may_resolve_and_what_is_refused(hub):
    s = _judged(hub)
    url = f"/v1/qa/tasks/{s['task']['task_id']}/resolve"
    other = hub.add_user_cli(_name("qa"), "qa")
    _, status, total = _item_state(hub, s["item_id"])
    refused = [("moderator", url, _resolution(), 403, "needs qa"), ("lead", url, _resolution(), 403, "needs qa"),
               (other, url, _resolution(), 403, "another analyst"),
               (s["token"], "/v1/qa/tasks/no-such-task/resolve", _resolution(), 404, "no QA task"),
               (s["token"], url, _resolution("not_a_label"), 422, "not in the hub's policy"),
               (s["token"], url, {**_resolution(), "uuid": s["pushed"]["uuid"]}, 409, "on the hub already")]
    for who, where, body, code, why in refused:
        with hub.client(who) as c:
            r = c.post(where, json=body)
        assert r.status_code == code and why in r.text, (who, why, r.status_code, r.text)
    with hub.client(s["token"]) as c:
        assert c.post(url, json={**_resolution(), "extra": 1}).status_code == 422
    now, status_after, total_after = _item_state(hub, s["item_id"])
    assert (now.uuid, status_after, total_after) == (s["pushed"]["uuid"], status, total)


def test_a_task_not_judged_yet_cannot_be_resolved(hub):
    mod = hub.add_user_cli(_name("mod"), "moderator")
    clear_queue(hub)
    add_items(hub, 1)
    with hub.client(mod) as c:
        [lease] = c.post("/v1/leases", json={"count": 1}).json()["leases"]
        pushed = decision(lease["item"]["id"], lease["lease_id"])
        c.post("/v1/decisions", json={"decisions": [pushed]})
    name = _name("qa")
    token = hub.add_user_cli(name, "qa")
    done = hub.cli("qa", "sample", "--count", "1", "--seed", "4", "--analyst", name, "--json")
    record = json.loads(done.stdout.splitlines()[0])
    task_id = record["task_id"]
    with hub.client(token) as c:
        r = c.post(f"/v1/qa/tasks/{task_id}/resolve", json=_resolution())
    assert r.status_code == 409 and "not judged yet" in r.json()["detail"]
    now, status, _ = _item_state(hub, record["item_id"])
    assert now.uuid == record["decision_uuid"] and status == "decided"
