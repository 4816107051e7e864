"""The blind QA desk, driven with keys on the real window over a real store: nothing of the original
decision (label, action, actor, time, note, bank suggestion or match) is on screen or in the painted
pixels before the QA key, the side-by-side shows both after it, and resolve / leave-for-lead write
the rows they should. An analyst is never given their own decision."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QLabel, QLineEdit, QWidget

from moderator import export
from moderator.domain import DecisionSource
from moderator.keymap import KeymapError, load_keymap
from moderator.paths import config_dir
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage import qa as qa_repo
from tests.desk_helpers import on_screen, painted_picture, saturation
from tests.qa_desk_fixtures import ANALYST, BANKS, build_history, open_qa_desk
from ui.app import build_window

GRAY = 6  # most channel spread a painted grayscale pixel may have (these photos have > 100)


@pytest.fixture
def qa_store(store_templates, tmp_path):
    s = store_templates.copy("qa-history", build_history, tmp_path / "qa-data")
    yield s
    s.close()


@pytest.fixture
def qa_desk(qtbot, qa_store, policy):
    window = open_qa_desk(qtbot, qa_store, policy)
    yield window
    window.close()


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier, to=None) -> None:
    qtbot.keyClick(to or window.viewer, key, modifier)


def visible_texts(window) -> str:
    """Every text a person can see or hover in the window (the labels panel aside: it lists every
    label of the policy, always), the title and status bar, and every cell and header of its lists."""
    texts = [window.windowTitle(), window.statusBar().currentMessage(), window.viewer.caption]
    for w in window.findChildren(QWidget):
        if not w.isVisible() or window.labels.isAncestorOf(w):
            continue
        texts += [w.toolTip(), w.statusTip(), w.whatsThis(), w.windowTitle()]
        if isinstance(w, (QLabel, QAbstractButton, QLineEdit)):
            texts.append(w.text())
        if isinstance(w, QLineEdit):
            texts.append(w.placeholderText())
        if isinstance(w, QAbstractItemView) and w.model() is not None:
            texts += _model_texts(w.model())
    return "\n".join(t for t in texts if t)


def _model_texts(model) -> list[str]:
    roles = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.StatusTipRole)
    out = [str(model.headerData(c, Qt.Orientation.Horizontal, r)) for c in range(model.columnCount()) for r in roles]
    for row in range(model.rowCount()):
        for col in range(model.columnCount()):
            out += [str(v) for r in roles if (v := model.index(row, col).data(r)) is not None]
    return out


def task_on_screen(window, db):
    """The task on screen, the decision it re-reviews and that item as stored (test-side reads)."""
    t = qa_repo.task(db, window.reviewer.current.id)
    original = decisions_repo.decision_by_uuid(db, t.decision_uuid)
    return t, original, items_repo.get_item(db, original.item_id)


def forbidden(original, stored, policy) -> list[str]:
    """What would give the original decision away: its actor, labels (name and title), action, time,
    note, and the item's bank suggestion and matches."""
    words = [original.actor, *original.labels, original.action.value, original.decided_at[:16],
             original.decided_at[:16].replace("T", " "), *BANKS, "bank:", "decided", "escalated"]
    words += [policy.label(n).title for n in original.labels]
    if original.note:
        words += [original.note, original.note[:12]]
    if stored.suggested_label:
        words += [stored.suggested_label, policy.label(stored.suggested_label).title]
    words += list(stored.match_badges)
    return [w for w in words if w]


def assert_blind(window, original, stored, policy) -> None:
    shown = visible_texts(window)
    for word in forbidden(original, stored, policy):
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", shown, re.I), f"{word!r} visible before the QA key"
    assert window.labels.suggested() is None  # no keycap marked as a bank's suggestion
    assert window.verdict_panel.headline.text() == "BLIND RE-REVIEW"
    assert saturation(painted_picture(window.viewer)).max() <= GRAY  # filtered: the photo's colour is gone


def label_key(policy, name: str) -> Qt.Key:
    return Qt.Key(ord(policy.label(name).key))


