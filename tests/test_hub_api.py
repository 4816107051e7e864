"""Every route of the v1 API (docs/HUB.md) and its status codes, against a real hub process on SQLite
and on PostgreSQL: auth (401/403), strict bodies (422), the body limit (413), leases, media, policy,
banks, and decisions accepted / duplicate / rejected, a batch of 1,000, and undo from the same desk."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from tests.hub_fixtures import add_items, clear_queue, decision

PDQ_A = "f" * 64
PDQ_B = "0" * 63 + "1"


def test_health_needs_no_token(hub):
    r = httpx.get(f"{hub.url}/v1/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "version": 1}


def test_openapi_is_published(hub):
    paths = httpx.get(f"{hub.url}/openapi.json").json()["paths"]
    assert {"/v1/leases", "/v1/decisions", "/v1/banks/changes", "/v1/media/{sha256}"} <= set(paths)


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/leases"), ("POST", "/v1/leases/x/renew"), ("DELETE", "/v1/leases/x"), ("GET", "/v1/media/x"),
    ("POST", "/v1/decisions"), ("GET", "/v1/policy"), ("GET", "/v1/banks/changes"),
    ("POST", "/v1/banks/b/entries")])
def test_every_route_but_health_needs_a_token(hub, method, path):
    missing = httpx.request(method, f"{hub.url}{path}", json={"count": 1})
    wrong = httpx.request(method, f"{hub.url}{path}", json={"count": 1}, headers={"Authorization": "Bearer nope"})
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "\n" not in missing.json()["detail"]


def test_a_revoked_token_is_refused_at_once(hub):
    token = hub.add_user_cli(f"gone-{uuid.uuid4().hex[:8]}", "moderator")
    with hub.client(token) as c:
        assert c.get("/v1/policy").status_code == 200
        name = next(u["name"] for u in _users(hub) if u["name"].startswith("gone-") and not u["revoked_at"])
        assert hub.cli("user", "revoke", name).returncode == 0
        assert c.get("/v1/policy").status_code == 401


def _users(hub):
    import json

    return json.loads(hub.cli("user", "list", "--json").stdout)


@pytest.mark.parametrize(("role", "method", "path", "body"), [
    ("qa", "POST", "/v1/leases", {"count": 1}),
    ("moderator", "POST", "/v1/banks/b/entries", {"entries": []}),
    ("qa", "POST", "/v1/banks/b/entries", {"entries": []}),
])
def test_a_wrong_role_is_403(hub, role, method, path, body):
    with hub.client(role) as c:
        r = c.request(method, path, json=body)
    assert r.status_code == 403, r.text
    assert role in r.json()["detail"]


@pytest.mark.parametrize("body", [
    {"count": 1, "extra": True}, {"count": 0}, {"count": 101}, {"count": "2"}, {}, [1]])
def test_bad_lease_bodies_are_422_and_lease_nothing(hub, body):
    clear_queue(hub)
    add_items(hub, 1)
    with hub.client("moderator") as c:
        r = c.post("/v1/leases", json=body)
        assert r.status_code == 422 and "\n" not in r.json()["detail"], r.text
        assert len(c.post("/v1/leases", json={"count": 5}).json()["leases"]) == 1  # still there


def test_malformed_json_is_422_with_one_line(hub):
    with hub.client("moderator") as c:
        r = c.post("/v1/leases", content=b'{"count": 1', headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("malformed JSON")


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_a_malformed_body_without_a_valid_token_is_401(hub, token):
    headers = {"Content-Type": "application/json", "X-Moderator-Desk": "desk-1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(base_url=hub.url, headers=headers) as c:
        malformed = c.post("/v1/leases", content=b'{"count": 1')
        unknown_field = c.post("/v1/leases", json={"count": 1, "extra": True})
    assert malformed.status_code == unknown_field.status_code == 401


def test_a_desk_id_is_required(hub):
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {hub.tokens['moderator']}"}) as c:
        r = c.post("/v1/leases", json={"count": 1})
    assert r.status_code == 422 and "X-Moderator-Desk" in r.json()["detail"]


def test_oversized_bodies_are_413_before_parsing(hub):
    big = b'{"decisions": [' + b" " * (8 * 1024 * 1024) + b"]}"
    with hub.client("moderator") as c:
        declared = c.post("/v1/decisions", content=big, headers={"Content-Type": "application/json"})
        chunked = c.post("/v1/decisions", content=iter([big[:1_000_000]] * 9),
                         headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "8 MiB" in declared.json()["detail"]
    assert chunked.status_code == 413


def test_leases_come_in_review_order_and_then_empty(hub):
    clear_queue(hub)
    specs = [dict(priority=0, imported_at="2026-01-01T00:00:03Z"),
             dict(priority=5, sla_due_at="2026-01-02T00:00:00Z", imported_at="2026-01-01T00:00:05Z"),
             dict(priority=5, sla_due_at="2026-01-01T00:00:00Z", imported_at="2026-01-01T00:00:06Z"),
             dict(priority=5, imported_at="2026-01-01T00:00:01Z"),
             dict(priority=0, imported_at="2026-01-01T00:00:02Z", external_id=f"post-{uuid.uuid4()}",
                  category="spam", reason="reported twice", report_count=2)]
    ids = add_items(hub, specs)
    with hub.client("moderator") as c:
        first = c.post("/v1/leases", json={"count": 3}).json()["leases"]
        rest = c.post("/v1/leases", json={"count": 50}).json()["leases"]
        empty = c.post("/v1/leases", json={"count": 50})
    got = [lease["item"]["id"] for lease in first + rest]
    assert got == [ids[2], ids[1], ids[3], ids[4], ids[0]]
    assert empty.status_code == 200 and empty.json() == {"leases": []}
    item = rest[0]["item"]
    assert (item["external_id"], item["category"], item["reason"], item["report_count"]) == \
        (specs[4]["external_id"], "spam", "reported twice", 2)
    assert item["kind"] == "image" and item["mime"] == "image/png" and item["bytes"] > 0 and item["matches"] == []


def test_renew_and_return(hub):
    clear_queue(hub)
    add_items(hub, 1)
    with hub.client("moderator") as mine, hub.client("admin") as other:
        lease = mine.post("/v1/leases", json={"count": 1}).json()["leases"][0]
        renewed = mine.post(f"/v1/leases/{lease['lease_id']}/renew")
        assert renewed.status_code == 200 and renewed.json()["expires_at"] >= lease["expires_at"]
        assert other.post(f"/v1/leases/{lease['lease_id']}/renew").status_code == 403
        assert other.delete(f"/v1/leases/{lease['lease_id']}").status_code == 403
        assert mine.post("/v1/leases/no-such-lease/renew").status_code == 404
        assert mine.delete("/v1/leases/no-such-lease").status_code == 404
        assert other.post("/v1/leases", json={"count": 5}).json()["leases"] == []  # held by `mine`
        returned = mine.delete(f"/v1/leases/{lease['lease_id']}")
        assert returned.status_code == 200 and returned.json() == {"lease_id": lease["lease_id"], "returned": True}
        assert mine.post(f"/v1/leases/{lease['lease_id']}/renew").status_code == 409
        again = other.post("/v1/leases", json={"count": 5}).json()["leases"]
    assert [x["item"]["id"] for x in again] == [lease["item"]["id"]]


def test_a_desk_holds_at_most_200_leases(hub):
    clear_queue(hub)
    add_items(hub, 205, shared_media=True)
    with hub.client("moderator") as c:
        sizes = [len(c.post("/v1/leases", json={"count": 100}).json()["leases"]) for _ in range(3)]
    assert sizes == [100, 100, 0]


def test_media_only_with_a_live_lease_and_to_leads(hub):
    clear_queue(hub)
    [item_id] = add_items(hub, 1)
    with hub.client("moderator") as c, hub.client("lead") as lead, hub.client("qa") as qa:
        from upstream.schema import items

        engine = hub.engine()
        with engine.connect() as conn:
            sha = conn.execute(select(items.c.sha256).where(items.c.id == item_id)).scalar_one()
        engine.dispose()
        assert c.get(f"/v1/media/{sha}").status_code == 403
        lease = c.post("/v1/leases", json={"count": 1}).json()["leases"][0]
        got = c.get(f"/v1/media/{sha}")
        assert got.status_code == 200 and got.headers["content-type"] == "application/octet-stream"
        assert got.content[:8] == b"\x89PNG\r\n\x1a\n" and len(got.content) == lease["item"]["bytes"]
        assert qa.get(f"/v1/media/{sha}").status_code == 403
        assert lead.get(f"/v1/media/{sha}").content == got.content
        assert lead.get(f"/v1/media/{'a' * 64}").status_code == 404
        c.delete(f"/v1/leases/{lease['lease_id']}")
        assert c.get(f"/v1/media/{sha}").status_code == 403


def test_policy_is_the_shipped_file_until_a_team_sets_one(hub):
    from moderator.policy import default_policy_path, load_policy

    with hub.client("qa") as c:
        r = c.get("/v1/policy")
    assert r.status_code == 200
    assert r.json() == {"version": load_policy().version, "text": default_policy_path().read_text(encoding="utf-8")}


def test_banks_push_and_changes(hub):
    name = f"known-{uuid.uuid4().hex[:6]}"
    spec = {"kind": "block", "signal_type": "pdq", "threshold": 31, "action": "escalate", "description": "t"}
    with hub.client("lead") as lead, hub.client("moderator") as mod:
        before = mod.get("/v1/banks/changes", params={"since": 0}).json()["version"]
        assert lead.post(f"/v1/banks/{name}/entries", json={"entries": [{"hash": PDQ_A}]}).status_code == 422
        bad = lead.post(f"/v1/banks/{name}/entries", json={"bank": spec, "entries": [{"hash": "xyz"}]})
        assert bad.status_code == 422 and "entries[0]" in bad.json()["detail"]
        assert mod.get("/v1/banks/changes", params={"since": before}).json()["entries"] == []  # nothing stored
        r = lead.post(f"/v1/banks/{name}/entries", json={"bank": spec, "entries": [
            {"hash": PDQ_A.upper(), "label": "csam_suspected", "source": "ncmec"}, {"hash": PDQ_B}]})
        assert r.status_code == 200 and r.json()["added"] == 2 and r.json()["removed"] == 0
        gone = lead.post(f"/v1/banks/{name}/entries", json={"entries": [], "remove": [PDQ_B]}).json()
        changes = mod.get("/v1/banks/changes", params={"since": before}).json()
        assert mod.get("/v1/banks/changes", params={"since": -1}).status_code == 422
    assert gone["removed"] == 1 and changes["version"] == gone["version"] > before
    assert [(e["hash"], e["op"]) for e in changes["entries"]] == [(PDQ_A, "add"), (PDQ_B, "add"), (PDQ_B, "remove")]
    assert changes["entries"][0]["label"] == "csam_suspected"
    assert {"name": name, **spec} in changes["banks"]


# -- decisions ---------------------------------------------------------------------------------------
def _leased(hub, client, n: int = 1) -> list[dict]:
    clear_queue(hub)
    add_items(hub, n, shared_media=n > 1)
    leases = []
    while len(leases) < n:
        leases += client.post("/v1/leases", json={"count": 100}).json()["leases"]
    return leases


def _rows(hub, uuids) -> int:
    from upstream.schema import decisions

    engine = hub.engine()
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(decisions).where(decisions.c.uuid.in_(uuids))).scalar()
    engine.dispose()
    return count


def _status(hub, item_id) -> str:
    from upstream.schema import items

    engine = hub.engine()
    with engine.connect() as conn:
        status = conn.execute(select(items.c.status).where(items.c.id == item_id)).scalar_one()
    engine.dispose()
    return status


def test_decisions_accepted_then_duplicate(hub):
    with hub.client("moderator") as c:
        [lease] = _leased(hub, c)
        d = decision(lease["item"]["id"], lease["lease_id"])
        first = c.post("/v1/decisions", json={"decisions": [d], "audit_head": {"hash": "ab" * 32, "count": 7}})
        second = c.post("/v1/decisions", json={"decisions": [d]})
    assert first.status_code == 200 and first.json() == {"results": [{"uuid": d["uuid"], "status": "accepted"}]}
    assert second.json() == {"results": [{"uuid": d["uuid"], "status": "duplicate"}]}
    assert _rows(hub, [d["uuid"]]) == 1 and _status(hub, d["item_id"]) == "decided"


@pytest.mark.parametrize(("change", "why"), [
    ({"item_id": "no-such-item"}, "no item"), ({"lease_id": "no-such-lease"}, "no lease"),
    ({"labels": ["not_a_label"]}, "not in the hub's policy"), ({"lease_id": None}, "lease"),
    ({"action": "undo", "labels": [], "supersedes": "nothing-like-it"}, "no decision"),
    ({"source": "qa"}, "qa")])
def test_decisions_rejected_are_not_stored(hub, change, why):
    with hub.client("moderator") as c:
        [lease] = _leased(hub, c)
        d = {**decision(lease["item"]["id"], lease["lease_id"]), **change}
        r = c.post("/v1/decisions", json={"decisions": [d]}).json()["results"]
    assert r[0]["status"] == "rejected" and why in r[0]["reason"], r
    assert _rows(hub, [d["uuid"]]) == 0


@pytest.mark.parametrize("change", [{"handle_ms": -1}, {"decided_at": "yesterday"}, {"action": "ban"},
                                    {"surprise": 1}, {"labels": "spam"}, {"handle_ms": True}])
def test_decisions_with_bad_values_are_422_and_store_nothing(hub, change):
    with hub.client("moderator") as c:
        [lease] = _leased(hub, c)
        good = decision(lease["item"]["id"], lease["lease_id"])
        bad = {**decision(lease["item"]["id"], lease["lease_id"]), **change}
        r = c.post("/v1/decisions", json={"decisions": [good, bad]})
    assert r.status_code == 422 and "decisions.1" in r.json()["detail"], r.text
    assert _rows(hub, [good["uuid"], bad["uuid"]]) == 0


def test_a_decision_missing_a_key_is_422(hub):
    d = decision("x", "y")
    del d["note"]
    with hub.client("moderator") as c:
        r = c.post("/v1/decisions", json={"decisions": [d]})
    assert r.status_code == 422 and "note" in r.json()["detail"]


def lease_many(hub, n: int) -> list[dict]:
    """n items leased by the moderator, over as many desks as the 200-lease allowance needs."""
    clear_queue(hub)
    add_items(hub, n, shared_media=True)
    leases: list[dict] = []
    while len(leases) < n:
        with hub.client("moderator") as desk:
            for _ in range(2):
                leases += desk.post("/v1/leases", json={"count": 100}).json()["leases"]
    return leases


def test_a_batch_of_1000_in_order_and_1001_refused(hub):
    leases = lease_many(hub, 1000)
    batch = [decision(x["item"]["id"], x["lease_id"], batch_id="b1", source="batch") for x in leases]
    with hub.client("moderator") as c:
        assert c.post("/v1/decisions", json={"decisions": batch + batch[:1]}).status_code == 422
        r = c.post("/v1/decisions", json={"decisions": batch})
    assert r.status_code == 200
    assert [x["uuid"] for x in r.json()["results"]] == [d["uuid"] for d in batch]
    assert {x["status"] for x in r.json()["results"]} == {"accepted"}
    assert _rows(hub, [d["uuid"] for d in batch]) == 1000


def test_undo_from_the_same_desk_puts_the_item_back(hub):
    with hub.client("moderator", desk="desk-undo") as c, hub.client("admin", desk="desk-other") as other:
        [lease] = _leased(hub, c)
        item_id = lease["item"]["id"]
        d = decision(item_id, lease["lease_id"])
        c.post("/v1/decisions", json={"decisions": [d]})
        undo = decision(item_id, lease["lease_id"], action="undo", labels=[], supersedes=d["uuid"])
        foreign = dict(undo, uuid=str(uuid.uuid4()))
        assert other.post("/v1/decisions", json={"decisions": [foreign]}).json()["results"][0]["status"] == "rejected"
        assert c.post("/v1/decisions", json={"decisions": [undo]}).json()["results"][0]["status"] == "accepted"
        assert _status(hub, item_id) == "pending"
        again = c.post("/v1/decisions", json={"decisions": [dict(undo, uuid=str(uuid.uuid4()))]}).json()
        assert again["results"][0]["status"] == "rejected" and "already undone" in again["results"][0]["reason"]
        c.delete(f"/v1/leases/{lease['lease_id']}")
        back = other.post("/v1/leases", json={"count": 5}).json()["leases"]
    assert [x["item"]["id"] for x in back] == [item_id]
