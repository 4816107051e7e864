"""`moderator hash`, `bank …`, `match` and `reopen` from the command line, on real files and a real store."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from moderator.cli import main
from moderator.signals import MD5, PDQ, PHASH
from storage.store import Store
from tests.conftest import photo, write_image


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def table_counts(data: Path) -> dict[str, int]:
    tables = ("banks", "bank_entries", "hashes", "matches", "decisions", "audit_log")
    with Store(data) as s:
        return {t: s.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "files"
    folder.mkdir()
    return {
        "chelsea": write_image(folder / "chelsea.png", photo("chelsea")),
        "flipped": write_image(folder / "flipped.jpg", np.ascontiguousarray(photo("chelsea")[:, ::-1])),
        "coffee": write_image(folder / "coffee.jpg", photo("coffee")),
    }


@pytest.fixture
def data(tmp_path) -> Path:
    return tmp_path / "store"


def bank_file(tmp_path: Path, path: Path, label: str = "hate_symbol") -> Path:
    out = tmp_path / "bank.csv"
    out.write_text(f"signal_type,hash,label,source\npdq,{PDQ.hash_file(path).hex},{label},test\n")
    return out


def test_hash_prints_one_object_per_file_and_signal(capsys, files, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    code, out, err = run(capsys, "hash", files["chelsea"], bad, files["coffee"], "--json", "--signal", "pdq,md5")
    records = json.loads(out)
    assert code == 0 and [(Path(r["path"]).name, r["signal_type"]) for r in records] == [
        ("chelsea.png", "pdq"), ("chelsea.png", "md5"), ("coffee.jpg", "pdq"), ("coffee.jpg", "md5")]
    assert records[0]["hash"] == PDQ.hash_file(files["chelsea"]).hex and records[0]["quality"] >= 50
    assert records[1]["hash"] == MD5.hash_file(files["chelsea"]).hex
    assert err.splitlines() == [f"moderator: {bad}: not an image or video (bytes look like text)"]


def test_hash_exits_1_when_nothing_could_be_hashed_and_2_on_an_unknown_signal(capsys, files, tmp_path):
    code, out, err = run(capsys, "hash", tmp_path / "missing.jpg")
    assert code == 1 and out == "" and "file not found" in err
    code, _, err = run(capsys, "hash", files["coffee"], "--signal", "pdq,tmk")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "unknown signal 'tmk'" in err


def test_hash_of_a_video_lists_its_frames(capsys, tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for name in ("astronaut", "coffee"):
        frame = cv2.cvtColor(cv2.resize(photo(name), (160, 120)), cv2.COLOR_RGB2BGR)
        for _ in range(10):
            writer.write(frame)
    writer.release()
    code, out, _ = run(capsys, "hash", video, "--json", "--signal", "pdq,phash")
    (record,) = json.loads(out)  # pHash does not apply to video
    assert code == 0 and record["hash"] is None and [f["time_s"] for f in record["frames"]] == [0.0, 1.0]


def test_bank_import_list_export_round_trip(capsys, files, data, tmp_path):
    source = bank_file(tmp_path, files["chelsea"])
    code, out, _ = run(capsys, "bank", "import", source, "--name", "hate", "--kind", "block", "--json",
                       "--data-dir", data)
    report = json.loads(out)
    assert code == 0 and (report["created"], report["added"], report["duplicates"]) == (True, 1, 0)
    code, out, _ = run(capsys, "bank", "list", "--json", "--data-dir", data)
    (bank,) = json.loads(out)
    assert (bank["name"], bank["kind"], bank["threshold"], bank["action"], bank["entries"]) == (
        "hate", "block", 31, "escalate", 1)
    code, out, err = run(capsys, "bank", "export", "hate", "--format", "csv", "--out", tmp_path / "out.csv",
                         "--data-dir", data)
    assert code == 0 and (tmp_path / "out.csv").read_text() == source.read_text()
    code, out, _ = run(capsys, "bank", "export", "hate", "--format", "te-csv", "--data-dir", data)
    assert out.splitlines()[1] == f"pdq,{PDQ.hash_file(files['chelsea']).hex},test,,hate_symbol"
    code, out, err = run(capsys, "bank", "import", source, "--name", "hate", "--data-dir", data)
    assert code == 0 and "added 0 of 1 rows, 1 duplicates skipped" in out


@pytest.mark.parametrize(("argv", "message"), [
    (("--kind", "block"), "bad.txt: 1 invalid line, first at line 2: pdq hash must be 64 hex chars, got 3"),
    (("--kind", "block", "--threshold", "999"), "threshold for pdq must be 0..256, got 999"),
    ((), "does not exist yet: say its kind"),
])
def test_bank_import_errors_are_one_line_exit_2_and_change_nothing(capsys, data, tmp_path, argv, message):
    bad = tmp_path / "bad.txt"
    bad.write_text(f"pdq {'ab' * 32}\npdq abc\n" if "invalid" in message else f"pdq {'ab' * 32}\n")
    before = table_counts(data)
    code, out, err = run(capsys, "bank", "import", bad, "--name", "b", *argv, "--data-dir", data)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err
    assert table_counts(data) == before


def test_match_files_queries_and_stores_nothing(capsys, files, data, tmp_path):
    run(capsys, "bank", "import", bank_file(tmp_path, files["chelsea"]), "--name", "hate", "--kind", "block",
        "--data-dir", data)
    before = table_counts(data)
    code, out, err = run(capsys, "match", files["flipped"], files["coffee"], "--json", "--data-dir", data)
    flipped, coffee = json.loads(out)
    assert code == 0 and coffee["matches"] == []
    (m,) = flipped["matches"]
    assert (m["bank"], m["label"], m["signal_type"], m["variant"]) == ("hate", "hate_symbol", "pdq", "flip_y")
    assert m["entry_hash"] == PDQ.hash_file(files["chelsea"]).hex and m["distance"] <= 31
    assert table_counts(data) == before
    code, out, _ = run(capsys, "match", files["coffee"], "--data-dir", data)
    assert out.strip() == f"{files['coffee']}: no match"


def test_match_pending_routes_and_reopen_undoes(capsys, files, data, tmp_path):
    run(capsys, "import", files["flipped"], files["coffee"], "--data-dir", data)  # no banks yet: not hashed
    run(capsys, "bank", "import", bank_file(tmp_path, files["chelsea"], label=""), "--name", "memes",
        "--kind", "allow", "--data-dir", data)
    code, out, _ = run(capsys, "match", "--pending", "--json", "--data-dir", data)
    summary = json.loads(out)
    assert code == 0 and (summary["hashed"], summary["matched"], summary["outcomes"]) == (2, 1, {"closed": 1, "none": 1})
    (item_id,) = summary["changed"]
    code, out, _ = run(capsys, "decisions", "export", "--format", "jsonl", "--data-dir", data)
    (decision,) = [json.loads(line) for line in out.splitlines()]
    assert (decision["actor"], decision["source"], decision["action"]) == ("bank:memes", "bank", "allow")
    code, out, err = run(capsys, "reopen", item_id, "--data-dir", data)
    assert code == 0 and f"reopened {item_id}" in out
    code, out, _ = run(capsys, "queue", "--json", "--data-dir", data)
    assert item_id in [i["id"] for i in json.loads(out)]
    code, _, err = run(capsys, "reopen", item_id, "--data-dir", data)
    assert code == 2 and "no standing bank decision" in err
    code, out, _ = run(capsys, "match", "--pending", "--data-dir", data)
    assert out.strip() == "hashed 0, matched 0"


def test_bank_create_and_add_an_item(capsys, files, data):
    run(capsys, "import", files["coffee"], "--data-dir", data)
    code, out, _ = run(capsys, "queue", "--json", "--data-dir", data)
    (item,) = json.loads(out)
    code, out, _ = run(capsys, "bank", "create", "phashes", "--kind", "block", "--signal-type", "phash",
                       "--action", "flag", "--data-dir", data)
    assert code == 0 and "created (block, phash <= 10, flag)" in out
    code, out, _ = run(capsys, "bank", "add", item["id"], "--bank", "phashes", "--label", "spam", "--json",
                       "--data-dir", data)
    assert code == 0 and json.loads(out)["hashes"] == [PHASH.hash_file(files["coffee"]).hex]
    code, _, err = run(capsys, "bank", "add", "nope", "--bank", "phashes", "--data-dir", data)
    assert code == 2 and "no item 'nope'" in err


@pytest.mark.parametrize("argv", [("match",), ("match", "x.jpg", "--pending"), ("match", "x.jpg", "--limit", "3"),
                                  ("bank", "export", "nope", "--format", "csv")])
def test_usage_errors_exit_2(capsys, data, argv):
    code, out, err = run(capsys, *argv, "--data-dir", data)
    assert code == 2 and out == "" and err.count("\n") == 1


def test_import_matches_and_routes_new_items_when_banks_exist(tmp_path, capsys):
    """`moderator import` hashes and routes what it imported against the store's banks."""
    from moderator.cli import main as cli_main
    from tests.conftest import photo, write_image

    data = tmp_path / "store"
    media = tmp_path / "in"
    media.mkdir()
    write_image(media / "rocket.jpg", photo("rocket"))
    write_image(media / "coffee.jpg", photo("coffee"))
    bank = tmp_path / "bank.csv"
    assert cli_main(["hash", str(media / "rocket.jpg"), "--json", "--signal", "pdq"]) == 0
    pdq = [r for r in _json_lines(capsys.readouterr().out) if r["signal_type"] == "pdq"][0]["hash"]
    bank.write_text(f"signal_type,hash,label,source\npdq,{pdq},violence_gore,test\n")
    assert cli_main(["bank", "import", str(bank), "--name", "gore", "--kind", "block", "--action", "escalate",
                     "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert cli_main(["import", str(media), "--data-dir", str(data)]) == 0
    assert "bank matching: hashed 2, matched 1 (escalated 1)" in capsys.readouterr().out
    assert cli_main(["queue", "--json", "--data-dir", str(data)]) == 0
    queue = json.loads(capsys.readouterr().out)
    assert queue[0]["source_name"] == "rocket.jpg" and queue[0]["suggested_label"] == "violence_gore"


def _json_lines(text):
    text = text.strip()
    parsed = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines()]
    return parsed if isinstance(parsed, list) else [parsed]