def test_blind_re_review_end_to_end(qtbot, qa_desk, qa_store, policy):
    """Each of the four tasks in turn: blind, then the verdict; agree moves on with any key (which
    does nothing else), a disagreement is left for the lead, another is resolved with a note."""
    window, db = qa_desk, qa_store.db
    assert len(window.reviewer.items) == 4  # mod-alice's three and a bank's; never the analyst's own
    # What the analyst answers for each original (keyed by the file): agree, leave, resolve.
    plan = {"rocket.jpg": ("violence_gore", "agree"), "coffee.png": ("no_violation", "agree"),
            "astronaut.jpg": ("no_violation", "leave"), "retina.jpg": ("no_violation", "resolve")}
    seen = []
    while window.reviewer.items:
        qtbot.waitUntil(lambda: on_screen(window), timeout=10000)
        t, original, stored = task_on_screen(window, db)
        assert original.actor != ANALYST
        assert_blind(window, original, stored, policy)
        label, then = plan[stored.source_name]
        press(qtbot, window, label_key(policy, label))
        qtbot.waitUntil(lambda: window.reviewer.verdict is not None, timeout=10000)
        panel = window.verdict_panel.text()
        assert original.actor in panel and ANALYST in panel and policy.label(label).title in panel
        assert ("AGREE" == window.verdict_panel.headline.text()) == (then == "agree")
        if original.labels:
            assert policy.label(original.labels[0]).title in panel
        if stored.suggested_label:  # the bank's suggestion shows now, beside the decision
            assert "demo-known-violent" in panel
        qa_row = _qa_rows(db, original.uuid)[-1]
        assert qa_row.labels == (label,) and qa_row.actor == ANALYST and qa_row.supersedes is None
        getattr(_Then, then)(qtbot, window, db, original, t.id)
        seen.append(stored.source_name)
    assert sorted(seen) == sorted(plan)
    assert window.reviewer.current is None


class _Then:
    @staticmethod
    def agree(qtbot, window, db, original, task_id) -> None:
        before = len(_all_qa(db))
        press(qtbot, window, Qt.Key.Key_3)  # any key: the next task, and not its QA label
        qtbot.waitUntil(lambda: window.reviewer.verdict is None, timeout=5000)
        window.runner.wait()
        assert len(_all_qa(db)) == before
        assert qa_repo.task(db, task_id).state == qa_repo.AGREED

    @staticmethod
    def leave(qtbot, window, db, original, task_id) -> None:
        at = window.reviewer.index
        press(qtbot, window, Qt.Key.Key_J)  # no wandering off a disagreement
        assert window.reviewer.verdict is not None and window.reviewer.index == at
        press(qtbot, window, Qt.Key.Key_L)
        qtbot.waitUntil(lambda: window.reviewer.verdict is None, timeout=5000)
        assert qa_repo.task(db, task_id).state == qa_repo.LEFT
        assert decisions_repo.current_for_item(db, original.item_id).uuid == original.uuid  # it still stands

    @staticmethod
    def resolve(qtbot, window, db, original, task_id) -> None:
        press(qtbot, window, Qt.Key.Key_Return)
        qtbot.waitUntil(window.resolve_bar.isVisible, timeout=5000)
        bar = window.resolve_bar
        press(qtbot, window, Qt.Key.Key_2, to=bar)  # the final label: spam
        assert bar.final_label == "spam" and window.focusWidget() is bar.note
        qtbot.keyClicks(bar.note, "qa resolution 42")
        press(qtbot, window, Qt.Key.Key_Return, to=bar.note)
        qtbot.waitUntil(lambda: window.reviewer.verdict is None, timeout=5000)
        standing = decisions_repo.current_for_item(db, original.item_id)
        assert standing.source is DecisionSource.QA and standing.qa_of == original.uuid
        assert standing.labels == ("spam",) and standing.note == "qa resolution 42"
        assert standing.supersedes == original.uuid and standing.actor == ANALYST
        assert qa_repo.task(db, task_id).state == qa_repo.RESOLVED


def _all_qa(db):
    return [d for d in decisions_repo.all_decisions(db) if d.source is DecisionSource.QA]


def _qa_rows(db, original_uuid: str):
    return [d for d in _all_qa(db) if d.qa_of == original_uuid]


def test_an_analyst_is_never_given_their_own_decision(qtbot, qa_store, policy):
    """Even a batch that names the analyst's own decision (written straight into the store) is not
    on their desk."""
    db = qa_store.db
    own = next(d for d in decisions_repo.all_decisions(db) if d.actor == ANALYST)
    qa_store.write(lambda w: qa_repo.insert_batch(w, "own-batch", ANALYST, "random", 1, {}, [("own-task", own.uuid, None)]))
    window = open_qa_desk(qtbot, qa_store, policy)
    shown = {qa_repo.task(db, i.id).decision_uuid for i in window.reviewer.items}
    assert len(shown) == 4 and own.uuid not in shown and "own-task" not in {i.id for i in window.reviewer.items}
    window.close()


