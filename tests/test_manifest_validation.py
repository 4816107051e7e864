"""Manifests: every field checked for type and range, nothing coerced silently, never a traceback.

Each bad row is skipped and named `FILE:LINE: reason`; every good row around it is imported.
"""

import json
import os
from pathlib import Path

import pytest

from moderator.cli import main
from moderator.manifest import BadRow, Entry, ManifestError, read_manifest
from storage.store import Store
from tests.conftest import photo, write_image

GOOD = {"path": "a.jpg"}


def rows(path: Path, policy, **kw) -> list:
    return list(read_manifest(path, policy, **kw))


def one_jsonl(tmp_path: Path, policy, line: str):
    path = tmp_path / "m.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    (row,) = rows(path, policy)
    return row


@pytest.mark.parametrize("line, reason", [
    ('{"path": "a.jpg", "priority": NaN}', "NaN is not a number"),
    ('{"path": "a.jpg", "sla_minutes": Infinity}', "Infinity is not a number"),
    ('{"path": "a.jpg", "priority": -Infinity}', "-Infinity is not a number"),
    ('{"path": "a.jpg", "sla_minutes": 1e400}', "sla_minutes must be a number over 0 and at most 525600"),
    ('{"path": "a.jpg", "sla_minutes": 1e300}', "sla_minutes must be"),
    ('{"path": "a.jpg", "priority": 1e300}', "priority must be a whole number from -1000 to 1000"),
    ('{"path": "a.jpg", "priority": 1e30}', "priority must be a whole number"),
    ('{"path": "a.jpg", "priority": 1.9}', "priority must be a whole number"),
    ('{"path": "a.jpg", "priority": true}', "priority must be a whole number"),
    ('{"path": "a.jpg", "priority": "1_000"}', "priority must be a whole number"),
    ('{"path": "a.jpg", "priority": ' + "9" * 5000 + "}", "not valid JSON"),
    ('{"path": "a.jpg", "report_count": 1e20}', "report_count must be a whole number from 1 to 1000000000"),
    ('{"path": "a.jpg", "report_count": -5}', "report_count must be a whole number from 1"),
    ('{"path": "a.jpg", "reported_at": "9999-12-31T23:59:59Z", "sla_minutes": 60}', "reported_at must be an ISO"),
    ('{"path": "a.jpg", "reported_at": "9999-12-31T23:59:59-01:00"}', "reported_at must be an ISO"),
    ('{"path": "a.jpg", "reported_at": 1700000000}', "reported_at must be an ISO"),
    ('{"path": "a.jpg", "reported_at": "yesterday"}', "reported_at must be an ISO"),
    ('{"path": null}', "missing field 'path'"),
    ('{"priority": 1}', "missing field 'path'"),
    ('{"path": 5}', "path must be a string, got a number"),
    ('{"path": ["a.jpg"]}', "path must be a string, got a list"),
    ('{"path": ""}', "'path' is empty"),
    ('{"path": "a\\u0000.jpg"}', "path contains a NUL character"),
    ('{"path": "../outside.jpg"}', "leaves the manifest's folder"),
    ('{"path": "media/../../outside.jpg"}', "leaves the manifest's folder"),
    ('{"path": "/etc/passwd"}', "leaves the manifest's folder"),
    ('{"path": "a.jpg", "external_id": {"x": 1}}', "external_id must be a string, got an object"),
    ('{"path": "a.jpg", "reason": "' + "x" * 10_001 + '"}', "reason is longer than 10000 characters"),
    ('{"path": "a.jpg", "category": "not-a-category"}', "unknown category 'not-a-category' (known: "),
    ('{"path": "a.jpg", "category": 3}', "category must be a string"),
    ('{"path": "a.jpg", "path": "b.jpg"}', "field 'path' given twice"),
    ('{"path": "a.jpg", "colour": "red"}', "unknown fields: 'colour'"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"path": "a.jpg", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ("[1, 2]", "a row must be a JSON object"),
    ('{"path": "a.jpg"', "not valid JSON"),
])
def test_bad_jsonl_value_is_a_bad_row_with_its_reason(tmp_path, policy, line, reason):
    row = one_jsonl(tmp_path, policy, line)
    assert isinstance(row, BadRow) and row.origin == "m.jsonl:1"
    assert reason in row.reason


def test_good_row_is_checked_and_normalised(tmp_path, policy):
    row = one_jsonl(tmp_path, policy, json.dumps({
        "path": "media/a.jpg", "external_id": 12345, "category": " CSAM-Suspected ", "priority": 3.0,
        "reason": "hotline", "reported_at": "2026-11-20T11:00:00+01:00", "sla_minutes": "30",
        "report_count": "7"}))
    assert row == Entry(path=tmp_path / "media/a.jpg", origin="m.jsonl:1", external_id="12345",
                        category="csam_suspected", priority=3, reason="hotline",
                        reported_at="2026-11-20T10:00:00.000Z", sla_minutes=30.0, report_count=7)


def test_outside_paths_need_allow_outside(tmp_path, policy):
    path = tmp_path / "m.jsonl"
    path.write_text('{"path": "../x.jpg"}\n{"path": "/srv/media/y.jpg"}\n')
    assert all(isinstance(r, BadRow) for r in rows(path, policy))
    inside, absolute = rows(path, policy, allow_outside=True)
    assert inside.path == tmp_path / "../x.jpg" and absolute.path == Path("/srv/media/y.jpg")


def test_jsonl_line_over_a_mebibyte_is_one_bad_row_and_the_next_line_still_counts(tmp_path, policy):
    path = tmp_path / "m.jsonl"
    path.write_text('{"path": "a.jpg", "reason": "' + "x" * (2 << 20) + '"}\n' + json.dumps(GOOD) + "\n")
    big, good = rows(path, policy)
    assert isinstance(big, BadRow) and big.origin == "m.jsonl:1" and "longer than" in big.reason
    assert isinstance(good, Entry) and good.origin == "m.jsonl:2"


def test_jsonl_bad_utf8_line_is_a_bad_row(tmp_path, policy):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"path": "\xff.jpg"}\n' + json.dumps(GOOD).encode() + b"\n")
    bad, good = rows(path, policy)
    assert bad == BadRow("m.jsonl:1", "not UTF-8 text") and isinstance(good, Entry)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_utf8_bom_is_accepted(tmp_path, policy, suffix):
    path = tmp_path / f"m{suffix}"
    body = json.dumps(GOOD) + "\n" if suffix == ".jsonl" else "path,priority\na.jpg,2\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    (row,) = rows(path, policy)
    assert isinstance(row, Entry) and row.path == tmp_path / "a.jpg"


