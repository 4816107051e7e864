"""Escalation targets and reasons: the policy loader checks them (one line naming file and key), the
service refuses what the policy does not list (nothing written), the decision row and its outbox
message carry them, and the desk's bar takes a target, a reason and a note of several lines."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from moderator import outbox
from moderator.escalation import Escalation
from moderator.policy import PolicyError, load_policy
from moderator.report_context import item_context
from moderator.review import ReviewError, ReviewService
from moderator.settings import Settings
from storage import items as items_repo
from tests.desk_helpers import on_screen, open_desk

LABEL = '[[labels]]\nkey = "1"\nname = "spam"\naction = "remove"\n'


def test_shipped_policy_lists_targets_and_reasons():
    policy = load_policy()
    assert [t.name for t in policy.escalation_targets] == ["senior_review", "child_safety", "legal", "law_enforcement"]
    assert policy.escalation_target("legal").title == "Legal"
    assert policy.escalation_reasons[-1] == "Other (see the note)" and len(policy.escalation_reasons) == 7


@pytest.mark.parametrize(("section", "needle"), [
    ('[escalation]\nteams = []\n', "escalation.teams: expected a known key (targets, reasons)"),
    ('[escalation.targets]\n"Legal Team" = "Legal"\n', "escalation.targets.'Legal Team': expected a name of lowercase"),
    ('[escalation.targets]\nlegal = ""\n', "escalation.targets.legal: expected a non-empty string of at most 100"),
    ('[escalation.targets]\nlegal = 3\n', "escalation.targets.legal: expected a non-empty string"),
    ('[escalation.targets]\n', "escalation.targets: expected at least one target"),
    ('[escalation]\nreasons = "threat"\n', "escalation.reasons: expected a list of 1..50 strings"),
    ('[escalation]\nreasons = []\n', "escalation.reasons: expected a list of 1..50 strings"),
    ('[escalation]\nreasons = ["a", "a"]\n', "escalation.reasons: expected each reason once"),
    ('[escalation]\nreasons = ["ok", "tab\\there"]\n', "escalation.reasons[1]: expected one line without control"),
])
def test_bad_escalation_section_is_one_line_naming_file_and_key(tmp_path, section, needle):
    path = tmp_path / "policy.toml"
    path.write_text('version = "1"\n' + LABEL + section, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert needle.replace("'Legal Team'", "") in text.replace("'Legal Team'", ""), text


def test_policy_without_escalation_section_has_one_default_target(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('version = "1"\n' + LABEL, encoding="utf-8")
    policy = load_policy(path)
    assert [t.name for t in policy.escalation_targets] == ["senior_review"]


def test_escalation_is_stored_with_the_decision_and_sent(good_store, policy):
    store = good_store
    ids = [i.id for i in items_repo.queue(store.db)]
    review = ReviewService(store, policy, "ann")
    note = "caption names a school\n\nsee the account's other posts"
    d = review.escalate(ids[0], Escalation(note, "child_safety", "Possible child exploitation")).decision
    row = store.db.execute("SELECT action, note, escalation_target, escalation_reason FROM decisions WHERE uuid = ?",
                           (d.uuid,)).fetchone()
    assert tuple(row) == ("escalate", note, "child_safety", "Possible child exploitation")
    payload = json.loads(store.db.execute("SELECT payload FROM outbox WHERE ref = ?", (d.uuid,)).fetchone()[0])
    assert (payload["version"], payload["escalation_target"], payload["escalation_reason"]) == (
        1, "child_safety", "Possible child exploitation")
    parsed = outbox.parse_message(payload).decision
    assert (parsed.escalation_target, parsed.escalation_reason, parsed.note) == (
        "child_safety", "Possible child exploitation", note)
    # A plain note goes to the first target for the last ("other") reason; a label decision carries neither key.
    d2 = review.escalate(ids[1], "unsure").decision
    assert (d2.escalation_target, d2.escalation_reason) == ("senior_review", "Other (see the note)")
    d3 = review.decide(ids[2], "spam").decision
    plain = json.loads(store.db.execute("SELECT payload FROM outbox WHERE ref = ?", (d3.uuid,)).fetchone()[0])
    assert "escalation_target" not in plain and "escalation_reason" not in plain


@pytest.mark.parametrize(("escalation", "needle"), [
    (Escalation("why", "press_office"), "unknown escalation target 'press_office' (the policy's: senior_review"),
    (Escalation("why", "legal", "because"), "unknown escalation reason 'because'"),
    (Escalation("  \n "), "an escalation needs a note"),
    (Escalation("x" * 10_001), "the note is longer than 10000 characters"),
    (Escalation("bell\x07"), "the note contains a control character"),
])
def test_escalation_outside_the_policy_is_refused_and_writes_nothing(good_store, policy, escalation, needle):
    item_id = items_repo.queue(good_store.db)[0].id
    before = good_store.db.execute("SELECT count(*) FROM decisions").fetchone()[0]
    with pytest.raises(ReviewError) as err:
        ReviewService(good_store, policy, "ann").escalate(item_id, escalation)
    assert needle in str(err.value) and "\n" not in str(err.value)
    assert good_store.db.execute("SELECT count(*) FROM decisions").fetchone()[0] == before
    assert good_store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == before


def test_message_with_a_target_on_a_non_escalation_is_refused():
    base = {"type": "decision", "version": 1, "uuid": "u", "item_id": "i", "sha256": "a" * 64, "labels": ["spam"],
            "action": "remove", "actor": "a", "decided_at": "2026-11-02T09:30:00.123Z", "handle_ms": 0,
            "exposure_ms": 0, "batch_id": None, "supersedes": None, "qa_of": None, "policy_version": "p",
            "source": "manual", "note": None, "escalation_target": "legal"}
    with pytest.raises(outbox.MessageError, match="escalation_target is set only on an escalation"):
        outbox.parse_message(base)
    assert outbox.parse_message({**base, "escalation_target": None}).decision.escalation_target is None


def test_desk_bar_takes_target_reason_and_a_multi_line_note(qtbot, good_store, policy):
    store = good_store
    window = open_desk(qtbot, store, policy, Settings(palate_cleanser=False))
    bar = window.escalate_bar
    item_id = window.reviewer.current.id
    qtbot.keyClick(window.viewer, Qt.Key.Key_E)
    assert bar.isVisible() and bar.edit.hasFocus()
    assert bar.target.currentData() == "senior_review" and bar.reason.currentData() == "Other (see the note)"
    qtbot.keyClicks(bar.edit, "caption: 1 2 3")  # digits go into the note, never apply a label
    qtbot.keyClick(bar.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(bar.edit, "second line")
    qtbot.keyClick(bar.edit, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)  # Alt+T: the target list
    qtbot.waitUntil(bar.target.hasFocus, timeout=2000)
    qtbot.keyClick(bar.target, Qt.Key.Key_Down)
    qtbot.keyClick(bar.target, Qt.Key.Key_Down)  # senior_review -> child_safety -> legal
    bar.reason.setCurrentIndex(bar.reason.findData("Legal request or court order"))
    assert store.db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0
    qtbot.keyClick(bar.target, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: store.db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 1
                    and not window.reviewer.saving, timeout=5000)
    row = store.db.execute("SELECT item_id, action, labels, note, escalation_target, escalation_reason "
                           "FROM decisions").fetchone()
    assert tuple(row) == (item_id, "escalate", "[]", "caption: 1 2 3\nsecond line", "legal",
                          "Legal request or court order")
    assert not bar.isVisible()
    # Shown on the item afterwards (as the history panel opens it): target title, reason, the note.
    item = items_repo.get_item(store.db, item_id)
    window.facts.show_item(item)
    qtbot.waitUntil(lambda: window.facts.row_shown("Escalation"), timeout=5000)
    assert window.facts.text_of("Escalation") == "→ Legal · Legal request or court order\ncaption: 1 2 3\nsecond line"
    assert item_context(store.db, item).standing.escalation_target == "legal"


def test_desk_bar_refuses_an_empty_note_and_esc_cancels(qtbot, good_store, policy):
    window = open_desk(qtbot, good_store, policy, Settings(palate_cleanser=False))
    bar = window.escalate_bar
    qtbot.keyClick(window.viewer, Qt.Key.Key_E)
    qtbot.keyClick(bar.edit, Qt.Key.Key_Return)
    assert bar.isVisible() and bar.problem.text() == "an escalation needs a note (Esc cancels)"
    qtbot.keyClick(bar.edit, Qt.Key.Key_Escape)
    assert not bar.isVisible()
    qtbot.waitUntil(lambda: on_screen(window))
    assert good_store.db.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0


def test_export_carries_the_target_and_reason(good_store, policy):
    from moderator import export

    item_id = items_repo.queue(good_store.db)[0].id
    ReviewService(good_store, policy, "ann").escalate(item_id, Escalation("why", "legal", "Legal request or court order"))
    (row,) = export.export_rows(good_store.db)
    assert (row["escalation_target"], row["escalation_reason"]) == ("legal", "Legal request or court order")
    header = export.render([row], "csv").splitlines()[0]
    assert header.endswith(",team,escalation_target,escalation_reason")
