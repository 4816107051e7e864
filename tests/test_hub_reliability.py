"""The hub's guarantees under time, concurrency and kill -9, on SQLite and PostgreSQL:
- expired leases return their items by themselves; a decision on an expired lease whose item another
  desk now holds, or decided, is a conflict (kept as evidence, not applied);
- 50 desks leasing at once (with --workers 1 and 4): no item is ever on two live leases, returned and
  expired items come back, decided items never do;
- the hub killed mid-push of a big batch and restarted: every decision is stored exactly once."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from moderator.clock import iso, parse_iso
from tests.hub_fixtures import DATABASES, add_items, clear_queue, decision, poll

DESKS = 50
LEASE_SECONDS = 3


@pytest.fixture(scope="module", params=DATABASES)
def short_hub(request, hub_factory):
    """A hub whose leases last 2 seconds."""
    return hub_factory(request.param, "--lease-seconds", "2")


def _lease(client, n=1):
    r = client.post("/v1/leases", json={"count": n})
    assert r.status_code == 200, r.text
    return r.json()["leases"]


def test_an_expired_lease_returns_its_item_and_cannot_be_renewed(short_hub):
    clear_queue(short_hub)
    [item_id] = add_items(short_hub, 1)
    with short_hub.client("moderator") as a, short_hub.client("admin") as b:
        [lease] = _lease(a)
        assert _lease(b) == []
        [again] = poll(lambda: _lease(b))
        assert again["item"]["id"] == item_id and again["lease_id"] != lease["lease_id"]
        r = a.post(f"/v1/leases/{lease['lease_id']}/renew")
    assert r.status_code == 409 and "expired" in r.json()["detail"]


def test_a_decision_on_an_expired_lease_held_elsewhere_is_a_conflict(short_hub):
    clear_queue(short_hub)
    [item_id] = add_items(short_hub, 1)
    with short_hub.client("moderator") as a, short_hub.client("admin") as b:
        [old] = _lease(a)
        [new] = poll(lambda: _lease(b))
        late = decision(item_id, old["lease_id"])
        r = a.post("/v1/decisions", json={"decisions": [late]}).json()["results"][0]
        assert r["status"] == "conflict" and "another desk" in r["reason"]
        assert a.post("/v1/decisions", json={"decisions": [late]}).json()["results"][0]["status"] == "duplicate"
        ok = decision(item_id, new["lease_id"], labels=["no_violation"], action="allow")
        assert b.post("/v1/decisions", json={"decisions": [ok]}).json()["results"][0]["status"] == "accepted"
        # The first desk's lease is long gone and the item decided under another lease: conflict again.
        later = decision(item_id, old["lease_id"])
        assert a.post("/v1/decisions", json={"decisions": [later]}).json()["results"][0]["status"] == "conflict"
    rows = _decision_rows(short_hub, item_id)
    assert [(r.uuid, r.status) for r in rows] == [(late["uuid"], "conflict"), (ok["uuid"], "accepted"),
                                                  (later["uuid"], "conflict")]
    assert _item_status(short_hub, item_id) == "decided"


def test_a_late_decision_nobody_else_holds_is_accepted(short_hub):
    clear_queue(short_hub)
    [item_id] = add_items(short_hub, 1)
    with short_hub.client("moderator") as a:
        [lease] = _lease(a)
        poll(lambda: _live_lease(short_hub, item_id) is None)  # expired, and nobody took the item
        r = a.post("/v1/decisions", json={"decisions": [decision(item_id, lease["lease_id"])]}).json()
    assert r["results"][0]["status"] == "accepted"


def _live_lease(hub, item_id):
    from upstream.leases import live_lease

    engine = hub.engine()
    with engine.connect() as conn:
        lease_id, _ = live_lease(conn, item_id)
    engine.dispose()
    return lease_id


def _decision_rows(hub, item_id):
    from upstream.schema import decisions

    engine = hub.engine()
    with engine.connect() as conn:
        rows = list(conn.execute(select(decisions.c.uuid, decisions.c.status)
                                 .where(decisions.c.item_id == item_id).order_by(decisions.c.seq)))
    engine.dispose()
    return rows


def _item_status(hub, item_id):
    from upstream.schema import items

    engine = hub.engine()
    with engine.connect() as conn:
        status = conn.execute(select(items.c.status).where(items.c.id == item_id)).scalar_one()
    engine.dispose()
    return status


# -- 50 desks at once -------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=[(db, w) for db in DATABASES for w in (1, 4)],
                ids=lambda p: f"{p[0]}-workers{p[1]}")
def busy_hub(request, hub_factory):
    db, workers = request.param
    return hub_factory(db, "--workers", str(workers), "--lease-seconds", str(LEASE_SECONDS))


class Ledger:
    """Every lease handed out, checked as it arrives: an item on a live lease is never handed out again
    until that lease was returned, decided or had expired."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: dict[str, tuple[str, str]] = {}  # item -> (lease, expires_at) while a desk holds it
        self.decided: set[str] = set()
        self.problems: list[str] = []
        self.returned_back = self.leased = 0

    def took(self, lease: dict, lease_seconds: int) -> None:
        item = lease["item"]["id"]
        granted = iso(parse_iso(lease["expires_at"]) - timedelta(seconds=lease_seconds))
        with self.lock:
            self.leased += 1
            if item in self.decided:
                self.problems.append(f"decided item {item} leased again")
            held = self.held.get(item)
            if held is not None and held[1] > granted:
                self.problems.append(f"item {item} on two live leases: {held[0]} and {lease['lease_id']}")
            self.held[item] = (lease["lease_id"], lease["expires_at"])

    def released(self, item: str, *, decided: bool) -> None:
        with self.lock:
            self.held.pop(item, None)
            if decided:
                self.decided.add(item)


