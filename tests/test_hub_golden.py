"""Golden accuracy on the hub (upstream/golden.py), against a real hub process on SQLite and PostgreSQL:
moderators lease and decide golden items over the API like any other, and `moderator hub status --json`
scores each one's latest standing moderation decision on each golden item against its known answer,
with the keys of the desk report's `qa.golden` (docs/REPORT.md)."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.hub_fixtures import DATABASES, add_items, clear_queue, decision

DESK = "desk-golden"


def _golden(hub, item_ids: list[str], answer: str) -> None:
    from upstream.db import write_tx
    from upstream.qa import add_golden

    engine = hub.engine()
    try:
        with write_tx(engine) as conn:
            add_golden(conn, "lead", [(i, (answer,), "test") for i in item_ids])
    finally:
        engine.dispose()


def _decide(hub, token: str, labels: list[list[str]]) -> list[dict]:
    """The moderator leases len(labels) items and gives them these labels in lease order."""
    with hub.client(token, desk=DESK) as c:
        leases = c.post("/v1/leases", json={"count": len(labels)}).json()["leases"]
        assert len(leases) == len(labels)
        pushed = [decision(lease["item"]["id"], lease["lease_id"], labels=lb,
                           action="allow" if lb == ["no_violation"] else "remove")
                  for lease, lb in zip(leases, labels, strict=True)]
        results = c.post("/v1/decisions", json={"decisions": pushed}).json()["results"]
    assert {r["status"] for r in results} == {"accepted"}, results
    return pushed


def _status(hub) -> dict:
    done = hub.cli("status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["golden"]


def test_golden_accuracy_per_moderator_in_hub_status(hub):
    assert _status(hub) == {"overall": {"n": 0, "correct": 0, "accuracy": None}, "by_moderator": {}}
    a, b = (f"mod-{uuid.uuid4().hex[:6]}" for _ in range(2))
    token_a, token_b = hub.add_user_cli(a, "moderator"), hub.add_user_cli(b, "moderator")
    clear_queue(hub)
    ids = add_items(hub, 4)
    _golden(hub, ids[:3], "spam")  # the fourth is an ordinary item: never scored
    # A: spam, no_violation; B: spam, spam, on whichever items the queue hands out.
    mine_a = _decide(hub, token_a, [["spam"], ["no_violation"]])
    mine_b = _decide(hub, token_b, [["spam"], ["spam"]])
    golden = set(ids[:3])
    decided = {d["item_id"]: (who, d) for who, ds in ((a, mine_a), (b, mine_b)) for d in ds}
    expect: dict[str, list[int]] = {}
    for item_id, (who, d) in decided.items():
        if item_id in golden:
            score = expect.setdefault(who, [0, 0])
            score[0] += 1
            score[1] += d["labels"] == ["spam"]
    s = _status(hub)
    assert s["by_moderator"] == {who: {"n": n, "correct": c, "accuracy": c / n}
                                 for who, (n, c) in sorted(expect.items())}
    assert s["overall"]["n"] == 3 and s["overall"]["correct"] == sum(c for _n, c in expect.values())
    # A's decision on a golden item undone: A is scored on what still stands.
    undone = next(d for d in mine_a if d["item_id"] in golden)
    undo = decision(undone["item_id"], None, labels=[], action="undo", supersedes=undone["uuid"])
    with hub.client(token_a, desk=DESK) as c:
        r = c.post("/v1/decisions", json={"decisions": [undo]}).json()["results"][0]
    assert r["status"] == "accepted", r
    n, correct = expect[a]
    correct -= undone["labels"] == ["spam"]
    after = _status(hub)["by_moderator"]
    assert after.get(a) == ({"n": n - 1, "correct": correct, "accuracy": correct / (n - 1)} if n > 1 else None)



def _lease_ids(hub, token: str, count: int) -> list[str]:
    with hub.client(token, desk=f"desk-{uuid.uuid4().hex[:6]}") as c:
        return [lease["item"]["id"] for lease in c.post("/v1/leases", json={"count": count}).json()["leases"]]


@pytest.mark.parametrize("db", DATABASES)
def test_golden_items_are_held_out_of_leases_at_rate_zero_until_the_queue_is_empty(hub_factory, db):
    hub = hub_factory(db, "--golden-rate", "0")
    token = hub.add_user_cli(f"mod-{uuid.uuid4().hex[:6]}", "moderator")
    ids = add_items(hub, 6)
    _golden(hub, ids[:3], "spam")  # imported first: the review order alone would hand them out first
    assert set(_lease_ids(hub, token, 3)) == set(ids[3:])  # the queue first, no golden item at rate 0
    assert set(_lease_ids(hub, token, 5)) == set(ids[:3])  # what is left when the queue is empty


@pytest.mark.parametrize("db", DATABASES)
def test_golden_items_are_mixed_into_leases_at_the_hubs_rate(hub_factory, db):
    hub = hub_factory(db, "--golden-rate", "0.5")
    token = hub.add_user_cli(f"mod-{uuid.uuid4().hex[:6]}", "moderator")
    ids = add_items(hub, 120)
    golden = set(ids[60:])  # the last 60 in the review order: only the rate brings them forward
    _golden(hub, sorted(golden), "spam")
    leased = _lease_ids(hub, token, 60)
    assert len(leased) == 60
    share = len(golden & set(leased)) / 60
    assert 0.25 <= share <= 0.75, share  # binomial(60, 0.5): outside this one run in ~10^4


def test_a_golden_rate_outside_its_bounds_is_one_usage_line(hub_factory, tmp_path):
    from tests.hub_fixtures import HubProcess

    for bad in ("0.9", "nan", "x"):
        done = HubProcess(f"sqlite:///{tmp_path / 'h.sqlite3'}", tmp_path / "d", ()).cli(
            "serve", "--golden-rate", bad, "--port", "0")
        assert done.returncode == 2 and "--golden-rate" in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) <= 2, done.stderr