@pytest.mark.parametrize("body, origin, reason", [
    ("path,priority\na.jpg,1.9\n", "m.csv:2", "priority must be a whole number"),
    ("path,priority\na.jpg,1e30\n", "m.csv:2", "priority must be a whole number"),
    ("path,priority\na.jpg,nan\n", "m.csv:2", "priority must be a whole number"),
    ("path,report_count\na.jpg,-5\n", "m.csv:2", "report_count must be"),
    ("path,sla_minutes\na.jpg,inf\n", "m.csv:2", "sla_minutes must be"),
    ("path,priority\na.jpg,1,extra\n", "m.csv:2", "3 cells, but the header has 2 columns"),
    ("path,priority,reason\na.jpg,1\n", "m.csv:2", "2 cells, but the header has 3 columns"),
    ('path,reason\n\n"a.jpg","two\nlines"\n../b.jpg,x\n', "m.csv:5", "leaves the manifest's folder"),
])
def test_bad_csv_value_is_a_bad_row_with_its_line(tmp_path, policy, body, origin, reason):
    path = tmp_path / "m.csv"
    path.write_text(body)
    bad = [r for r in rows(path, policy) if isinstance(r, BadRow)]
    assert len(bad) == 1 and bad[0].origin == origin and reason in bad[0].reason


@pytest.mark.parametrize("body, reason", [
    ("path,reason\na.jpg," + "x" * (129 << 10) + "\n", "m.csv:2: not valid CSV (field larger than field limit"),
    ("path,colour\na.jpg,red\n", "m.csv:1: unknown columns 'colour'"),
    ("path,path\na.jpg,b.jpg\n", "m.csv:1: a column is named twice"),
    ("file\na.jpg\n", "needs a header row with a 'path' column"),
])
def test_csv_that_cannot_be_read_as_a_whole_is_a_manifest_error(tmp_path, policy, body, reason):
    path = tmp_path / "m.csv"
    path.write_text(body)
    with pytest.raises(ManifestError) as exc:
        rows(path, policy)
    assert reason in str(exc.value)


