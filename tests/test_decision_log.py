"""The one decision log: the pure replay against a brute-force model, the QA rule, batches and their
undo, the Changes each op returns, and the audit of it all, against real SQLite files."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from moderator import decision_log
from moderator.cli import main
from moderator.decision_log import DecisionLogError
from moderator.domain import Action, Decision, DecisionSource, ItemField, ItemStatus
from moderator.ingest import import_paths
from moderator.outbox import parse_message
from moderator.review import ReviewError, ReviewService
from storage import audit
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage.audit_anchor import ANCHOR_NAME, write_anchor
from storage.schema import migrations
from storage.store import Store
from tests.conftest import write_image

ITEMS = 4


# -- the brute-force model: the stack the old code replayed, with the QA rule --------------------------
def model_standing(history: list[Decision]) -> Decision | None:
    stack: list[Decision] = []
    for d in history:
        if d.action is Action.UNDO:
            stack = [x for x in stack if x.uuid != d.supersedes]
        elif d.source is DecisionSource.QA and d.supersedes is None:
            continue  # a QA judgement is never pushed
        else:
            stack.append(d)
    return stack[-1] if stack else None


def model_last_undoable(history: list[Decision], actor: str) -> Decision | None:
    mine = [d for d in history if d.actor == actor and d.action is not Action.UNDO
            and not any(u.action is Action.UNDO and u.supersedes == d.uuid for u in history)]
    return mine[-1] if mine else None


_counter = itertools.count()


def row(item: str, *, action: Action = Action.REMOVE, source: DecisionSource = DecisionSource.MANUAL,
        actor: str = "alice", **kw) -> Decision:
    return Decision(uuid=f"d{next(_counter)}", item_id=item, labels=("spam",) if action is not Action.UNDO else (),
                    action=action, actor=actor, decided_at="2026-01-01T00:00:00.000Z", policy_version="p",
                    source=source, **kw)


# One op: (kind, item index, actor index, pick): pick chooses an earlier row for undo / QA.
OPS = st.lists(st.tuples(st.sampled_from(["decide", "batch", "undo", "qa", "resolve"]),
                         st.integers(0, 2), st.integers(0, 1), st.integers(0, 10_000)), max_size=40)


def history_from(ops) -> list[Decision]:
    """Rows as any writer could append them (the log's own checks aside): undos of any earlier row,
    QA judgements and resolutions of any earlier moderation row, batches over several items."""
    rows: list[Decision] = []
    for kind, item, actor, pick in ops:
        item_id, who = f"i{item}", f"a{actor}"
        earlier = [d for d in rows if d.action is not Action.UNDO]
        moderation = [d for d in earlier if d.source is not DecisionSource.QA]
        if kind == "decide":
            rows.append(row(item_id, actor=who, action=[Action.REMOVE, Action.ALLOW, Action.ESCALATE][pick % 3]))
        elif kind == "batch":
            batch = f"b{next(_counter)}"
            rows += [row(f"i{(item + n) % 3}", actor=who, source=DecisionSource.BATCH, batch_id=batch)
                     for n in range(1 + pick % 3)]
        elif kind == "undo" and earlier:
            target = earlier[pick % len(earlier)]
            rows.append(row(target.item_id, action=Action.UNDO, actor=who, supersedes=target.uuid))
        elif kind in ("qa", "resolve") and moderation:
            reviewed = moderation[pick % len(moderation)]
            current = model_standing([d for d in rows if d.item_id == reviewed.item_id])
            supersedes = current.uuid if kind == "resolve" and current else None
            rows.append(row(reviewed.item_id, actor=who, source=DecisionSource.QA, qa_of=reviewed.uuid,
                            supersedes=supersedes, action=Action.ALLOW))
    return rows


@settings(max_examples=400, deadline=None, derandomize=True)
@given(OPS)
def test_the_pure_replay_equals_the_brute_force_model(ops):
    history = history_from(ops)
    per_item = {i: [d for d in history if d.item_id == i] for i in ("i0", "i1", "i2")}
    for rows in per_item.values():
        assert decision_log.standing(rows) == model_standing(rows)
    expected = {i: s for i, rows in per_item.items() if (s := model_standing(rows)) is not None}
    assert decision_log.standing_by_item(history) == expected
    for actor in ("a0", "a1"):
        assert decision_log.last_undoable(history, actor) == model_last_undoable(history, actor)
    assert all(d.source is not DecisionSource.QA or decision_log.is_resolution(d) for d in expected.values())


def test_a_qa_judgement_never_stands_and_a_resolution_does():
    decided = row("i")
    judged = row("i", source=DecisionSource.QA, qa_of=decided.uuid, action=Action.ALLOW)
    assert decision_log.standing([decided, judged]) == decided  # the old replay: judged stood
    resolved = row("i", source=DecisionSource.QA, qa_of=decided.uuid, supersedes=decided.uuid, action=Action.ALLOW)
    assert decision_log.standing([decided, judged, resolved]) == resolved
    undo = row("i", action=Action.UNDO, source=DecisionSource.QA, qa_of=decided.uuid, supersedes=resolved.uuid)
    assert decision_log.standing([decided, judged, resolved, undo]) == decided


@pytest.mark.parametrize(("new", "message"), [
    (lambda d: row("i", source=DecisionSource.QA, action=Action.ALLOW), "qa_of"),
    (lambda d: row("i", qa_of=d.uuid), "qa_of"),
    (lambda d: row("i", source=DecisionSource.QA, qa_of="nope"), "no moderation decision"),
    (lambda d: row("i", source=DecisionSource.QA, qa_of=d.uuid, supersedes="old"), "must supersede the standing"),
    (lambda d: row("i", action=Action.UNDO, supersedes="nope"), "is no decision"),
    (lambda d: row("other", action=Action.UNDO, supersedes=d.uuid), "is no decision on item other"),
    (lambda d: d, "already in the log"),
])
def test_the_log_refuses_rows_that_break_its_rules(new, message):
    decided = row("i")
    with pytest.raises(DecisionLogError, match=message):
        decision_log.plan([decided], [new(decided)], {"i": ItemStatus.DECIDED, "other": ItemStatus.PENDING})


def test_the_log_refuses_an_undo_of_an_undone_row_and_a_mixed_batch():
    decided = row("i")
    undo = row("i", action=Action.UNDO, supersedes=decided.uuid)
    with pytest.raises(DecisionLogError, match="already undone"):
        decision_log.plan([decided, undo], [row("i", action=Action.UNDO, supersedes=decided.uuid)], {"i": ItemStatus.PENDING})
    with pytest.raises(DecisionLogError, match="share one batch_id"):
        decision_log.plan([], [row("i", batch_id="x"), row("j", batch_id="y")], {"i": ItemStatus.PENDING})
    with pytest.raises(DecisionLogError, match="share one batch_id"):
        decision_log.plan([], [row("i"), row("j")], {"i": ItemStatus.PENDING})


# -- against a real store -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store holding ITEMS imported items, built once and copied per test."""
    root = tmp_path_factory.mktemp("decision-log")
    rng = np.random.default_rng(7)
    files = [write_image(root / f"item{n}.png", rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
             for n in range(ITEMS)]
    with Store(root / "data") as store:
        report = import_paths(store, files, "tester")
        assert len(report.imported) == ITEMS
        ids = list(report.imported)
    return root / "data", ids


@pytest.fixture
def desk(template, tmp_path, policy):
    data, ids = template
    shutil.copytree(data, tmp_path / "data")
    with Store(tmp_path / "data") as store:
        yield ReviewService(store, policy, "alice"), ids


def counts(store: Store) -> tuple[int, ...]:
    return tuple(store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("decisions", "outbox", "audit_log"))


def verify_ok(data: Path, capsys) -> None:
    code = main(["audit", "verify", "--json", "--data-dir", str(data)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"], report["problems"]


def test_a_decision_returns_its_row_and_what_changed(desk):
    service, ids = desk
    first = service.decide(ids[0], "spam")
    d = first.decision
    assert first.decisions == (d,) and d.supersedes is None
    (change,) = first.changes.item_changes
    assert change.fields == {ItemField.STATUS, ItemField.STANDING}
    assert (change.status, change.standing) == (ItemStatus.DECIDED, d) and first.changes.queue
    again = service.decide(ids[0], "nudity")  # still decided: only the standing decision changed
    assert again.decision.supersedes == d.uuid
    assert again.changes.fields_of(ids[0]) == {ItemField.STANDING} and not again.changes.queue
    skipped = service.skip(ids[1])
    assert skipped.fields_of(ids[1]) == {ItemField.STATUS} and skipped.item_changes[0].status is ItemStatus.SKIPPED


def test_a_qa_judgement_leaves_the_item_as_it_was(desk, capsys):
    service, ids = desk
    decided = service.decide(ids[0], "spam").decision
    qa = ReviewService(service.store, service.policy, "quinn")
    judged = qa.qa_review(decided.uuid, "no_violation")
    j = judged.decision
    assert (j.source, j.qa_of, j.supersedes, j.action) == (DecisionSource.QA, decided.uuid, None, Action.ALLOW)
    assert judged.changes.item_changes == () and judged.changes.items == (ids[0],)
    db = service.store.db
    assert decisions_repo.current_for_item(db, ids[0]) == decided
    assert [r["uuid"] for r in decisions_repo.current_rows(db)] == [decided.uuid]
    assert items_repo.get_item(db, ids[0]).status is ItemStatus.DECIDED
    message = parse_message(db.execute("SELECT payload FROM outbox WHERE ref = ?", (j.uuid,)).fetchone()[0])
    assert message.decision == j
    verify_ok(service.store.data_dir, capsys)


def test_a_qa_resolution_stands_and_its_undo_restores_the_decision(desk, capsys):
    service, ids = desk
    decided = service.decide(ids[0], "no_violation").decision
    qa = ReviewService(service.store, service.policy, "quinn")
    resolved = qa.qa_review(decided.uuid, "spam", resolve=True, note="missed the link")
    r = resolved.decision
    assert r.supersedes == decided.uuid and resolved.changes.fields_of(ids[0]) == {ItemField.STANDING}
    assert decisions_repo.current_for_item(service.store.db, ids[0]) == r
    undone = qa.undo_last()
    assert undone.decision.supersedes == r.uuid and undone.decision.qa_of == decided.uuid
    assert decisions_repo.current_for_item(service.store.db, ids[0]) == decided
    service.undo_last()  # alice's decision: now nothing stands for a resolution to replace
    with pytest.raises(ReviewError, match="nothing stands"):
        qa.qa_review(decided.uuid, "spam", resolve=True)
    verify_ok(service.store.data_dir, capsys)


def test_a_batch_is_one_transaction_and_one_undo_supersedes_all_of_it(desk, capsys):
    service, ids = desk
    service.decide(ids[3], "nudity")
    before = counts(service.store)
    batch = service.decide_batch(ids[:3], "spam", handle_ms=1000)
    assert len(batch.decisions) == 3 and len({d.batch_id for d in batch.decisions}) == 1
    assert {d.source for d in batch.decisions} == {DecisionSource.BATCH}
    assert sum(d.handle_ms for d in batch.decisions) == 1000
    assert counts(service.store) == (before[0] + 3, before[1] + 3, before[2] + 1)  # one audit entry
    assert set(batch.changes.items) == set(ids[:3]) and batch.changes.queue
    undo = service.undo_last()
    assert [u.supersedes for u in undo.decisions] == [d.uuid for d in batch.decisions]
    assert len({u.batch_id for u in undo.decisions}) == 1
    assert undo.decisions[0].batch_id not in (None, batch.decisions[0].batch_id)
    assert {service.item(i).status for i in ids[:3]} == {ItemStatus.PENDING}
    assert service.item(ids[3]).status is ItemStatus.DECIDED  # not in the batch
    assert {c.status for c in undo.changes.item_changes} == {ItemStatus.PENDING}
    assert service.undo_last().decision.item_id == ids[3]  # the next undo: the decision before the batch
    verify_ok(service.store.data_dir, capsys)


def test_undo_of_a_batch_skips_members_already_undone(desk):
    service, ids = desk
    batch = service.decide_batch(ids[:3], "spam")
    first = batch.decisions[0]

    def undo_one(db):  # another actor undoes one member first (as reopen does for a bank row)
        u = decision_log.undo_of(first, uuid="lead-undo", actor="lead", decided_at=first.decided_at,
                                 policy_version="p")
        return decisions_repo.append_decisions(db, [u])

    service.store.write(undo_one)
    undo = service.undo_last()
    assert [u.supersedes for u in undo.decisions] == [d.uuid for d in batch.decisions[1:]]


def test_a_refused_row_leaves_nothing(desk):
    service, ids = desk
    d = service.decide(ids[0], "spam").decision
    before = counts(service.store)
    with pytest.raises(ReviewError, match="no item"):
        service.decide_batch([ids[1], "missing"], "spam")
    with pytest.raises(ReviewError, match="no decision"):
        service.qa_review("missing", "spam")

    def twice(db):
        u = decision_log.undo_of(d, uuid="u1", actor="alice", decided_at=d.decided_at, policy_version="p")
        decisions_repo.append_decisions(db, [u])
        decisions_repo.append_decisions(db, [decision_log.undo_of(d, uuid="u2", actor="alice",
                                                                  decided_at=d.decided_at, policy_version="p")])

    with pytest.raises(DecisionLogError, match="already undone"):
        service.store.write(twice)
    assert counts(service.store) == before
    assert service.item(ids[1]).status is ItemStatus.PENDING and service.item(ids[0]).status is ItemStatus.DECIDED


def test_editing_qa_of_is_found_by_audit_verify(desk, capsys):
    service, ids = desk
    decided = service.decide(ids[0], "spam").decision
    other = service.decide(ids[1], "spam").decision
    ReviewService(service.store, service.policy, "quinn").qa_review(decided.uuid, "spam")
    data = service.store.data_dir
    service.store.close()
    verify_ok(data, capsys)
    for sql in ("UPDATE decisions SET qa_of = NULL WHERE source = 'qa'",
                f"UPDATE decisions SET qa_of = '{decided.uuid}' WHERE uuid = '{other.uuid}'"):
        copy = data.parent / f"copy{len(sql)}"
        shutil.copytree(data, copy)
        conn = sqlite3.connect(copy / "store.sqlite3")
        conn.execute("DROP TRIGGER decisions_no_update")
        conn.execute(sql)
        conn.commit()
        conn.close()
        assert main(["audit", "verify", "--data-dir", str(copy)]) == 1
        assert "(decision_qa)" in capsys.readouterr().out


def test_a_store_from_before_0006_verifies_before_and_after_the_upgrade(tmp_path, capsys):
    """Decisions written before the qa_of column keep their audit records' hashes."""
    data = tmp_path / "old"
    data.mkdir(mode=0o700)
    conn = sqlite3.connect(data / "store.sqlite3", isolation_level=None)
    db = Database(conn)
    migrations.apply(db, stop_before="0006_decision_qa_of")
    conn.execute("INSERT INTO media VALUES ('aa', 'media/x.png', 'image/png', 'image', 1, 1, NULL, 1, 'now')")
    conn.execute("INSERT INTO items (id, sha256, imported_at, status) VALUES ('item-1', 'aa', 'now', 'decided')")
    conn.execute("INSERT INTO decisions (uuid, item_id, labels, action, actor, decided_at, policy_version, source) "
                 "VALUES ('d-1', 'item-1', '[\"spam\"]', 'remove', 'alice', 'now', 'p', 'manual')")
    conn.execute("INSERT INTO outbox (kind, ref, payload, created_at) VALUES ('decision', 'd-1', '{}', 'now')")
    audit.append(db, "alice", "import", "item-1", {}, audit.item_records("item-1"))
    audit.append(db, "alice", "decision", "item-1", {}, [("decision", "d-1"), ("outbox", "1"), ("item_state", "item-1")])
    write_anchor(data / ANCHOR_NAME, audit.head(db))
    conn.close()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0  # read-only, not upgraded: no qa_of yet
    with Store(data) as store:
        assert decisions_repo.current_for_item(store.db, "item-1").qa_of is None
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    capsys.readouterr()


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["decide", "batch", "undo", "qa", "resolve", "undo_qa"]),
                          st.integers(0, ITEMS - 1), st.integers(0, 100)), min_size=1, max_size=14))
