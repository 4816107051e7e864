"""The in-memory queue (moderator/queue_state.py): its order is the SQL's, Changes keep it equal to a
full re-read of a real SQLite store, and a stale full read never overwrites newer changes. No Qt."""

from __future__ import annotations

import random
import sqlite3
import uuid
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from moderator.domain import Changes, Item, ItemChange, ItemField, ItemStatus, MediaKind
from moderator.queue_state import Insert, QueueState, Remove, Update, queue_key
from moderator.review import ReviewService
from storage.items import QUEUE_ORDER
from storage.store import Store

STAMPS = st.one_of(st.none(), st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z",
                                               "2026-01-02T09:30:00Z", "2025-12-31T23:59:59Z", ""]),
                   st.text(max_size=6))


@st.composite
def items(draw, n=st.integers(0, 40)):
    count = draw(n)
    ids = draw(st.lists(st.text(min_size=1, max_size=8), min_size=count, max_size=count, unique=True))
    return [Item(id=i, sha256=i, kind=MediaKind.IMAGE, mime="image/jpeg", media_path="x", width=1, height=1,
                 status=draw(st.sampled_from([ItemStatus.PENDING, ItemStatus.SKIPPED])),
                 priority=draw(st.integers(-3, 3) | st.integers(-2**40, 2**40)),
                 sla_due_at=draw(STAMPS), reported_at=draw(STAMPS), imported_at=draw(STAMPS))
            for i in ids]


def sql_order(rows: list[Item]) -> list[str]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE items (id TEXT PRIMARY KEY, status TEXT, priority INTEGER, sla_due_at TEXT, "
               "reported_at TEXT, imported_at TEXT)")
    db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
                   [(i.id, i.status.value, i.priority, i.sla_due_at, i.reported_at, i.imported_at) for i in rows])
    return [r[0] for r in db.execute(f"SELECT i.id FROM items i ORDER BY {QUEUE_ORDER}")]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(items())
def test_the_pure_key_orders_exactly_like_the_sql(rows):
    assert [i.id for i in sorted(rows, key=queue_key)] == sql_order(rows)


def replay(rows: list[Item], steps) -> list[Item]:
    """A view's copy of the rows, updated only from the delta's steps."""
    rows = list(rows)
    for step in steps:
        if isinstance(step, Remove):
            del rows[step.row]
        elif isinstance(step, Insert):
            rows.insert(step.row, step.item)
        else:
            rows[step.row] = step.item
    return rows


@settings(max_examples=100, deadline=None, derandomize=True)
@given(items(st.integers(1, 30)), st.data())
def test_applied_changes_match_a_sorted_brute_force(rows, data):
    state, truth = QueueState(rows), {i.id: i for i in rows}
    view = list(state.items)
    for _ in range(data.draw(st.integers(1, 12))):
        item = data.draw(st.sampled_from(sorted(truth.values(), key=lambda i: i.id)))
        status = data.draw(st.sampled_from(list(ItemStatus)))
        priority = data.draw(st.integers(-3, 3))
        new = replace(item, status=status, priority=priority)
        fields = frozenset({ItemField.STATUS, ItemField.PRIORITY})
        changes = Changes(items=(new.id,), item_changes=(ItemChange(new.id, fields, status),))
        wanted = QueueState.rows_to_read(changes)
        delta = state.apply(changes, {i: new for i in wanted})
        truth[new.id] = new
        view = replay(view, delta.steps)
        expected = sorted((i for i in truth.values() if i.status in (ItemStatus.PENDING, ItemStatus.SKIPPED)),
                          key=queue_key)
        assert state.items == expected and view == expected
        assert state.apply(changes, {i: new for i in wanted}).steps == ()  # idempotent


def test_a_change_that_keeps_the_row_is_an_update_naming_its_fields():
    a = Item(id="a", sha256="a", kind=MediaKind.IMAGE, mime="m", media_path="p", width=1, height=1, priority=5)
    b = replace(a, id="b", sha256="b", priority=1)
    state = QueueState([a, b])
    change = ItemChange("a", frozenset({ItemField.SUGGESTED_LABEL}))
    delta = state.apply(Changes(item_changes=(change,)), {"a": replace(a, suggested_label="spam")})
    assert delta.steps == (Update(0, replace(a, suggested_label="spam"), frozenset({ItemField.SUGGESTED_LABEL})),)
    skip = ItemChange("a", frozenset({ItemField.STATUS}), ItemStatus.SKIPPED)  # keeps its place (issue 12)
    assert state.apply(Changes(item_changes=(skip,))).steps == (
        Update(0, replace(a, status=ItemStatus.SKIPPED, suggested_label="spam"), frozenset({ItemField.STATUS})),)
    assert [i.id for i in state.items] == ["a", "b"]


