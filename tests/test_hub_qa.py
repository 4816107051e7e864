"""QA on the hub (docs/HUB.md, "QA on the hub"), against a real hub process on SQLite and PostgreSQL:
`moderator hub qa sample` draws what the desk's qa_sampling draws over the hub's log; `qa` users lease
tasks blind (POST /v1/qa/leases), fetch their media, push judgements through POST /v1/decisions, and
read the original (GET /v1/qa/tasks/{id}/original) only after their judgement is accepted."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select

from moderator import qa_sampling
from tests.hub_fixtures import add_items, clear_queue, decision, png_bytes

BLIND_ITEM_KEYS = {"id", "sha256", "kind", "mime", "category", "priority", "sla_due_at", "reason", "report_count",
                   "external_id", "source_name", "bytes",
                   # the report's context (upstream.leases.ITEM_FIELDS): what was reported, not what was decided
                   "reporter", "reported_account", "post_text", "source_url", "original_name"}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _decided(hub, n: int, *, labels=("spam",)) -> tuple[str, list[dict]]:
    """A new moderator (team vendor-x) decides n new items; (their token, the pushed decisions)."""
    token = hub.add_user_cli(_name("mod"), "moderator", team="vendor-x")
    clear_queue(hub)
    add_items(hub, n)
    with hub.client(token, desk=_desk(token)) as c:
        leases = c.post("/v1/leases", json={"count": n}).json()["leases"]
        assert len(leases) == n
        pushed = [decision(lease["item"]["id"], lease["lease_id"], labels=list(labels), note="looked twice")
                  for lease in leases]
        results = c.post("/v1/decisions", json={"decisions": pushed}).json()["results"]
    assert {r["status"] for r in results} == {"accepted"}
    return token, pushed


def _desk(token: str) -> str:
    return f"desk-{token[:12]}"


def _analyst(hub) -> tuple[str, str]:
    name = _name("qa")
    return name, hub.add_user_cli(name, "qa", team="qa-team")


def _sample(hub, *args: str) -> list[dict]:
    done = hub.cli("qa", "sample", *args, "--json")
    assert done.returncode == 0, done.stderr
    assert "hub QA batch" in done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _one(hub, query):
    engine = hub.engine()
    try:
        with engine.connect() as conn:
            return conn.execute(query).first()
    finally:
        engine.dispose()


def _qa_row(task: dict, **overrides) -> dict:
    row = decision(task["item"]["id"], task["lease_id"], source="qa", qa_of=task["decision_uuid"], labels=["spam"])
    return {**row, **overrides}


def test_sample_is_the_desks_draw_over_the_hubs_standing_decisions(hub):
    from upstream.db import read_tx
    from upstream.qa import history

    token, pushed = _decided(hub, 5)
    undone = pushed[0]
    with hub.client(token, desk=_desk(token)) as c:  # an undo: the undone row no longer stands, so it is never drawn
        undo = decision(undone["item_id"], None, action="undo", labels=[], supersedes=undone["uuid"])
        assert c.post("/v1/decisions", json={"decisions": [undo]}).json()["results"][0]["status"] == "accepted"
    name, _ = _analyst(hub)
    first = _sample(hub, "--count", "4", "--seed", "7", "--analyst", name)
    again = _sample(hub, "--count", "4", "--seed", "7", "--analyst", name)
    everything = _sample(hub, "--percent", "100", "--seed", "1", "--analyst", name)

    engine = hub.engine()
    with read_tx(engine) as conn:
        log = history(conn)
    engine.dispose()
    pool = qa_sampling.candidates(log, name)
    expected = [p.decision.uuid for p in qa_sampling.sample(pool, 4, "random", 7)]
    assert [r["decision_uuid"] for r in first] == [r["decision_uuid"] for r in again] == expected
    assert {r["task_id"] for r in first}.isdisjoint(r["task_id"] for r in again)  # two batches, own tasks
    drawn = {r["decision_uuid"] for r in everything}
    assert drawn == {c.decision.uuid for c in pool}
    assert {d["uuid"] for d in pushed[1:]} <= drawn and undone["uuid"] not in drawn and undo["uuid"] not in drawn
    assert all(r["source"] in ("manual", "batch", "bank") for r in everything)
    strata = _sample(hub, "--count", "3", "--strategy", "stratified", "--seed", "2", "--analyst", name)
    assert all(" / " in r["stratum"] for r in strata)


def test_sample_never_draws_the_analysts_own_decisions(hub):
    from upstream.db import write_tx
    from upstream.qa import sample_batch

    lead_name = _name("lead")
    lead = hub.add_user_cli(lead_name, "lead")  # a lead may decide, and is the analyst here
    clear_queue(hub)
    add_items(hub, 2)
    with hub.client(lead) as c:
        leases = c.post("/v1/leases", json={"count": 2}).json()["leases"]
        own = [decision(x["item"]["id"], x["lease_id"]) for x in leases]
        c.post("/v1/decisions", json={"decisions": own})
    engine = hub.engine()
    with write_tx(engine) as conn:
        batch = sample_batch(conn, "tests", "random", 3, analyst=lead_name, percent=100)
    engine.dispose()
    assert batch.picks and not {d["uuid"] for d in own} & {p.decision.uuid for p in batch.picks}


def test_sample_usage_errors_are_one_line_and_store_nothing(hub):
    from sqlalchemy import func

    from upstream.schema import qa_batches

    before = _one(hub, select(func.count()).select_from(qa_batches))[0]
    for args, why in ((("--count", "1", "--analyst", "nobody-here"), "no active hub user"),
                      (("--count", "1", "--analyst", "moderator-1"), "is a moderator"),
                      (("--analyst", "qa-1"), "--count"),
                      (("--count", "1", "--percent", "5"), "not allowed with"),
                      (("--percent", "0"), "over 0")):
        done = hub.cli("qa", "sample", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert why in done.stderr and len(done.stderr.strip().splitlines()) <= 3
    assert _one(hub, select(func.count()).select_from(qa_batches))[0] == before


def test_sample_on_a_hub_without_decisions_draws_nothing_exit_1(tmp_path):
    def hub_cli(*args):
        return subprocess.run([sys.executable, "-m", "moderator", "hub", *args, "--data-dir", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)

    missing = hub_cli("qa", "sample", "--count", "1")
    assert missing.returncode == 2 and "no hub database" in missing.stderr
    assert hub_cli("user", "add", "ann", "--role", "qa").returncode == 0
    empty = hub_cli("qa", "sample", "--count", "1", "--analyst", "ann")
    assert empty.returncode == 1 and empty.stderr.startswith("moderator: error: nothing to sample")
    assert empty.stdout == ""


@pytest.mark.parametrize("role", ["moderator", "lead", "admin"])
def test_qa_leases_are_for_the_qa_role_only(hub, role):
    with hub.client(role) as c:
        r = c.post("/v1/qa/leases", json={"count": 1})
    assert r.status_code == 403 and role in r.json()["detail"]


def test_qa_lease_requests_are_checked(hub):
    import httpx

    assert httpx.post(f"{hub.url}/v1/qa/leases", json={"count": 1}).status_code == 401
    with hub.client("qa") as c:
        for body in ({"count": 0}, {"count": 101}, {"count": 1, "extra": 1}, {}):
            r = c.post("/v1/qa/leases", json=body)
            assert r.status_code == 422 and "\n" not in r.json()["detail"], body
    no_desk = httpx.post(f"{hub.url}/v1/qa/leases", json={"count": 1},
                         headers={"Authorization": f"Bearer {hub.tokens['qa']}"})
    assert no_desk.status_code == 422 and "X-Moderator-Desk" in no_desk.json()["detail"]


def test_a_qa_lease_is_the_item_alone_and_only_the_analysts(hub):
    _, pushed = _decided(hub, 3)
    name, token = _analyst(hub)
    _other, other_token = _analyst(hub)
    records = _sample(hub, "--percent", "100", "--seed", "4", "--analyst", name)
    with hub.client(token) as mine, hub.client(other_token) as other:
        assert other.post("/v1/qa/leases", json={"count": 100}).json()["leases"] == []  # not theirs
        got = mine.post("/v1/qa/leases", json={"count": 100}).json()["leases"]
        assert mine.post("/v1/qa/leases", json={"count": 100}).json()["leases"] == []  # all held
    assert [g["task_id"] for g in got] == [r["task_id"] for r in records]  # in review order
    assert [g["decision_uuid"] for g in got] == [r["decision_uuid"] for r in records]
    for g in got:
        assert set(g) == {"lease_id", "expires_at", "task_id", "decision_uuid", "item", "filter_floor"}
        assert set(g["filter_floor"]) == {"blur", "grayscale", "pixelate", "style", "reveal"}  # a filter only
        assert set(g["item"]) == BLIND_ITEM_KEYS  # no matches, suggested label, labels, actor, note
    mine_items = {g["item"]["id"]: g for g in got}
    assert {d["item_id"] for d in pushed} <= set(mine_items)


def test_qa_media_only_for_the_analyst_holding_the_task(hub):
    _decided(hub, 1)
    name, token = _analyst(hub)
    _other, other_token = _analyst(hub)
    _sample(hub, "--count", "1", "--seed", "5", "--analyst", name)
    with hub.client(token) as mine, hub.client(other_token) as other:
        [task] = mine.post("/v1/qa/leases", json={"count": 1}).json()["leases"]
        sha = task["item"]["sha256"]
        got = mine.get(f"/v1/media/{sha}")
        assert got.status_code == 200 and got.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(got.content) == task["item"]["bytes"]
        assert other.get(f"/v1/media/{sha}").status_code == 403
        assert mine.post("/v1/decisions", json={"decisions": [_qa_row(task)]}).json()["results"][0]["status"] == \
            "accepted"
        assert mine.get(f"/v1/media/{sha}").status_code == 403  # the task is done: its lease ended


def test_a_judgement_marks_the_task_and_never_touches_the_item(hub):
    from upstream.schema import decisions, items, qa_leases, qa_tasks

    _, pushed = _decided(hub, 1, labels=("spam",))
    name, token = _analyst(hub)
    _other, other_token = _analyst(hub)
    [record] = _sample(hub, "--count", "1", "--seed", "6", "--analyst", name)
    with hub.client(token) as mine, hub.client(other_token) as other, hub.client("moderator") as mod:
        [task] = [t for t in mine.post("/v1/qa/leases", json={"count": 100}).json()["leases"]
                  if t["task_id"] == record["task_id"]]
        item_id = task["item"]["id"]
        before = _one(hub, select(items.c.status).where(items.c.id == item_id))[0]
        refused = [
            (mod, _qa_row(task), "may not push qa"),
            (mine, _qa_row(task, lease_id=None), "QA lease"),
            (other, _qa_row(task), "not yours"),
            (mine, _qa_row(task, lease_id="no-such-lease"), "no QA lease"),
            (mine, _qa_row(task, qa_of=str(uuid.uuid4())), "not qa_of"),
            (mine, _qa_row(task, supersedes=pushed[0]["uuid"]), "resolution"),
            (mine, _qa_row(task, labels=["not_a_label"]), "policy"),
        ]
        for client, row, why in refused:
            [r] = client.post("/v1/decisions", json={"decisions": [row]}).json()["results"]
            assert r["status"] == "rejected" and why in r["reason"], (why, r)
            assert _one(hub, select(decisions.c.uuid).where(decisions.c.uuid == row["uuid"])) is None
        assert mine.get(f"/v1/qa/tasks/{task['task_id']}/original").status_code == 409
        judged = _qa_row(task, labels=["no_violation"], note="not spam to me")
        twice = _qa_row(task)
        r = mine.post("/v1/decisions", json={"decisions": [judged, twice]}).json()["results"]
        assert [x["status"] for x in r] == ["accepted", "rejected"] and "judged already" in r[1]["reason"]
        assert mine.post("/v1/decisions", json={"decisions": [judged]}).json()["results"][0]["status"] == "duplicate"
        original = mine.get(f"/v1/qa/tasks/{task['task_id']}/original")
        assert other.get(f"/v1/qa/tasks/{task['task_id']}/original").status_code == 403
        assert mod.get(f"/v1/qa/tasks/{task['task_id']}/original").status_code == 403
        assert mine.get("/v1/qa/tasks/no-such-task/original").status_code == 404
    assert original.status_code == 200
    assert original.json() == {
        "task_id": task["task_id"], "decision_uuid": pushed[0]["uuid"], "qa_uuid": judged["uuid"], "item_id": item_id,
        "label": "spam", "labels": ["spam"], "action": "remove", "actor": record["actor"], "team": "vendor-x",
        "decided_at": pushed[0]["decided_at"], "note": "looked twice", "source": "manual",
        "policy_version": pushed[0]["policy_version"], "matches": [], "golden_labels": None}
    assert _one(hub, select(items.c.status).where(items.c.id == item_id))[0] == before == "decided"
    state = _one(hub, select(qa_tasks.c.state, qa_tasks.c.qa_uuid, qa_tasks.c.lease_id)
                 .where(qa_tasks.c.id == task["task_id"]))
    assert tuple(state) == ("judged", judged["uuid"], None)
    ended = _one(hub, select(qa_leases.c.end_reason).where(qa_leases.c.lease_id == task["lease_id"]))
    assert ended[0] == "judged"
    with hub.client(token) as mine:  # judged: never leased to them again
        again = mine.post("/v1/qa/leases", json={"count": 100}).json()["leases"]
    assert pushed[0]["uuid"] not in {t["decision_uuid"] for t in again}


def test_a_lead_reads_any_judged_original(hub):
    _decided(hub, 1)
    name, token = _analyst(hub)
    [record] = _sample(hub, "--count", "1", "--seed", "8", "--analyst", name)
    with hub.client(token) as mine, hub.client("lead") as lead:
        [task] = [t for t in mine.post("/v1/qa/leases", json={"count": 100}).json()["leases"]
                  if t["task_id"] == record["task_id"]]
        assert lead.get(f"/v1/qa/tasks/{task['task_id']}/original").status_code == 409
        mine.post("/v1/decisions", json={"decisions": [_qa_row(task)]})
        r = lead.get(f"/v1/qa/tasks/{task['task_id']}/original")
    assert r.status_code == 200 and r.json()["decision_uuid"] == record["decision_uuid"]


def test_a_batch_for_any_analyst_goes_to_one_of_them_once(hub):
    _, pushed = _decided(hub, 2)
    records = _sample(hub, "--percent", "100", "--seed", "9")
    ours = {r["task_id"] for r in records if r["decision_uuid"] in {d["uuid"] for d in pushed}}
    assert len(ours) == 2
    _a, first = _analyst(hub)
    _b, second = _analyst(hub)
    with hub.client(first) as a, hub.client(second) as b:
        got_a = {t["task_id"] for t in a.post("/v1/qa/leases", json={"count": 100}).json()["leases"]}
        got_b = {t["task_id"] for t in b.post("/v1/qa/leases", json={"count": 100}).json()["leases"]}
    assert ours <= got_a and not ours & got_b


def _golden_manifest(root, rows: list[dict]):
    root.mkdir(parents=True)
    for n, row in enumerate(rows):
        (root / f"g{n}.png").write_bytes(png_bytes(10_000 + n + uuid.uuid4().int % 10**9))
        row.setdefault("path", f"g{n}.png")
        row.setdefault("external_id", f"golden-{uuid.uuid4()}")
    (root / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "golden.jsonl"


def test_golden_import_puts_items_with_their_answers_in_the_queue(hub, tmp_path):
    from sqlalchemy import func

    from upstream.schema import golden_items, items

    clear_queue(hub)
    manifest = _golden_manifest(tmp_path / "g", [{"golden_label": "spam"}, {"golden_label": "nudity;sexual"}, {}])
    done = hub.cli("qa", "golden", "import", str(manifest), "--label", "no_violation", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [g["labels"] for g in report["golden"]] == [["spam"], ["nudity", "sexual"], ["no_violation"]]
    ids = [g["item_id"] for g in report["golden"]]
    for item_id, g in zip(ids, report["golden"], strict=True):
        row = _one(hub, select(golden_items.c.labels, items.c.status).join(items, items.c.id == golden_items.c.item_id)
                   .where(golden_items.c.item_id == item_id))
        assert (json.loads(row[0]), row[1]) == (g["labels"], "pending")
    with hub.client("moderator") as c:  # queued like any other item: nothing on the lease says golden
        leased = c.post("/v1/leases", json={"count": 100}).json()["leases"]
    assert sorted(x["item"]["id"] for x in leased) == sorted(ids)
    assert all(set(x["item"]) == BLIND_ITEM_KEYS | {"matches"} for x in leased)
    before = _one(hub, select(func.count()).select_from(items))[0]
    bad = _golden_manifest(tmp_path / "bad", [{"golden_label": "spam"}, {"golden_label": "not_a_label"}])
    refused = hub.cli("qa", "golden", "import", str(bad))
    assert refused.returncode == 2 and "unknown label 'not_a_label'" in refused.stderr
    missing = hub.cli("qa", "golden", "import", str(_golden_manifest(tmp_path / "none", [{}])))
    assert missing.returncode == 2 and "no known answer" in missing.stderr
    assert _one(hub, select(func.count()).select_from(items))[0] == before  # nothing of either imported
