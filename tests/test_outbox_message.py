"""The outbox message, the contract the hub reads: built and parsed by two pure functions, versioned,
stored by the one write path, and importable without Qt or SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderator.domain import Action, Decision, DecisionSource
from moderator.ingest import import_paths
from moderator.outbox import VERSION, DecisionMessage, MessageError, decision_message, encode, parse_message

ROOT = Path(__file__).resolve().parent.parent
SHA = "ab" * 32
BASE = Decision(uuid="u-1", item_id="i-1", labels=("spam",), action=Action.REMOVE, actor="alice",
                decided_at="2026-01-02T03:04:05.678Z", policy_version="2026-11-01", handle_ms=1200,
                exposure_ms=40, batch_id="b-1", supersedes="u-0", note="a note")

texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).filter(str.strip)
decisions = st.builds(
    lambda uuid, item, labels, action, source, actor, handle, exposure, batch, supersedes, qa_of, note: Decision(
        uuid=uuid, item_id=item, labels=tuple(labels), action=action, actor=actor,
        decided_at="2026-01-02T03:04:05.678Z", policy_version="p", source=source, handle_ms=handle,
        exposure_ms=exposure, batch_id=batch,
        supersedes=supersedes if action is not Action.UNDO else (supersedes or "target"),
        note=note, qa_of=(qa_of or "reviewed") if source is DecisionSource.QA else None),
    texts, texts, st.lists(texts, max_size=3), st.sampled_from(Action), st.sampled_from(DecisionSource), texts,
    st.integers(0, 10**9), st.integers(0, 10**9), st.none() | texts, st.none() | texts, st.none() | texts,
    st.none() | st.text(max_size=50))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(decisions, st.none() | texts)
def test_parse_reads_back_what_decision_message_built(d, external_id):
    message = decision_message(d, sha256=SHA, external_id=external_id)
    assert parse_message(encode(message)) == DecisionMessage(d, SHA, external_id, VERSION)
    assert parse_message(message) == parse_message(encode(message).encode())


def test_the_message_has_the_documented_fields():
    message = decision_message(BASE, sha256=SHA)
    assert message == {
        "type": "decision", "version": 1, "uuid": "u-1", "item_id": "i-1", "sha256": SHA, "labels": ["spam"],
        "action": "remove", "actor": "alice", "decided_at": "2026-01-02T03:04:05.678Z", "handle_ms": 1200,
        "exposure_ms": 40, "batch_id": "b-1", "supersedes": "u-0", "qa_of": None,
        "policy_version": "2026-11-01", "source": "manual", "note": "a note"}
    assert decision_message(BASE, sha256=SHA, external_id="post-9")["external_id"] == "post-9"


def test_unknown_fields_are_additive_and_ignored():
    message = {**decision_message(BASE, sha256=SHA), "team": "vendor-a", "desk": {"id": 3}}
    assert parse_message(message).decision == BASE


def edited(**changes):
    message = decision_message(BASE, sha256=SHA)
    for key, value in changes.items():
        if value is KeyError:
            del message[key]
        else:
            message[key] = value
    return message


@pytest.mark.parametrize(("message", "reason"), [
    (edited(labels='["spam"]'), "labels must be a list"),  # the old payload: JSON text inside JSON
    (edited(type="bank_entry"), "type is 'bank_entry'"),
    (edited(version=2), "newer than this reader"),
    (edited(version="1"), "not a positive integer"),
    (edited(version=True), "not a positive integer"),
    (edited(version=KeyError), "not a positive integer"),
    (edited(uuid=KeyError), "uuid is missing"),
    (edited(uuid=""), "uuid must be a non-empty string"),
    (edited(handle_ms=True), "handle_ms must be a non-negative integer"),
    (edited(exposure_ms=-1), "exposure_ms must be a non-negative integer"),
    (edited(handle_ms=1.5), "handle_ms must be a non-negative integer"),
    (edited(action="delete"), "action 'delete' is not one of"),
    (edited(source="robot"), "source 'robot' is not one of"),
    (edited(decided_at="yesterday"), "not an ISO 8601 timestamp"),
    (edited(sha256="AB" * 32), "64 lowercase hex"),
    (edited(sha256=KeyError), "64 lowercase hex"),
    (edited(note=5), "note must be a string or null"),
    (edited(batch_id=KeyError), "batch_id is missing"),
    (edited(external_id=7), "external_id must be a string or null"),
    (edited(qa_of="u-0"), "qa_of is set exactly when source is 'qa'"),
    (edited(source="qa"), "qa_of is set exactly when source is 'qa'"),
    (edited(action="undo", supersedes=None), "an undo must name"),
    ("[1, 2]", "a message is a JSON object, not list"),
    ("{not json", "not JSON"),
])
def test_a_bad_message_is_refused_with_one_line(message, reason):
    with pytest.raises(MessageError, match=reason) as caught:
        parse_message(message)
    assert "\n" not in str(caught.value)


def test_the_store_queues_messages_the_parser_reads(store, service, good_folder):
    item_id = import_paths(store, [good_folder], "tester").imported[0]
    d = service.decide(item_id, "spam").decision
    payload, = store.db.execute("SELECT payload FROM outbox WHERE ref = ?", (d.uuid,)).fetchone()
    raw = json.loads(payload)
    assert raw["type"] == "decision" and raw["version"] == 1 and raw["labels"] == ["spam"]
    parsed = parse_message(payload)
    sha = store.db.execute("SELECT sha256 FROM items WHERE id = ?", (item_id,)).fetchone()[0]
    assert parsed.decision == d and parsed.sha256 == sha
    assert payload == encode(raw)  # stored canonical: the audit hashes exactly this text


BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "sqlite3", "_sqlite3", "sqlite_utils", "storage", "ui"):
            raise ImportError(f"{name} is blocked")
sys.meta_path.insert(0, Block())
import moderator.outbox, moderator.decision_log
print("ok")
"""


def test_the_hub_can_import_the_message_and_the_replay_without_qt_or_sqlite():
    out = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