def test_the_qa_desk_keeps_the_moderators_filter_and_counts_exposure_on_the_item(qtbot, qa_desk, qa_store, policy):
    """The same viewer rules: a peek shows colour and is counted as the analyst's exposure of the
    stored item (not of the task), and moderation keys that would show or change decisions do nothing."""
    window, db = qa_desk, qa_store.db
    _t, _original, stored = task_on_screen(window, db)
    assert window.viewer.spec == window.reviewer.spec_for(window.reviewer.current)
    qtbot.keyPress(window.viewer, Qt.Key.Key_Space)
    assert window.viewer.peeking and saturation(painted_picture(window.viewer)).max() > 60
    qtbot.keyRelease(window.viewer, Qt.Key.Key_Space)
    window.runner.wait()
    qtbot.waitUntil(lambda: not window.runner.busy)
    rows = [tuple(r) for r in db.execute("SELECT item_id, actor, kind FROM exposure_events")]
    assert rows == [(stored.id, ANALYST, "peek")]
    for key, mod in ((Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier), (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier),
                     (Qt.Key.Key_E, Qt.KeyboardModifier.NoModifier)):
        press(qtbot, window, key, mod)
    assert not window.bank_actions.dialog.isVisible() and not window.escalate_bar.isVisible()
    window.runner.wait()
    assert not _all_qa(db) and not any(d.action.value == "undo" for d in decisions_repo.all_decisions(db))


def test_the_help_sheet_and_hints_name_the_qa_keys(qa_desk):
    rows = {qa_desk.help.table.item(r, 1).text(): qa_desk.help.table.item(r, 0).text()
            for r in range(qa_desk.help.table.rowCount())}
    assert rows[next(d for d in rows if d.startswith("QA disagreement: resolve"))] == "Enter / Return"
    assert rows[next(d for d in rows if d.startswith("QA disagreement: leave"))] == "L"
    assert rows[next(d for d in rows if d.startswith("Dashboard:"))] == "Ctrl+D"
    hint = qa_desk.labels.hint.text()
    assert "skip" in hint and "escalate" not in hint and "suggested" not in hint


def test_keys_may_be_shared_only_across_modes(policy):
    """Enter accepts a suggestion in the desk and resolves in QA; a key live in the same mode twice is refused."""
    user = config_dir() / "keymap.toml"
    user.write_text('[keys]\nqa_leave_for_lead = ["E"]\n', encoding="utf-8")  # escalate is desk-only: fine
    assert load_keymap(user, policy)["qa_leave_for_lead"] == ("E",)
    user.write_text('[keys]\nqa_resolve = ["R"]\n', encoding="utf-8")  # reveal is live while resolving
    with pytest.raises(KeymapError, match="key 'R' is bound to both reveal and qa_resolve"):
        load_keymap(user, policy)


def test_the_demo_makes_a_qa_sample_for_a_newcomer(qtbot, tmp_path, policy):
    from storage.store import Store

    with Store(tmp_path / "demo") as store:
        window = build_window(store, policy, load_keymap(), "newcomer", demo=True, qa=True)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: on_screen(window), timeout=60000)
        assert len(window.reviewer.items) == 6 and window.windowTitle().startswith("Moderator Desk — QA · demo")
        rows = export.export_rows(store.db, include_history=True)
        assert {r["actor"] for r in rows if r["source"] == "manual"} == {"demo-mod-ana", "demo-mod-ben"}
        window.close()


def test_a_golden_items_known_answer_shows_only_after_the_qa_label(qtbot, qa_store, policy):
    db = qa_store.db
    astronaut = next(i for i in items_repo.queue(db, include_closed=True) if i.source_name == "astronaut.jpg")
    qa_store.write(lambda w: qa_repo.add_golden(w, "lead", astronaut.id, ("hate_symbol",), "test"))
    window = open_qa_desk(qtbot, qa_store, policy)
    row = next(n for n, i in enumerate(window.reviewer.items) if task_on_screen_of(db, i.id).item_id == astronaut.id)
    window.reviewer.go_to(row)
    qtbot.waitUntil(lambda: on_screen(window) and window.reviewer.current.id == window.reviewer.items[row].id)
    shown = visible_texts(window)
    assert "golden item" not in shown.lower() and "known answer" not in shown.lower() and "Hate symbol" not in shown
    press(qtbot, window, label_key(policy, "no_violation"))
    qtbot.waitUntil(lambda: window.reviewer.verdict is not None, timeout=10000)
    assert "Golden item, known answer: Hate symbol (hate_symbol)" in window.verdict_panel.text()
    window.close()


def task_on_screen_of(db, task_id: str):
    return decisions_repo.decision_by_uuid(db, qa_repo.task(db, task_id).decision_uuid)
