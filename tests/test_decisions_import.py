"""`moderator decisions import`: history in the export format from another copy of a store comes in with
every field as it was; a file with any invalid line imports nothing and names each line; re-importing
changes nothing; teams are kept; `decisions export` carries qa_of and team."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moderator.cli import main
from moderator.qa_service import QaService, sample_batch
from moderator.review import ReviewService
from storage import audit, audit_check
from storage.store import Store
from tests.conftest import import_good_folder


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def counts(data: Path) -> tuple[int, ...]:
    with Store(data, readonly=True) as s:
        return tuple(s.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("decisions", "decision_teams", "outbox", "audit_log"))


def rows_of(data: Path) -> list[dict]:
    with Store(data, readonly=True) as s:
        return [{k: v for k, v in dict(r).items() if k != "seq"}
                for r in s.db.execute("SELECT * FROM decisions ORDER BY seq")]


@pytest.fixture
def twins(store_templates, tmp_path, policy):
    """Two copies of one store (the same items, the same ids); the first with a history: decisions,
    a batch, an undo and a redo, an escalation and a QA judgement with its resolution."""
    source = store_templates.copy("good", import_good_folder, tmp_path / "source")
    target = store_templates.copy("good", import_good_folder, tmp_path / "target")
    ids = [r[0] for r in source.db.execute("SELECT id FROM items ORDER BY rowid")]
    alice = ReviewService(source, policy, "alice")
    alice.decide_batch(ids[:2], "spam", handle_ms=4000)
    alice.decide(ids[2], "nudity", handle_ms=900)
    alice.undo_last()
    alice.decide(ids[2], "no_violation", handle_ms=3000)
    ReviewService(source, policy, "bob").escalate(ids[3], "=HYPERLINK(\"x\")  unsure", handle_ms=7000)
    sample_batch(source, "qa1", "random", seed=1, count=10)
    qa = QaService(source, policy, "qa1")
    task = next(t for t in qa.open_tasks() if t.item.id == ids[0])
    qa.judge(task.task_id, "nudity")
    qa.resolve(task.task_id, "nudity", "not spam")
    dirs = source.data_dir, target.data_dir
    source.close()
    target.close()
    return dirs


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_history_comes_in_as_it_was_and_again_changes_nothing(capsys, tmp_path, twins, fmt):
    source, target = twins
    exported = tmp_path / f"history.{fmt}"
    assert run(capsys, "decisions", "export", "--history", "--format", fmt, "--out", exported,
               "--data-dir", source)[0] == 0
    code, out, _ = run(capsys, "decisions", "import", exported, "--data-dir", target, "--actor", "lead")
    assert code == 0 and "imported 8 decisions" in out
    assert rows_of(target) == rows_of(source)  # actor, decided_at, supersedes, source, qa_of… as given
    with Store(source, readonly=True) as a, Store(target, readonly=True) as b:
        statuses = [dict(s.db.execute("SELECT id, status FROM items").fetchall()) for s in (a, b)]
        assert statuses[0] == statuses[1]
        report = audit_check.check(b.db, audit.anchor_path(b.path), None)
        assert report.ok, report.problems
    before = counts(target)
    code, out, _ = run(capsys, "decisions", "import", exported, "--data-dir", target)
    assert code == 0 and "imported 0 decisions" in out and "8 already" in out
    assert counts(target) == before
    assert before[2] == 0  # another desk's history is never queued for the hub


def test_export_carries_qa_of_and_team(capsys, tmp_path, twins):
    source, target = twins
    lines = run(capsys, "decisions", "export", "--history", "--data-dir", source)[1].splitlines()
    rows = [json.loads(line) for line in lines]
    assert {"qa_of", "team"} <= set(rows[0]) and sum(bool(r["qa_of"]) for r in rows) == 2
    for r in rows:
        r["team"] = "vendor-a" if r["actor"] == "alice" else None
    path = tmp_path / "teams.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert run(capsys, "decisions", "import", path, "--data-dir", target)[0] == 0
    back = [json.loads(line) for line in run(capsys, "decisions", "export", "--history", "--data-dir", target)[1]
            .splitlines()]
    assert [r["team"] for r in back] == [r["team"] for r in rows] and back[0]["team"] == "vendor-a"
    assert counts(target)[1] == sum(r["actor"] == "alice" for r in rows)


def test_a_file_with_invalid_lines_imports_nothing_and_names_each(capsys, tmp_path, twins):
    source, target = twins
    rows = [json.loads(line) for line in run(capsys, "decisions", "export", "--history", "--data-dir", source)[1]
            .splitlines()]
    lines = [json.dumps(r) for r in rows]
    lines[2] = "{not json"
    lines[4] = json.dumps({**rows[4], "action": "delete"})
    lines.append(json.dumps({**rows[0], "uuid": "new-1", "item_id": "gone", "external_id": None, "sha256": None}))
    lines.append(json.dumps({**rows[0], "uuid": "new-2", "action": "undo", "labels": [], "supersedes": "nobody"}))
    lines.append(json.dumps({**rows[1], "note": "changed"}))  # the same uuid as line 2 with other fields
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    before = counts(target)
    code, out, err = run(capsys, "decisions", "import", path, "--data-dir", target)
    assert code == 2 and out == "" and "bad.jsonl: 2 invalid lines; nothing imported" in err
    assert "bad.jsonl:3: not valid JSON" in err and "bad.jsonl:5: action 'delete'" in err
    assert counts(target) == before
    # with the file's own problems fixed, the log's checks name their lines, and still nothing comes in
    lines[2], lines[4] = json.dumps(rows[2]), json.dumps(rows[4])
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "decisions", "import", path, "--data-dir", target, "--json")
    invalid = json.loads(out)["invalid"]
    assert code == 2 and [p["line"] for p in invalid] == [len(rows) + 1, len(rows) + 2, len(rows) + 3]
    assert "no such item" in invalid[0]["reason"] and "no decision on item" in invalid[1]["reason"]
    assert "already in the log with other fields" in invalid[2]["reason"]
    assert counts(target) == before


def test_an_item_known_here_by_another_id_is_found_by_its_content(capsys, tmp_path, twins):
    source, target = twins
    row = json.loads(run(capsys, "decisions", "export", "--data-dir", source)[1].splitlines()[0])
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({**row, "item_id": "id-on-another-desk"}) + "\n")
    assert run(capsys, "decisions", "import", path, "--data-dir", target)[0] == 0
    assert rows_of(target)[0]["item_id"] == row["item_id"]
    path.write_text(json.dumps({**row, "uuid": "x", "sha256": "0" * 64}) + "\n")
    code, _, err = run(capsys, "decisions", "import", path, "--data-dir", target)
    assert code == 2 and "other media than the line names" in err


@pytest.mark.parametrize(("name", "text", "message"), [
    ("h.txt", "x", "reads .jsonl or .csv"),
    ("h.jsonl", "", "no decisions in it"),
    ("h.csv", "uuid,colour\n1,red\n", "unknown columns 'colour'"),
    ("h.csv", "uuid,item_id\n\"1,2\n", "not valid CSV"),
    ("missing.jsonl", None, "no such file"),
])
def test_unreadable_files_are_one_line_and_change_nothing(capsys, tmp_path, twins, name, text, message):
    _, target = twins
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    before = counts(target)
    code, out, err = run(capsys, "decisions", "import", path, "--data-dir", target)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err, err
    assert counts(target) == before


def test_import_without_a_store_is_refused(capsys, tmp_path, twins):
    source, _ = twins
    path = tmp_path / "h.jsonl"
    path.write_text(run(capsys, "decisions", "export", "--data-dir", source)[1])
    code, _, err = run(capsys, "decisions", "import", path, "--data-dir", tmp_path / "none")
    assert code == 2 and "no store" in err and not (tmp_path / "none").exists()
