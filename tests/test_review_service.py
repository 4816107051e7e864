"""Decisions, undo, escalation, skip: rows, outbox, audit chain — against a real SQLite file."""

import json
import sqlite3

import pytest

from moderator import export
from moderator.domain import Action, ItemStatus
from moderator.ingest import import_paths
from moderator.review import ReviewError
from storage import audit
from storage import decisions as decisions_repo


@pytest.fixture
def items(store, good_folder):
    report = import_paths(store, [good_folder], "tester")
    assert len(report.imported) == 4
    return report.imported


def test_decide_writes_decision_outbox_and_audit_together(service, store, items):
    d = service.decide(items[0], "spam", handle_ms=1200).decision
    row = store.db.execute("SELECT * FROM decisions WHERE uuid = ?", (d.uuid,)).fetchone()
    assert json.loads(row["labels"]) == ["spam"] and row["action"] == "remove"
    assert row["policy_version"] == service.policy.version and row["handle_ms"] == 1200
    outbox = store.db.execute("SELECT ref, payload FROM outbox WHERE kind='decision'").fetchall()
    assert [r[0] for r in outbox] == [d.uuid] and json.loads(outbox[0][1])["uuid"] == d.uuid
    last = store.db.execute("SELECT event, subject FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    assert tuple(last) == ("decision", items[0])
    assert service.item(items[0]).status is ItemStatus.DECIDED


def test_failed_decision_leaves_nothing(service, store, items):
    before = [store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("decisions", "outbox", "audit_log")]
    with pytest.raises(ReviewError, match="unknown label"):
        service.decide(items[0], "nonsense")
    with pytest.raises(ReviewError, match="no item"):
        service.decide("missing", "spam")
    with pytest.raises(ReviewError, match="needs a note"):
        service.escalate(items[0], "   ")
    after = [store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("decisions", "outbox", "audit_log")]
    assert before == after


def test_undo_supersedes_and_walks_back(service, store, items):
    first = service.decide(items[0], "no_violation").decision
    second = service.decide(items[1], "nudity").decision
    undo = service.undo_last().decision
    assert undo.action is Action.UNDO and undo.supersedes == second.uuid
    assert service.item(items[1]).status is ItemStatus.PENDING
    assert service.undo_last().decision.supersedes == first.uuid
    nothing = service.undo_last()
    assert nothing.decisions == () and nothing.decision is None and nothing.changes.items == ()
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 4  # nothing deleted
    assert export.export_rows(store.db) == []


def test_redecision_supersedes_and_undo_restores_previous(service, store, items):
    first = service.decide(items[0], "spam").decision
    second = service.decide(items[0], "no_violation").decision
    assert second.supersedes == first.uuid
    service.undo_last()
    current = decisions_repo.current_for_item(store.db, items[0])
    assert current.uuid == first.uuid and service.item(items[0]).status is ItemStatus.DECIDED


def test_skip_and_escalate(service, items):
    before = [i.id for i in service.queue()]
    service.skip(items[0])
    assert [i.id for i in service.queue()] == [i for i in before if i != items[0]]  # hidden for a while
    service.store.write(lambda db: db.execute("UPDATE items SET skip_until = '2000-01-01T00:00:00.000Z'"))
    assert [i.id for i in service.queue()] == before  # back in its place, not behind the rest
    d = service.escalate(items[1], "looks like a known series").decision
    assert d.action is Action.ESCALATE and d.note == "looks like a known series"
    assert service.item(items[1]).status is ItemStatus.ESCALATED
    assert items[1] not in [i.id for i in service.queue()]


def test_exposure_rows_sum_into_the_decision(service, store, items):
    item = service.item(items[0])
    service.record_exposure(item, "peek", "2026-01-01T00:00:00.000Z", 250)
    service.record_exposure(item, "peek", "2026-01-01T00:00:01.000Z", 400)
    d = service.decide(item.id, "spam").decision
    assert d.exposure_ms == 650
    linked = store.db.execute("SELECT SUM(ms) FROM exposure_events WHERE decision_uuid = ?", (d.uuid,)).fetchone()[0]
    assert linked == 650
    assert service.decide(item.id, "no_violation").decision.exposure_ms == 0  # counted once


def test_decisions_and_audit_are_append_only(service, store, items):
    service.decide(items[0], "spam")
    for sql in ("UPDATE decisions SET action = 'allow'", "DELETE FROM decisions", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.write(lambda db, q=sql: db.execute(q))


def test_audit_chain_detects_tampering(service, store, items):
    service.decide(items[0], "spam")
    service.decide(items[1], "nudity")
    assert audit.verify(store.db) is None

    def tamper(db):
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")

    store.write(tamper)
    assert audit.verify(store.db) == 3


def test_export_formats(service, store, items):
    service.decide(items[0], "spam")
    service.decide(items[1], "nudity")
    service.undo_last()
    rows = export.export_rows(store.db)
    assert [r["labels"] for r in rows] == [["spam"]]
    assert rows[0]["sha256"] and rows[0]["media_path"].endswith(".jpg")
    history = export.export_rows(store.db, include_history=True)
    assert [r["action"] for r in history] == ["remove", "age_restrict", "undo"]
    csv_text = export.render(rows, "csv")
    assert csv_text.splitlines()[0].startswith("uuid,item_id,external_id,sha256")
    assert json.loads(export.render(rows, "jsonl").splitlines()[0])["uuid"] == rows[0]["uuid"]


def test_a_new_store_is_private_to_its_user(tmp_path):
    from storage.store import Store

    with Store(tmp_path / "fresh" / "store"):
        pass
    assert oct((tmp_path / "fresh" / "store").stat().st_mode & 0o777) == "0o700"