def _desk(hub, token: str, ledger: Ledger, rounds: int) -> None:
    with httpx.Client(base_url=hub.url, timeout=60,
                      headers={"Authorization": f"Bearer {token}", "X-Moderator-Desk": str(uuid.uuid4())}) as c:
        for n in range(rounds):
            got = _lease(c, 5)
            for lease in got:
                ledger.took(lease, LEASE_SECONDS)
            for i, lease in enumerate(got):
                item = lease["item"]["id"]
                if (n + i) % 3 == 0:  # decide
                    ledger.released(item, decided=False)
                    r = c.post("/v1/decisions", json={"decisions": [decision(item, lease["lease_id"])]})
                    status = r.json()["results"][0]["status"]
                    # conflict: this lease ran out under load and another desk has the item now
                    assert status in ("accepted", "conflict"), r.text
                    if status == "accepted":
                        ledger.released(item, decided=True)
                elif (n + i) % 3 == 1:  # give back
                    ledger.released(item, decided=False)
                    assert c.delete(f"/v1/leases/{lease['lease_id']}").status_code == 200
                # else: keep it until it expires (the ledger checks the expiry the hub gave)


def test_50_desks_never_share_an_item(busy_hub):
    clear_queue(busy_hub)
    item_ids = add_items(busy_hub, 120, shared_media=True)
    tokens = busy_hub.add_users([(f"desk-{uuid.uuid4().hex[:10]}", "moderator") for _ in range(DESKS)])
    ledger = Ledger()
    with ThreadPoolExecutor(DESKS) as pool:
        for f in [pool.submit(_desk, busy_hub, t, ledger, 4) for t in tokens.values()]:
            f.result()
    assert not ledger.problems, ledger.problems[:5]
    assert ledger.leased >= 120  # every item went out; returned and expired ones more than once
    # What was not decided comes back (kept leases once they expire); what was decided never does.
    with busy_hub.client("moderator") as c:
        back = set()
        poll(lambda: back.update(x["item"]["id"] for x in _lease(c, 100)) or
             len(back) >= len(item_ids) - len(ledger.decided), timeout=30)
    assert back == set(item_ids) - ledger.decided


# -- kill -9 mid-push -------------------------------------------------------------------------------
@pytest.fixture(params=DATABASES)
def doomed_hub(request, hub_factory):
    hub = hub_factory(request.param)
    yield hub
    hub.stop()


def test_hub_killed_mid_push_stores_every_decision_exactly_once(doomed_hub):
    hub = doomed_hub
    item_ids = add_items(hub, 2000, shared_media=True)
    leases = []
    while len(leases) < len(item_ids):
        with hub.client("moderator") as desk:
            for _ in range(2):
                leases += _lease(desk, 100)
    batches = [[decision(x["item"]["id"], x["lease_id"]) for x in leases[i:i + 1000]] for i in range(0, 2000, 1000)]
    sending, outcomes = threading.Event(), []

    def push() -> None:
        with hub.client("moderator") as c:
            for batch in batches:
                sending.set()
                try:
                    outcomes.append(c.post("/v1/decisions", json={"decisions": batch}).status_code)
                except httpx.TransportError:
                    outcomes.append("cut")
                    return

    pusher = threading.Thread(target=push)
    pusher.start()
    poll(lambda: len(outcomes) >= 1)  # the first batch is in; the second is on its way
    hub.restart()  # kill -9 and serve again on the same database
    pusher.join(60)
    with hub.client("moderator") as c:
        results = [c.post("/v1/decisions", json={"decisions": b}).json()["results"] for b in batches]
    for batch, got in zip(batches, results, strict=True):
        assert [r["uuid"] for r in got] == [d["uuid"] for d in batch]
        statuses = {r["status"] for r in got}
        assert statuses in ({"accepted"}, {"duplicate"}), statuses  # a push is all in, or not at all
    assert {r["status"] for r in results[0]} == {"duplicate"}
    from upstream.schema import decisions

    engine = hub.engine()
    with engine.connect() as conn:
        counts = conn.execute(select(func.count(), func.count(func.distinct(decisions.c.uuid)))
                              .select_from(decisions)).one()
    engine.dispose()
    assert tuple(counts) == (2000, 2000)
