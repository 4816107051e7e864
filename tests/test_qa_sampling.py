"""QA sampling: stratification, reproducibility by seed, what is never drawn, targeted kinds; and
`moderator qa sample` on a real store, every error one line that stores nothing."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime

import pytest

from moderator import qa_sampling as qs
from moderator.cli import main
from moderator.domain import Action, Decision, DecisionSource
from moderator.review import ReviewService
from storage.store import Store


def dec(n: int, item: str, actor: str, label: str | None, *, action: Action = Action.REMOVE,
        source: DecisionSource = DecisionSource.MANUAL, handle_ms: int = 5000, supersedes: str | None = None,
        qa_of: str | None = None, day: int = 1) -> Decision:
    return Decision(uuid=f"d{n:04}", item_id=item, labels=(label,) if label else (), action=action, actor=actor,
                    decided_at=f"2026-01-{day:02}T10:00:00.000Z", policy_version="1", source=source,
                    handle_ms=handle_ms, supersedes=supersedes, qa_of=qa_of)


def history(sizes: dict[tuple[str, str], int]) -> list[Decision]:
    """One decision per item, `sizes[(actor, label)]` of each."""
    out = []
    for (actor, label), size in sizes.items():
        for _ in range(size):
            n = len(out)
            out.append(dec(n, f"item{n}", actor, label))
    return out


UNEVEN = {("alice", "spam"): 40, ("alice", "nudity"): 3, ("bob", "spam"): 12, ("bob", "violence_gore"): 7,
          ("carol", "no_violation"): 25}


@pytest.mark.parametrize("n", [5, 10, 13, 20, 30])
def test_every_stratum_gets_at_least_its_floor_share(n):
    pool = qs.candidates(history(UNEVEN), "qa1")
    picks = qs.sample(pool, n, "stratified", seed=3)
    assert len(picks) == n and len({p.decision.uuid for p in picks}) == n
    got = Counter((p.decision.actor, p.decision.labels[0]) for p in picks)
    floor = n // len(UNEVEN)
    for stratum, size in UNEVEN.items():
        assert got[stratum] >= min(floor, size), (stratum, got)
    # the rest goes one at a time: no stratum with decisions left is two behind another
    assert max(got.values()) - min(got[s] for s, size in UNEVEN.items() if size > got[s]) <= 1 or n <= len(UNEVEN)


def test_a_stratum_smaller_than_its_share_gives_all_it_has_and_the_rest_is_spread():
    pool = qs.candidates(history(UNEVEN), "qa1")
    got = Counter((p.decision.actor, p.decision.labels[0]) for p in qs.sample(pool, 30, "stratified", seed=9))
    assert got[("alice", "nudity")] == 3 and sum(got.values()) == 30
    assert all(got[s] >= 6 for s in UNEVEN if s != ("alice", "nudity"))


@pytest.mark.parametrize("strategy", qs.STRATEGIES)
def test_the_same_seed_over_the_same_history_draws_the_same_sample(strategy):
    rows = history(UNEVEN) + [dec(900, "b1", "bob", None, source=DecisionSource.BANK, handle_ms=0),
                              dec(901, "s1", "carol", "spam", handle_ms=300)]
    draw = [[p.decision.uuid for p in qs.sample(qs.candidates(list(rows), "qa1"), 10, strategy, seed=s)]
            for s in (42, 42, 43)]
    assert draw[0] == draw[1] and draw[0] != draw[2]


def test_never_own_decisions_qa_rows_superseded_or_undo_rows():
    rows = [
        dec(1, "i1", "alice", "spam"),  # replaced by bob's: superseded
        dec(2, "i1", "bob", "nudity", supersedes="d0001"),
        dec(3, "i2", "alice", "spam"),
        Decision("d0004", "i2", (), Action.UNDO, "alice", "2026-01-01T11:00:00.000Z", "1", supersedes="d0003"),
        dec(5, "i3", "qa1", "spam"),  # the analyst's own
        dec(6, "i4", "carol", "spam"),
        dec(7, "i4", "qa2", "spam", source=DecisionSource.QA, qa_of="d0006"),  # carol's, re-reviewed already
        dec(8, "i5", "carol", "no_violation", action=Action.ALLOW),
        dec(9, "i5", "qa2", "spam", source=DecisionSource.QA, qa_of="d0008", supersedes="d0008"),  # resolved
        dec(10, "i6", "dave", "spam", source=DecisionSource.BATCH),
    ]
    picked = {p.decision.uuid for p in qs.sample(qs.candidates(rows, "qa1"), 100, "random", seed=1)}
    assert picked == {"d0002", "d0010"}
    # the analyst's own decisions stay out however the batch is drawn
    own = {p.decision.uuid for s in qs.STRATEGIES for p in qs.sample(qs.candidates(rows, "dave"), 100, s, seed=2)}
    assert "d0010" not in own and "d0002" in own


def test_targeted_draws_each_kind():
    rows = history({("alice", "spam"): 30})  # ordinary decisions: none is targeted
    rows += [
        dec(500, "bank", "bank:known", "spam", source=DecisionSource.BANK, handle_ms=0),
        dec(501, "fast", "bob", "spam", handle_ms=400),
        dec(502, "esc", "bob", None, action=Action.ESCALATE),
        dec(503, "undo", "carol", "spam"),
        Decision("d0504", "undo", (), Action.UNDO, "carol", "2026-01-01T11:00:00.000Z", "1", supersedes="d0503"),
        dec(505, "undo", "carol", "nudity"),
    ]
    picks = qs.sample(qs.candidates(rows, "qa1"), 4, "targeted", seed=7)
    assert {p.stratum: p.decision.uuid for p in picks} == {
        "bank": "d0500", "short": "d0501", "escalation": "d0502", "undone": "d0505"}
    assert len(qs.sample(qs.candidates(rows, "qa1"), 40, "targeted", seed=7)) == 4  # only those qualify


def test_filters_by_moderator_label_and_time():
    rows = [dec(1, "a", "alice", "spam", day=1), dec(2, "b", "alice", "nudity", day=2),
            dec(3, "c", "bob", "spam", day=3), dec(4, "d", "bob", None, action=Action.ESCALATE, day=4)]
    uuids = lambda f: [c.decision.uuid for c in qs.candidates(rows, "qa1", f)]  # noqa: E731
    assert uuids(qs.Filters(moderator="alice")) == ["d0001", "d0002"]
    assert uuids(qs.Filters(label="spam")) == ["d0001", "d0003"]
    assert uuids(qs.Filters(label="escalate")) == ["d0004"]
    assert uuids(qs.Filters(since=datetime(2026, 1, 2, tzinfo=UTC), until=datetime(2026, 1, 4, tzinfo=UTC))) \
        == ["d0002", "d0003"]


@pytest.mark.parametrize(("pool", "percent", "n"), [(95, 10, 10), (100, 10, 10), (3, 1, 1), (7, 100, 7)])
def test_percent_is_a_share_of_the_pool_rounded_up(pool, percent, n):
    assert qs.count_for(pool, percent=percent) == n == math.ceil(pool * percent / 100)


# -- the command --------------------------------------------------------------------------------
def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own checks
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def decided(good_store, policy):
    ids = [r[0] for r in good_store.db.execute("SELECT id FROM items ORDER BY rowid")]
    for actor, item, label in (("alice", ids[0], "spam"), ("alice", ids[1], "nudity"), ("bob", ids[2], "spam"),
                               ("qa1", ids[3], "spam")):
        ReviewService(good_store, policy, actor).decide(item, label, handle_ms=8000)
    data = good_store.data_dir
    good_store.close()
    return data


def qa_rows(data) -> tuple[int, int]:
    with Store(data) as s:
        return tuple(s.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("qa_batches", "qa_tasks"))


def test_sample_json_records_and_reproducible_seed(capsys, decided):
    args = ("qa", "sample", "--count", 2, "--strategy", "stratified", "--seed", 11, "--json",
            "--data-dir", decided, "--actor", "qa1")
    code, out, err = run(capsys, *args)
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(records) == 2 and "seed 11" in err
    assert all({"decision_uuid", "item_id", "actor", "labels"} <= set(r) for r in records)
    assert all(r["actor"] != "qa1" for r in records)
    again = [json.loads(line) for line in run(capsys, *args)[1].splitlines()]
    assert [r["decision_uuid"] for r in again] == [r["decision_uuid"] for r in records]
    assert qa_rows(decided) == (2, 4)


@pytest.mark.parametrize(("argv", "code", "message"), [
    (("--count", 1, "--percent", 5), 2, "not allowed with argument"),
    ((), 2, "one of the arguments --count --percent is required"),
    (("--percent", 0), 2, "must be over 0"),
    (("--count", 0), 2, "must be 1..10000000"),
    (("--count", 1, "--strategy", "best"), 2, "invalid choice"),
    (("--count", 1, "--moderator", "nobody"), 2, "no decisions by moderator nobody"),
    (("--count", 1, "--moderator", "qa1"), 2, "cannot re-review their own"),
    (("--count", 1, "--label", "nonsense"), 2, "unknown label"),
    (("--count", 1, "--since", "2026-02-01", "--until", "2026-01-01"), 2, "--since must be before --until"),
    (("--count", 1, "--since", "yesterday"), 2, "expected a date"),
    (("--count", 1, "--label", "violence_gore"), 1, "nothing to sample"),
    (("--count", 1, "--strategy", "targeted"), 1, "no targeted decisions"),
])
def test_every_error_is_one_line_and_stores_nothing(capsys, decided, argv, code, message):
    got, out, err = run(capsys, "qa", "sample", *argv, "--data-dir", decided, "--actor", "qa1")
    assert got == code and out == "" and len(err.strip().splitlines()) == 1 and message in err, err
    assert qa_rows(decided) == (0, 0)


def test_sample_without_a_store_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "qa", "sample", "--count", 1, "--data-dir", tmp_path / "none")
    assert code == 2 and "no store" in err and not (tmp_path / "none").exists()