def test_import_skips_each_bad_row_by_line_and_imports_every_good_one(tmp_path, capsys):
    """The issue's crash: an out-of-range value half-way used to stop the import with rows committed."""
    for name in ("astronaut", "coffee", "rocket"):
        write_image(tmp_path / f"{name}.jpg", photo(name))
    (tmp_path / "m.jsonl").write_text(
        '{"path": "astronaut.jpg", "priority": 2}\n'
        '{"path": "coffee.jpg", "priority": NaN}\n'
        '{"path": "coffee.jpg", "reported_at": "9999-12-31T23:59:59Z", "sla_minutes": 60}\n'
        '{"path": "coffee.jpg", "report_count": 1e20}\n'
        '{"path": "coffee.jpg", "category": "CSAM_SUSPECTED"}\n'
        '{"path": "../rocket.jpg"}\n'
        '{"path": "rocket.jpg", "priority": 1.9}\n')
    data = tmp_path / "store"
    code = main(["import", str(tmp_path / "m.jsonl"), "--data-dir", str(data), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and len(report["imported"]) == 2
    assert sorted(s["origin"] for s in report["skipped"]) == ["m.jsonl:2", "m.jsonl:3", "m.jsonl:4",
                                                              "m.jsonl:6", "m.jsonl:7"]
    with Store(data) as s:
        got = sorted(tuple(r) for r in s.db.execute("SELECT source_name, category, priority FROM items"))
    assert got == [("astronaut.jpg", None, 2), ("coffee.jpg", "csam_suspected", 0)]


def test_allow_outside_flag_on_the_cli(tmp_path, capsys):
    media, manifests = tmp_path / "media", tmp_path / "manifests"
    media.mkdir()
    manifests.mkdir()
    write_image(media / "a.jpg", photo("astronaut"))
    (manifests / "m.csv").write_text("path\n../media/a.jpg\n")
    data = tmp_path / "store"
    assert main(["import", str(manifests / "m.csv"), "--data-dir", str(data)]) == 1
    assert "m.csv:2: path '../media/a.jpg' leaves the manifest's folder" in capsys.readouterr().err.replace(
        "skipped ", "")
    assert main(["import", str(manifests / "m.csv"), "--data-dir", str(data), "--allow-outside"]) == 0
    assert "imported 1, skipped 0" in capsys.readouterr().out


def test_oversized_csv_field_is_a_usage_error_and_nothing_is_imported(tmp_path, capsys):
    write_image(tmp_path / "a.jpg", photo("astronaut"))
    (tmp_path / "m.csv").write_text("path,reason\na.jpg,ok\na.jpg," + "x" * (200 << 10) + "\n")
    code = main(["import", str(tmp_path / "m.csv"), "--data-dir", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 2 and "m.csv:3: not valid CSV (field larger than field limit" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "store").exists()


@pytest.mark.parametrize("make", ["fifo", "dev_zero", "dev_null", "folder_named_jpg"])
def test_non_regular_files_are_refused_not_waited_on(tmp_path, capsys, make):
    """A FIFO used to hang import, hash and match forever; a symlink to a device read as "empty file"."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "a.jpg", photo("astronaut"))
    odd = folder / "x.jpg"
    {"fifo": lambda: os.mkfifo(odd), "dev_zero": lambda: odd.symlink_to("/dev/zero"),
     "dev_null": lambda: odd.symlink_to("/dev/null"), "folder_named_jpg": lambda: None}[make]()
    data = ["--data-dir", str(tmp_path / "store")]
    if make == "folder_named_jpg":
        odd.mkdir()
        (tmp_path / "m.csv").write_text("path\nin/x.jpg\n")
        assert main(["import", str(tmp_path / "m.csv"), *data]) == 1
        assert "not a regular file (a folder)" in capsys.readouterr().err
        return
    assert main(["import", str(folder), *data]) == 0  # the walk reports it and goes on
    out, err = capsys.readouterr()
    assert "imported 1, skipped 1" in out and "x.jpg" in err and "not a regular file" in err
    assert "empty file" not in err
    for command in (["hash", str(odd)], ["match", str(odd)]):
        assert main([*command, *data]) == 1
        assert "not a regular file" in capsys.readouterr().err