def test_a_read_older_than_applied_changes_is_refused():
    a = Item(id="a", sha256="a", kind=MediaKind.IMAGE, mime="m", media_path="p", width=1, height=1)
    state = QueueState()
    first = state.read(lambda: [a])
    assert state.load(first) and state.items == [a]
    stale = state.read(lambda: [a])  # read before the decision below is applied
    state.apply(Changes(item_changes=(ItemChange("a", frozenset({ItemField.STATUS}), ItemStatus.DECIDED),)))
    assert not state.load(stale) and state.items == []
    fresh = state.read(list)
    assert state.load(fresh) and state.reads == 3 and state.version == fresh.version + 1


# -- against a real store -----------------------------------------------------------------------
def fill_queue(store: Store, n: int, seed: int = 0) -> None:
    """n more queued items, cloned from the stored ones (each its own media row), varied in what
    orders them: priority, SLA, report time."""
    rng = random.Random(seed)
    media = [dict(r) for r in store.db.execute("SELECT * FROM media")]
    item = dict(store.db.execute("SELECT * FROM items LIMIT 1").fetchone())
    stamps = [None] + [f"2026-0{m}-1{d}T0{h}:00:00Z" for m in range(1, 4) for d in range(3) for h in range(3)]

    def write(db):
        for _ in range(n):
            sha = uuid.uuid4().hex + uuid.uuid4().hex
            db["media"].insert({**rng.choice(media), "sha256": sha})
            db["items"].insert({**item, "id": str(uuid.uuid4()), "sha256": sha, "external_id": None,
                                "priority": rng.randint(0, 3), "sla_due_at": rng.choice(stamps),
                                "reported_at": rng.choice(stamps)})

    store.write(write)


def test_service_changes_keep_the_state_equal_to_a_full_reread(good_store, policy):
    """Random decisions, skips and undos on a real store: the state, changed only by each op's
    Changes (and the rows of items they bring back), always equals the stored queue."""
    fill_queue(good_store, 60)
    service = ReviewService(good_store, policy, "tester")
    state = QueueState()
    assert state.load(state.read(service.queue))
    rng = random.Random(7)
    for _ in range(80):
        op = rng.choice(["decide", "decide", "skip", "undo"]) if state.items else "undo"
        if op == "undo":
            changes = service.undo_last().changes
        else:
            target = rng.choice(state.items[:5]).id
            changes = service.skip(target) if op == "skip" else service.decide(target, "spam").changes
        state.apply(changes, {i: service.item(i) for i in QueueState.rows_to_read(changes)})
        if op == "skip":  # the desk hides a skipped item for a while (its place is kept)
            state.hide(target, service.hidden_until()[target])
        assert state.items == service.queue()
    assert state.reads == 1


def full_read_head(service: ReviewService, at: str | None) -> Item | None:
    items = QueueState(pinned_before=at).read(service.queue, service.hidden_until).items
    return items[0] if items else None


def test_the_top_read_alone_is_the_full_reads_head(good_store, policy, tmp_path):
    """ReviewService.queue_top (the desk's start reads only it) is the head of a full read at the same
    pin time, through decisions, skips (hidden items), undos, golden items held out or mixed in, and pin
    times before, among and after the items' due times (a real store, 60 varied items)."""
    from moderator.golden import import_golden
    from tests.test_golden import golden_folder

    fill_queue(good_store, 60, seed=3)
    import_golden(good_store, [golden_folder(tmp_path / "g")], "lead", policy, seed=2)
    good_store.write(lambda db: db.execute(  # the golden items mixed in head the queue
        "UPDATE items SET priority = 9 WHERE id IN (SELECT item_id FROM golden_items)"))
    pin_times = [None, "2025-01-01T00:00:00Z", "2026-02-11T01:00:00Z", "2026-03-12T02:30:00Z", "2027-01-01T00:00:00Z"]
    services = [ReviewService(good_store, policy, "tester", golden_rate=rate) for rate in (0.0, 0.02, 0.3)]
    rng = random.Random(11)
    compared = set()
    for _ in range(40):
        for service in services:
            for at in pin_times:
                top, hidden = service.queue_top(at)
                assert top == full_read_head(service, at) and hidden == service.hidden_until()
                compared.add((at, top.id if top else None))
        service = services[0]
        heads = service.queue(limit=3)
        op = rng.choice(["decide", "skip", "skip", "undo"]) if heads else "undo"
        if op == "undo":
            service.undo_last()
        elif op == "skip":
            service.skip(rng.choice(heads).id)
        else:
            service.decide(rng.choice(heads).id, "spam")
    assert len({top for _, top in compared}) > 5  # the pins and ops moved the head around
    assert services[0].hidden_until()  # skips were hiding items when the reads were compared
