"""`moderator import`, `queue` and `decisions export` from the command line, on real files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moderator.cli import main
from storage.store import Store
from tests.conftest import photo, write_image

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def counts(data_dir: Path) -> dict[str, int]:
    with Store(data_dir) as s:
        return {t: s.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("items", "media", "audit_log")}


def test_import_mixed_folder_names_each_bad_file(tmp_path, mixed_folder, capsys):
    data = tmp_path / "store"
    code, out, err = run(capsys, "import", str(mixed_folder), "--data-dir", str(data))
    assert code == 0 and "imported 4, skipped 4" in out
    reasons = {line.split(":")[0].split("/")[-1]: line for line in err.splitlines()}
    assert set(reasons) == {"truncated.jpg", "notes.jpg", "empty.png", "bomb.png"}
    assert "truncated" in reasons["truncated.jpg"] or "corrupt" in reasons["truncated.jpg"]
    assert "not an image or video" in reasons["notes.jpg"]
    assert "empty file" in reasons["empty.png"]
    assert "50000x50000" in reasons["bomb.png"]
    assert counts(data) == {"items": 4, "media": 4, "audit_log": 4}  # no partial rows
    cached = [p for p in (data / "media").rglob("*") if p.is_file()]
    assert len(cached) == 4 and not any(p.name.startswith(".incoming") for p in cached)
    assert oct((data / "media").stat().st_mode & 0o777) == "0o700"


def test_reimport_is_idempotent(tmp_path, good_folder, capsys):
    data = tmp_path / "store"
    run(capsys, "import", str(good_folder), "--data-dir", str(data))
    code, out, err = run(capsys, "import", str(good_folder), "--data-dir", str(data), "--json")
    report = json.loads(out)
    assert code == 1 and report["imported"] == [] and len(report["skipped"]) == 4
    assert all("duplicate of item" in s["reason"] for s in report["skipped"])
    assert counts(data)["items"] == 4


def test_nothing_importable_exits_1(tmp_path, capsys):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.jpg").write_text("nope")
    code, out, err = run(capsys, "import", str(folder), "--data-dir", str(tmp_path / "s"))
    assert code == 1 and "imported 0, skipped 1" in out


@pytest.mark.parametrize("argv, needle", [
    (["import"], "the following arguments are required"),
    (["import", "/no/such/place"], "no such file or folder: /no/such/place"),
    (["queue", "--limit", "-1"], "--limit: must be 0..10000000"),
    (["queue", "--limit", "1" + "0" * 30], "--limit: must be 0..10000000"),
    (["decisions", "export", "--format", "xml"], "invalid choice"),
    (["decisions", "export", "--out", "/no/such/dir/x.jsonl"], "no such folder"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, argv, needle):
    data = tmp_path / "untouched"
    try:
        code = main([*argv, "--data-dir", str(data)])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1
    if argv[0] == "import":
        assert not data.exists()  # a failed command never creates or changes a store


def test_manifest_jsonl_and_csv_with_metadata(tmp_path, capsys):
    media = tmp_path / "media"
    media.mkdir()
    write_image(media / "a.jpg", photo("astronaut"))
    write_image(media / "b.png", photo("coffee"))
    write_image(media / "c.jpg", photo("rocket"))
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"path": "media/a.jpg", "external_id": "r-1", "category": "gore", "priority": 2,
                    "reason": "graphic", "reported_at": "2026-11-20T10:00:00Z", "sla_minutes": 60}) + "\n"
        + "{not json\n"
        + json.dumps({"path": "media/b.png", "priority": "high"}) + "\n"
        + json.dumps({"path": "media/missing.jpg"}) + "\n"
    )
    (tmp_path / "m.csv").write_text("path,external_id,priority,sla_minutes\nmedia/c.jpg,r-3,5,30\n")
    data = tmp_path / "store"
    code, out, err = run(capsys, "import", str(tmp_path / "m.jsonl"), str(tmp_path / "m.csv"),
                         "--data-dir", str(data), "--json")
    report = json.loads(out)
    assert code == 0 and len(report["imported"]) == 2
    skipped = {s["origin"]: s["reason"] for s in report["skipped"]}
    assert "not valid JSON" in skipped["m.jsonl:2"]
    assert "priority must be a whole number" in skipped["m.jsonl:3"]
    assert "file not found" in skipped["m.jsonl:4"]
    code, out, _ = run(capsys, "queue", "--json", "--data-dir", str(data))
    queue = json.loads(out)
    assert [q["external_id"] for q in queue] == ["r-3", "r-1"]  # priority 5 before 2
    assert queue[1]["category"] == "gore" and queue[1]["sla_due_at"] == "2026-11-20T11:00:00.000Z"


def test_csv_manifest_without_path_column_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("file,priority\na.jpg,1\n")
    code, out, err = run(capsys, "import", str(tmp_path / "bad.csv"), "--data-dir", str(tmp_path / "s"))
    assert code == 2 and "needs a header row with a 'path' column" in err
    assert not (tmp_path / "s").exists()


def test_queue_orders_by_priority_then_due_then_age(tmp_path, capsys):
    media = tmp_path / "m"
    media.mkdir()
    names = ["astronaut", "coffee", "chelsea", "rocket"]
    for n in names:
        write_image(media / f"{n}.jpg", photo(n))
    rows = [("astronaut", 0, None), ("coffee", 1, 600), ("chelsea", 1, 30), ("rocket", 0, 10)]
    (tmp_path / "m.jsonl").write_text("".join(
        json.dumps({"path": f"m/{n}.jpg", "external_id": n, "priority": p,
                    **({"sla_minutes": s} if s else {})}) + "\n" for n, p, s in rows))
    data = tmp_path / "store"
    run(capsys, "import", str(tmp_path / "m.jsonl"), "--data-dir", str(data))
    _, out, _ = run(capsys, "queue", "--json", "--data-dir", str(data))
    assert [q["external_id"] for q in json.loads(out)] == ["chelsea", "coffee", "rocket", "astronaut"]


def test_env_var_chooses_the_store_and_python_m_works(tmp_path, good_folder):
    env = {"MODERATOR_DATA_DIR": str(tmp_path / "envstore"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "moderator", "import", str(good_folder)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "envstore" / "store.sqlite3").exists()
    out = subprocess.run([sys.executable, "-m", "moderator", "queue"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert "4 pending" in out.stdout


def test_export_to_file_and_audit_verify(tmp_path, good_folder, capsys):
    data = tmp_path / "store"
    run(capsys, "import", str(good_folder), "--data-dir", str(data))
    code, out, _ = run(capsys, "decisions", "export", "--format", "csv", "--data-dir", str(data))
    assert code == 0 and out.startswith("uuid,item_id")
    target = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "decisions", "export", "--out", str(target), "--data-dir", str(data))
    assert code == 0 and target.read_text() == "" and "wrote 0 decisions" in err
    code, out, _ = run(capsys, "audit", "verify", "--data-dir", str(data))
    assert code == 0 and "intact: 4 entries" in out


@pytest.mark.parametrize("argv", [
    ["queue"], ["decisions", "export"], ["audit", "verify"], ["exposure"], ["bank", "list"],
    ["bank", "export", "x"], ["match", "--pending"], ["reopen", "some-item"],
])
def test_commands_that_read_never_create_a_store(tmp_path, capsys, argv):
    data = tmp_path / "nothing-here"
    assert main([*argv, "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert f"no store in {data}" in err and len(err.strip().splitlines()) == 1
    assert not (data / "store.sqlite3").exists()
