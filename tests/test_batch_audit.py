"""A batch's audit records, hashed from the rows the batch just wrote (storage.audit.appended, row_hash,
the items' state from the batch's own read), must be exactly what re-reading each row gives
(record_hash, the format old logs were written in), and the log must verify."""

import json
import math

import pytest

from moderator.ingest import import_paths
from storage import audit, audit_check
from storage.audit_anchor import anchor_path
from tests.grid_helpers import clone_item

AWKWARD_ROWS = [
    (1, "plain", None),
    ["é ü 中文 😀", "quote \" backslash \\ slash /", "\n\r\t\b\f \x00 \x01 \x1f \x7f \u2028 \u2029"],
    [2**70, -(2**63), 0, -1, 1.5, 1e300, -0.0, 1e-7, math.pi, math.nan, math.inf, -math.inf],
    ("nested", [1, [2, None]], {"b": 1, "a": 2}),
    (True, False),
    (),
]


@pytest.mark.parametrize("row", AWKWARD_ROWS, ids=range(len(AWKWARD_ROWS)))
def test_row_hash_is_rows_hash_of_the_one_row(row):
    assert audit.row_hash(row) == audit.rows_hash([row])


def test_row_hash_refuses_what_rows_hash_refuses():
    for hashed in (audit.rows_hash, lambda row: audit.row_hash(row[0])):
        with pytest.raises(TypeError):
            hashed([[b"a BLOB"]])


@pytest.fixture
def queue(store, good_folder):
    report = import_paths(store, [good_folder], "tester")
    assert report.imported
    return report


def _latest_records(store) -> list[tuple[str, str, str]]:
    raw = store.db.execute("SELECT records FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()[0]
    return [tuple(r) for r in json.loads(raw)]


def _check(store):
    return audit_check.check(store.db, anchor_path(store.path), None)


def test_a_batch_and_its_undo_record_what_rereading_gives(service, store, queue):
    ids = [i.id for i in service.queue()]
    store.write(lambda db: db.execute("UPDATE items SET priority = 7, suggested_label = 'spam' WHERE id = ?",
                                      (ids[0],)))
    store.write(lambda db: audit.append(db, "tester", "edit", ids[0], {}, [("item_state", ids[0])]))
    for op in (lambda: service.decide_batch(ids, "spam", handle_ms=999), service.undo_last,
               lambda: service.decide(ids[1], "no_violation")):
        op()
        records = _latest_records(store)
        views = {v for v, _, _ in records}
        assert {"decision", "outbox", "item_state"} <= views
        assert [h for _, _, h in records] == [audit.record_hash(store.db, v, k) for v, k, _ in records]
    assert _check(store).ok, _check(store).problems


def test_a_tampered_row_is_still_found_after_a_batch(service, store, queue):
    """The batch's hashes are of the rows as stored: an edit afterwards is reported, not hidden."""
    ids = [i.id for i in service.queue()]
    service.decide_batch(ids, "spam")
    assert _check(store).ok
    # Behind the desk's back (no audit entry): the item's state changed after its record.
    store.write(lambda db: db.execute("UPDATE items SET priority = priority + 1 WHERE id = ?", (ids[-1],)))
    problems = [p.message for p in _check(store).problems]
    assert any(ids[-1] in m and "differs" in m for m in problems), problems


def test_appended_rows_hash_like_record_hash(service, store, queue):
    after = {t: audit.last_id(store.db, t) for t in ("decisions", "outbox")}
    result = service.decide_batch([i.id for i in service.queue()], "spam")
    decisions = audit.appended(store.db, "decision", after["decisions"])
    assert [row[1] for row, _ in decisions] == [d.uuid for d in result.decisions]
    assert all(h == audit.record_hash(store.db, "decision", row[1]) for row, h in decisions)
    outbox = audit.appended(store.db, "outbox", after["outbox"])
    assert len(outbox) == len(result.decisions)
    assert all(h == audit.record_hash(store.db, "outbox", str(row[0])) for row, h in outbox)
    with pytest.raises(ValueError, match="several rows"):
        audit.appended(store.db, "item_matches", 0)


def test_a_thousand_item_batch_verifies(service, store, queue):
    clone_item(store, 1200)
    ids = [r[0] for r in store.db.execute("SELECT id FROM items ORDER BY rowid")]
    store.write(lambda db: audit.append(db, "tester", "import", None, {},
                                        [r for i in ids for r in audit.item_records(i)]))
    batch = [i.id for i in service.queue()][:1000]
    assert len(service.decide_batch(batch, "spam").decisions) == 1000
    assert len(service.undo_last().decisions) == 1000
    assert _check(store).ok, _check(store).problems[:3]
