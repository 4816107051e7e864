"""The grid's rules without Qt: which tiles a filter and sort show, families folded into one tile,
the row steps from one tile list to the next, and when a batch asks before it is written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderator.batch_confirm import confirm_reason
from moderator.domain import Item, ItemStatus, MediaKind
from moderator.grid_view import NONE, GridView, InsertRows, RemoveRows, grid_rows, row_steps, sla_state
from moderator.settings import Settings

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def iso(delta_minutes: float) -> str:
    return (NOW + timedelta(minutes=delta_minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def item(n: int, **fields) -> Item:
    return Item(id=f"i{n:02d}", sha256=f"{n:064x}", kind=MediaKind.IMAGE, mime="image/jpeg",
                media_path=f"/m/{n}.jpg", width=10, height=10, **fields)


QUEUE = [
    item(0, category="gore", sla_due_at=iso(-5), suggested_label="violence_gore", match_badges=("gorebank:x d=3",)),
    item(1, category="gore", sla_due_at=iso(30)),
    item(2, sla_due_at=iso(600), suggested_label="spam"),
    item(3, status=ItemStatus.SKIPPED),
    item(4, category="sexual", sla_due_at=iso(-60), match_badges=("b:y d=1",)),
]


def ids(rows) -> list[str]:
    return list(rows.ids)


@pytest.mark.parametrize(("view", "expected"), [
    (GridView(), ["i00", "i01", "i02", "i03", "i04"]),
    (GridView(status="skipped"), ["i03"]),
    (GridView(status="pending"), ["i00", "i01", "i02", "i04"]),
    (GridView(label="spam"), ["i02"]),
    (GridView(label=NONE), ["i01", "i03", "i04"]),
    (GridView(match="matched"), ["i00", "i04"]),
    (GridView(match="unmatched"), ["i01", "i02", "i03"]),
    (GridView(category="gore"), ["i00", "i01"]),
    (GridView(category=NONE), ["i02", "i03"]),
    (GridView(sla="overdue"), ["i00", "i04"]),
    (GridView(sla="due soon"), ["i01"]),
    (GridView(sla="on time"), ["i02"]),
    (GridView(sla="no SLA"), ["i03"]),
    (GridView(category="gore", sla="overdue"), ["i00"]),
    (GridView(sort="SLA"), ["i04", "i00", "i01", "i02", "i03"]),
    (GridView(sort="category"), ["i00", "i01", "i04", "i02", "i03"]),
    (GridView(sort="label"), ["i02", "i00", "i01", "i03", "i04"]),
    (GridView(sort="match"), ["i00", "i04", "i01", "i02", "i03"]),
    (GridView(sort="status"), ["i00", "i01", "i02", "i04", "i03"]),
])
def test_filters_and_sorts(view, expected):
    assert ids(grid_rows(QUEUE, view, now=NOW)) == expected


def test_an_unknown_sort_is_refused():
    with pytest.raises(ValueError, match="unknown sort 'size'"):
        grid_rows(QUEUE, GridView(sort="size"), now=NOW)


def test_families_fold_into_their_first_tile_and_cover_every_member():
    family_of = {"i00": "i00", "i01": "i00", "i02": "i02", "i03": "i00", "i04": "i04"}
    rows = grid_rows(QUEUE, GridView(families=True), family_of, now=NOW)
    assert ids(rows) == ["i00", "i02", "i04"]
    assert rows.members == {"i00": ("i00", "i01", "i03")}
    assert rows.covered(["i00", "i04"]) == ["i00", "i01", "i03", "i04"]
    # under a filter the family is what the filter shows of it, its tile the first shown
    rows = grid_rows(QUEUE, GridView(families=True, status="skipped"), family_of, now=NOW)
    assert ids(rows) == ["i03"] and rows.members == {}
    rows = grid_rows(QUEUE, GridView(families=True, sort="SLA"), family_of, now=NOW)
    assert ids(rows)[0] == "i04" and rows.members == {"i00": ("i00", "i01", "i03")}
    # grouping off: the families are ignored
    assert ids(grid_rows(QUEUE, GridView(), family_of, now=NOW)) == ["i00", "i01", "i02", "i03", "i04"]


def test_sla_states():
    assert [sla_state(s, NOW) for s in (iso(-1), iso(59), iso(61), None)] == ["overdue", "due soon", "on time",
                                                                            "no SLA"]


def replay(old: list[str], steps) -> list[str]:
    rows = list(old)
    for step in steps:
        if isinstance(step, RemoveRows):
            assert 0 <= step.first <= step.last < len(rows)
            del rows[step.first : step.last + 1]
        else:
            assert 0 <= step.row <= len(rows)
            rows[step.row : step.row] = step.ids
    return rows


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.integers(0, 40), unique=True, max_size=30), st.lists(st.integers(0, 40), unique=True, max_size=30))
def test_row_steps_turn_any_list_into_any_other(old, new):
    old, new = [f"x{i}" for i in old], [f"x{i}" for i in new]
    assert replay(old, row_steps(old, new)) == new


def test_row_steps_are_few_for_a_batch_and_a_moved_item():
    old = [f"x{i}" for i in range(10)]
    assert row_steps(old, old) == []
    assert row_steps(old, old[:3] + old[7:]) == [RemoveRows(3, 6)]  # a batch of four: one step
    assert row_steps(old[:3] + old[7:], old) == [InsertRows(3, tuple(old[3:7]))]  # its undo: one step
    moved = old[1:5] + old[:1] + old[5:]
    assert row_steps(old, moved) == [RemoveRows(0, 0), InsertRows(4, ("x0",))]


# -- when a batch asks first -----------------------------------------------------------------------
def test_a_small_batch_of_a_mild_label_asks_nothing(policy):
    assert confirm_reason(policy, Settings(), "spam", 50) is None
    assert confirm_reason(policy, Settings(), "nudity", 1) is None  # age restriction, severity 2
    assert confirm_reason(policy, Settings(), "no_violation", 50) is None


def test_size_escalation_and_severe_removal_ask(policy):
    assert confirm_reason(policy, Settings(), "spam", 51) == "more than 50 items"
    assert confirm_reason(policy, Settings(batch_confirm_over=3), "spam", 4) == "more than 3 items"
    assert confirm_reason(policy, Settings(), "self_harm", 1) == "the label escalates"
    assert confirm_reason(policy, Settings(), "sexual", 2) == "a removal of severity 3"
    assert confirm_reason(policy, Settings(), "violence_gore", 60) == "more than 50 items; a removal of severity 3"


def test_the_rule_reads_the_policy_data(policy):
    mild = replace(policy, labels=tuple(replace(lb, severity=2) if lb.name == "sexual" else lb for lb in policy.labels))
    assert confirm_reason(mild, Settings(), "sexual", 2) is None
    with pytest.raises(KeyError):
        confirm_reason(policy, Settings(), "nonsense", 1)


def test_the_setting_is_typed_and_bounded():
    from moderator.settings import SettingsError, with_changes

    assert with_changes(Settings(), [("batch_confirm_over", "200")]).batch_confirm_over == 200
    with pytest.raises(SettingsError, match="batch_confirm_over"):
        with_changes(Settings(), [("batch_confirm_over", "0")])


# -- decided items, under a filter that shows them ---------------------------------------------------
def test_decided_items_show_only_under_the_filters_that_ask_for_them():
    from moderator.grid_view import DECIDED, WITH_DECIDED, with_decided
    from moderator.queue_state import queue_key

    decided = [replace(QUEUE[1], status=ItemStatus.DECIDED), replace(QUEUE[3], status=ItemStatus.ESCALATED)]
    still_open = [QUEUE[0], QUEUE[2], QUEUE[4]]
    merged = with_decided(sorted(still_open, key=queue_key), decided, queue_key)
    assert ids(grid_rows(merged, GridView(status=WITH_DECIDED), now=NOW)) == \
        [i.id for i in sorted(QUEUE, key=queue_key)]  # each in its queue place
    assert ids(grid_rows(merged, GridView(status=DECIDED), now=NOW)) == \
        [i.id for i in sorted(decided, key=queue_key)]
    assert set(ids(grid_rows(merged, GridView(), now=NOW))) == {i.id for i in still_open}
    assert ids(grid_rows(merged, GridView(status="pending"), now=NOW)) == \
        [i.id for i in sorted(still_open, key=queue_key)]


def test_a_decided_item_is_never_folded_into_a_family():
    from moderator.grid_view import WITH_DECIDED

    family = {"i00": "f", "i01": "f", "i02": "f"}
    items = [QUEUE[0], replace(QUEUE[1], status=ItemStatus.DECIDED), QUEUE[2]]
    rows = grid_rows(items, GridView(status=WITH_DECIDED, families=True), family, now=NOW)
    assert ids(rows) == ["i00", "i01"] and rows.members == {"i00": ("i00", "i02")}