def test_every_op_keeps_status_standing_outbox_and_audit_in_step(template, tmp_path_factory, policy, ops):
    """Random sequences through the real services: each item's status is what the brute-force model
    makes of its rows, every outbox message reads back as its row, and audit verify passes."""
    data, ids = template
    copy = tmp_path_factory.mktemp("ops") / "data"
    shutil.copytree(data, copy)
    with Store(copy) as store:
        alice, quinn = ReviewService(store, policy, "alice"), ReviewService(store, policy, "quinn")
        for kind, n, pick in ops:
            labels = [lb.name for lb in policy.labels]
            label = labels[pick % len(labels)]
            rows = [decisions_repo.row_to_decision(r) for r in decisions_repo.all_rows(store.db)]
            moderation = [d for d in rows if d.action is not Action.UNDO and d.source is not DecisionSource.QA]
            if kind == "decide":
                alice.decide(ids[n], label)
            elif kind == "batch":
                alice.decide_batch([ids[(n + k) % ITEMS] for k in range(1 + pick % 3)], label)
            elif kind == "undo":
                alice.undo_last()
            elif kind == "undo_qa":
                quinn.undo_last()
            elif moderation:
                reviewed = moderation[pick % len(moderation)]
                standing = decisions_repo.current_for_item(store.db, reviewed.item_id)
                if kind == "qa" or standing is not None:
                    quinn.qa_review(reviewed.uuid, label, resolve=kind == "resolve")
        rows = [decisions_repo.row_to_decision(r) for r in decisions_repo.all_rows(store.db)]
        for item_id in ids:
            mine = [d for d in rows if d.item_id == item_id]
            if mine:
                assert store.db.execute("SELECT status FROM items WHERE id = ?", (item_id,)).fetchone()[0] == \
                    decision_log.status_for(model_standing(mine)).value
        payloads = {r[0]: r[1] for r in store.db.execute("SELECT ref, payload FROM outbox")}
        assert [parse_message(payloads[d.uuid]).decision for d in rows] == rows
    assert main(["audit", "verify", "--data-dir", str(copy)]) == 0
