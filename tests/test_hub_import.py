"""`moderator hub import` on real hub databases (a SQLite file, and a throwaway PostgreSQL): the desk's
checks and reasons, manifests, shared media, hashing, bank routing, crash safety and every usage error;
and the imported items leased and fetched through a real hub process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from moderator.cli import main
from moderator.media_hashes import hash_media
from moderator.signals import DIHEDRAL_VARIANTS
from tests.conftest import PHOTOS, photo, write_image
from tests.hub_fixtures import DATABASES, clear_queue, poll
from tests.test_blurring_video import write_video
from tests.test_import_crash import dead_pid, distinct_photos
from upstream.banks import push_entries
from upstream.db import open_hub, read_tx, write_tx
from upstream.schema import decisions, item_hashes, items, matches, media


@dataclass
class HubDb:
    url: str
    data_dir: Path

    def argv(self, *args: str) -> list[str]:
        return ["hub", *args, "--db", self.url, "--data-dir", str(self.data_dir)]

    def rows(self, table, *where) -> list[dict]:
        engine = open_hub(self.url)
        try:
            with read_tx(engine) as conn:
                return [dict(r) for r in conn.execute(select(table).where(*where)).mappings()]
        finally:
            engine.dispose()

    def count(self, table) -> int:
        engine = open_hub(self.url)
        try:
            with read_tx(engine) as conn:
                return conn.execute(select(func.count()).select_from(table)).scalar_one()
        finally:
            engine.dispose()

    def bank(self, name: str, spec: dict, entries: list[dict], remove: tuple[str, ...] = ()) -> None:
        """Through upstream.banks.push_entries, what POST /v1/banks/{name}/entries runs."""
        engine = open_hub(self.url)
        try:
            with write_tx(engine) as conn:
                push_entries(conn, name, spec, entries, list(remove), "lead-1")
        finally:
            engine.dispose()


@pytest.fixture(name="hub_db", params=DATABASES)
def hub_db_fixture(request, tmp_path) -> HubDb:
    """A new, empty hub database per test: a SQLite file, or a database on the throwaway PostgreSQL."""
    data_dir = tmp_path / "hub"
    if request.param == "postgresql":
        return HubDb(request.getfixturevalue("pg_server").new_database(), data_dir)
    return HubDb(f"sqlite:///{data_dir / 'hub.sqlite3'}", data_dir)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_rows_and_files_together(hub_db: HubDb) -> None:
    """Every media row has its file with those bytes, every file its row, nothing staged is left."""
    rows = {r["sha256"]: r["path"] for r in hub_db.rows(media)}
    folder = hub_db.data_dir / "media"
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    files = {p.name: p for p in folder.glob("??/*")}
    assert set(files) == set(rows)
    for sha, rel in rows.items():
        assert hashlib.sha256((hub_db.data_dir / rel).read_bytes()).hexdigest() == sha
    assert {r["sha256"] for r in hub_db.rows(items)} == set(rows)  # no media row without an item


def test_a_mixed_folder_gives_the_desks_reasons_and_imports_the_rest(hub_db, mixed_folder, tmp_path, capsys):
    code, out, _ = run(capsys, *hub_db.argv("import", str(mixed_folder), "--json"))
    hub = json.loads(out)
    code_desk, out_desk, _ = run(capsys, "import", str(mixed_folder), "--data-dir", str(tmp_path / "desk"), "--json")
    desk = json.loads(out_desk)
    assert code == code_desk == 0 and len(hub["imported"]) == 4
    assert sorted((s["path"], s["reason"]) for s in hub["skipped"]) == sorted(
        (s["origin"], s["reason"]) for s in desk["skipped"])  # the same files refused, for the same reasons
    assert hub_db.count(items) == hub_db.count(media) == 4
    assert hub["matched"] == 0 and hub["routed"] == {}
    assert_rows_and_files_together(hub_db)
    assert oct((hub_db.data_dir / "media").stat().st_mode & 0o777) == "0o700"


def test_items_are_hashed_from_the_import(hub_db, good_folder, capsys):
    assert run(capsys, *hub_db.argv("import", str(good_folder)))[0] == 0
    item = next(r for r in hub_db.rows(items) if r["source_name"] == "astronaut.jpg")
    stored = {(r["signal_type"], r["variant"]): r["value"] for r in hub_db.rows(item_hashes, item_hashes.c.item_id == item["id"])}
    expected = hash_media(good_folder / "astronaut.jpg", dihedral=False)
    assert {(h.signal_type, None): h.hex for h in expected.hashes} == stored  # no PDQ bank: no variants
    assert stored[("sha256", None)] == item["sha256"]


def test_a_video_is_probed_and_its_frames_hashed(hub_db, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    clip = write_video(folder / "clip.mp4", ["astronaut", "coffee"], seconds=1)
    assert run(capsys, *hub_db.argv("import", str(folder)))[0] == 0
    [row] = hub_db.rows(media)
    assert (row["kind"], row["mime"], row["width"], row["height"]) == ("video", "video/mp4", 320, 180)
    assert 1.5 <= row["duration_s"] <= 2.5
    [item] = hub_db.rows(items)
    frames = sorted((r["frame_index"], r["value"]) for r in hub_db.rows(item_hashes, item_hashes.c.item_id == item["id"])
                    if r["frame_index"] is not None)
    assert frames == sorted((f.index, f.hex) for f in hash_media(clip, dihedral=False).frames) and len(frames) >= 2


def test_manifests_carry_the_reports_metadata_and_bad_rows_are_named(hub_db, tmp_path, capsys):
    folder = tmp_path / "media"
    folder.mkdir()
    write_image(folder / "a.jpg", photo("astronaut"))
    write_image(folder / "c.jpg", photo("rocket"))
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"path": "media/a.jpg", "external_id": "r-1", "category": "gore", "priority": 2,
                    "reason": "graphic", "reported_at": "2026-11-20T10:00:00Z", "sla_minutes": 60,
                    "report_count": 3}) + "\n"
        + "{not json\n"
        + json.dumps({"path": "media/a.jpg", "priority": "high"}) + "\n"
        + json.dumps({"path": "media/missing.jpg"}) + "\n"
        + json.dumps({"path": "../outside.jpg"}) + "\n")
    (tmp_path / "m.csv").write_text("path,external_id,priority,sla_minutes\nmedia/c.jpg,r-3,5,30\n")
    code, out, _ = run(capsys, *hub_db.argv("import", str(tmp_path / "m.jsonl"), str(tmp_path / "m.csv"), "--json"))
    report = json.loads(out)
    assert code == 0 and len(report["imported"]) == 2
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"m.jsonl:2", "m.jsonl:3", "m.jsonl:4", "m.jsonl:5"}
    assert "not valid JSON" in skipped["m.jsonl:2"]
    assert "priority must be a whole number" in skipped["m.jsonl:3"]
    assert "file not found" in skipped["m.jsonl:4"]
    assert "leaves the manifest's folder" in skipped["m.jsonl:5"]
    by_ext = {r["external_id"]: r for r in hub_db.rows(items)}
    a, c = by_ext["r-1"], by_ext["r-3"]
    assert (a["category"], a["priority"], a["reason"], a["report_count"]) == ("gore", 2, "graphic", 3)
    assert a["reported_at"] == "2026-11-20T10:00:00.000Z" and a["sla_due_at"] == "2026-11-20T11:00:00.000Z"
    assert a["status"] == "pending" and a["source_name"] == "a.jpg"
    assert c["priority"] == 5 and c["sla_due_at"] > c["imported_at"]


def test_the_same_media_reported_twice_is_two_items_on_one_media_row(hub_db, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "a.jpg", photo("astronaut"))
    rows = [{"path": "in/a.jpg", "external_id": "r-1"}, {"path": "in/a.jpg", "external_id": "r-2"}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, _ = run(capsys, *hub_db.argv("import", str(tmp_path / "m.jsonl"), "--json"))
    first = json.loads(out)["imported"]
    assert code == 0 and len(first) == 2 and first[0] != first[1]
    assert hub_db.count(items) == 2 and hub_db.count(media) == 1
    assert len(list((hub_db.data_dir / "media").glob("??/*"))) == 1
    shared = hub_db.rows(item_hashes, item_hashes.c.item_id == first[1])
    assert {r["signal_type"] for r in shared} == {"pdq", "phash", "md5", "sha256"}  # hashed too

    # again: the ids are taken; the bare file is known content
    (tmp_path / "again.jsonl").write_text(json.dumps({"path": "in/a.jpg", "external_id": "r-1"}) + "\n")
    code, out, err = run(capsys, *hub_db.argv("import", str(tmp_path / "again.jsonl"), str(folder)))
    assert code == 1 and "imported 0, skipped 2" in out
    assert f"external_id r-1 already imported as item {first[0]}" in err
    assert f"duplicate of item {first[0]}" in err
    code, out, _ = run(capsys, *hub_db.argv("import", str(folder), "--allow-duplicates", "--json"))
    assert code == 0 and len(json.loads(out)["imported"]) == 1 and hub_db.count(media) == 1
    assert_rows_and_files_together(hub_db)


def test_bank_matches_are_routed_as_the_desk_routes_them(hub_db, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "astronaut.jpg", photo("astronaut"))
    write_image(folder / "coffee.png", photo("coffee"))
    write_image(folder / "mirrored.jpg", photo("chelsea")[:, ::-1])
    write_image(folder / "rocket.jpg", photo("rocket"))
    pdq = {name: hash_media(folder / f"{name}.jpg", dihedral=False).hashes[0].hex for name in ("astronaut", "rocket")}
    chelsea = hash_media(write_image(tmp_path / "chelsea.jpg", photo("chelsea")), dihedral=False).hashes[0].hex
    md5 = hashlib.md5((folder / "coffee.png").read_bytes()).hexdigest()
    hub_db.bank("known-bad", {"kind": "block", "signal_type": "pdq", "threshold": 31, "action": "escalate"},
                [{"hash": pdq["astronaut"], "label": "csam_suspected"}, {"hash": chelsea, "label": "terrorism"},
                 {"hash": pdq["rocket"], "label": "terrorism"}])
    hub_db.bank("known-bad", {}, [], remove=(pdq["rocket"],))  # a removed entry no longer matches
    hub_db.bank("spam", {"kind": "block", "signal_type": "md5", "threshold": 0, "action": "remove"},
                [{"hash": md5, "label": "spam"}])
    code, out, _ = run(capsys, *hub_db.argv("import", str(folder), "--json"))
    report = json.loads(out)
    assert code == 0 and len(report["imported"]) == 4
    assert report["matched"] == 3 and report["routed"] == {"escalated": 2, "closed": 1}
    by_name = {r["source_name"]: r for r in hub_db.rows(items)}

    astronaut, mirrored, coffee, rocket = (by_name[n] for n in ("astronaut.jpg", "mirrored.jpg", "coffee.png", "rocket.jpg"))
    assert astronaut["priority"] >= 100 and astronaut["suggested_label"] == "csam_suspected"
    assert astronaut["status"] == "pending"
    assert mirrored["priority"] >= 100 and mirrored["suggested_label"] == "terrorism"  # a dihedral variant matched
    [hit] = hub_db.rows(matches, matches.c.item_id == mirrored["id"])
    assert (hit["bank"], hit["label"], hit["variant"]) == ("known-bad", "terrorism", "flip_y")
    assert (rocket["priority"], rocket["suggested_label"], rocket["status"]) == (0, None, "pending")
    assert hub_db.rows(matches, matches.c.item_id == rocket["id"]) == []

    assert coffee["status"] == "decided"
    [made] = hub_db.rows(decisions, decisions.c.item_id == coffee["id"])
    assert (made["actor"], made["source"], made["action"], json.loads(made["labels"]), made["status"]) == (
        "bank:spam", "bank", "remove", ["spam"], "accepted")
    assert made["note"].startswith("md5 match: entry ")
    variants = {r["variant"] for r in hub_db.rows(item_hashes, item_hashes.c.item_id == astronaut["id"])}
    assert set(DIHEDRAL_VARIANTS[1:]) <= variants  # a PDQ bank exists: the variants were hashed and kept


def test_what_a_killed_import_left_is_finished_or_removed_by_the_next(hub_db, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "a.jpg", photo("astronaut"))
    assert run(capsys, *hub_db.argv("import", str(folder)))[0] == 0
    [row] = hub_db.rows(media)
    final, pid = hub_db.data_dir / row["path"], dead_pid()
    root = hub_db.data_dir / "media"
    os.replace(final, root / f".staged-{pid}-0000abcd-{row['sha256']}.jpg")  # committed, killed before the rename
    (root / f".staged-{pid}-0000beef-{'0' * 64}.jpg").write_bytes(b"staged, never committed")
    (root / f".partial-{pid}-0000cafe").write_bytes(b"half a copy")
    write_image(folder / "b.jpg", photo("coffee"))
    code, out, _ = run(capsys, *hub_db.argv("import", str(folder)))
    assert code == 0 and "imported 1, skipped 1" in out
    assert final.is_file()
    assert_rows_and_files_together(hub_db)


def test_kill_9_of_a_real_hub_import_leaves_rows_and_files_together(hub_db, tmp_path):
    files = distinct_photos(tmp_path / "in", 10)
    argv = [sys.executable, "-m", "moderator", *hub_db.argv("import", str(tmp_path / "in"))]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        poll(lambda: hub_db.data_dir.joinpath("media").is_dir() and hub_db.count(items) >= 3, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    assert hub_db.count(items) == len(files)  # every file exactly once: the rest are known content
    assert_rows_and_files_together(hub_db)


@pytest.mark.parametrize(("args", "needle"), [
    (["import"], "the following arguments are required"),
    (["import", "/no/such/place"], "no such file or folder: /no/such/place"),
    (["import", "{bad_csv}"], "needs a header row with a 'path' column"),
    (["import", "{photo}", "--db", "nonsense://x"], "unsupported database 'nonsense'"),
    (["import", "{photo}", "--db", "sqlite://"], "the hub needs a SQLite file"),
])
def test_usage_errors_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, args, needle):
    (tmp_path / "bad.csv").write_text("file,priority\na.jpg,1\n")
    photo_path = write_image(tmp_path / "a.jpg", photo(PHOTOS[0]))
    args = [a.format(bad_csv=tmp_path / "bad.csv", photo=photo_path) for a in args]
    data = tmp_path / "untouched"
    code, _, err = run(capsys, "hub", *args, "--data-dir", str(data))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not data.exists()


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path, capsys):
    photo_path = write_image(tmp_path / "a.jpg", photo(PHOTOS[0]))
    with socket_closed_port() as port:
        code, _, err = run(capsys, "hub", "import", str(photo_path), "--db", f"postgresql://postgres@127.0.0.1:{port}/x",
                           "--data-dir", str(tmp_path / "hub"))
    assert code == 1 and err.startswith("moderator: error: hub database problem") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "hub" / "media").exists()


class socket_closed_port:
    """A local port nothing listens on (bound, never listened, so connections are refused)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


def test_imported_items_are_leased_with_their_matches_and_media_from_a_real_hub(hub, tmp_path):
    clear_queue(hub)
    folder = tmp_path / "in"
    folder.mkdir()
    source = write_image(folder / "astronaut.jpg", photo("astronaut"))
    pdq = hash_media(source, dihedral=False).hashes[0].hex
    with hub.client("lead") as lead:
        r = lead.post(f"/v1/banks/e2e-{tmp_path.name[-12:]}/entries", json={
            "bank": {"kind": "block", "signal_type": "pdq", "threshold": 31, "action": "escalate"},
            "entries": [{"hash": pdq, "label": "self_harm"}]})
        assert r.status_code == 200, r.text
    done = hub.cli("import", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    [item_id] = json.loads(done.stdout)["imported"]
    with hub.client("moderator") as desk:
        [lease] = desk.post("/v1/leases", json={"count": 5}).json()["leases"]
        assert lease["item"]["id"] == item_id and lease["item"]["priority"] >= 100
        assert [m["label"] for m in lease["item"]["matches"]] == ["self_harm"]
        got = desk.get(f"/v1/media/{lease['item']['sha256']}")
        assert got.status_code == 200 and got.content == source.read_bytes()
        assert desk.delete(f"/v1/leases/{lease['lease_id']}").status_code == 200
