"""`moderator audit verify`: the chain, the rows against their entries (both ways), and the anchor.

Read-only: it reads the database and the sidecar and writes nothing, so an evidence copy can be checked.
What it proves, and what it cannot, is in docs/AUDIT.md.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from storage.db import Db

from storage.audit import (
    GENESIS,
    KEY_ENV,
    KEYED,
    LEGACY,
    PLAIN,
    RANGE_VIEW,
    VIEWS,
    View,
    entry_digest,
    key_id,
    legacy_digest,
    parse_range,
    range_hash,
    rows_hash,
    tuples,
)
from storage.audit_anchor import ANCHOR_NAME, Anchor, read_anchor
from storage.schema import APPEND_ONLY

EMPTY = rows_hash([])


@dataclass(frozen=True)
class Problem:
    kind: str  # chain | rows | anchor | key | schema
    message: str
    seq: int | None = None


@dataclass
class Report:
    entries: int = 0
    keyed: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # view -> rows (or row groups) checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "keyed": self.keyed, "rows": self.rows,
                "problems": [{"kind": p.kind, "seq": p.seq, "message": p.message} for p in self.problems]}


class Entry(NamedTuple):
    seq: int
    at: str
    actor: str
    event: str
    subject: str | None
    payload: str
    records: str
    mac: str
    prev_hash: str
    hash: str


def check(db: Db, anchor_file: Path | None, key: bytes | None,
          more_anchors: Iterable[tuple[str, Anchor]] = ()) -> Report:
    """Every problem found, one per line's worth; an empty list means all the checks passed.
    `more_anchors`: (name, anchor) read from elsewhere (the hub), each compared like the sidecar."""
    report = Report()
    entries, upgraded = _entries(db)
    report.entries, report.keyed = len(entries), sum(e.mac == KEYED for e in entries)
    if not upgraded:
        report.problems.append(Problem("schema", "this store predates row-hashed audit entries "
                                       "(migration 0003_audit_rows): open it once for writing to upgrade it"))
    anchor, anchor_error = _read(anchor_file)
    chain_key = key
    if key is not None and anchor is not None and anchor.key_id not in (None, key_id(key)):
        report.problems.append(Problem("key", f"{KEY_ENV} is not the key this log was anchored with "
                                       f"(key id {key_id(key)}, anchor says {anchor.key_id})"))
        chain_key = None
    problems, unchecked = chain_problems(db, chain_key, entries)
    report.problems += problems
    if unchecked and chain_key is key:
        report.problems.append(Problem("key", f"{unchecked} entries are keyed (HMAC) but {KEY_ENV} is not "
                                       "set: their hashes cannot be checked"))
    report.problems += _trigger_problems(db)
    if upgraded:
        report.problems += _row_problems(db, entries, report.rows)
    name = anchor_file.name if anchor_file else ANCHOR_NAME
    report.problems += anchor_problems(entries, anchor, anchor_error, key, name)
    for other, elsewhere in more_anchors:
        report.problems += anchor_problems(entries, elsewhere, None, key, other)
    return report


# -- the chain --------------------------------------------------------------------------------------
def chain_problems(db: Db, key: bytes | None, entries: list[Entry] | None = None) -> tuple[list[Problem], int]:
    """Broken links, edited entries, gaps in seq, downgrades; and how many keyed entries were not checked
    (no key). A break is reported once: the walk goes on from the entry as stored."""
    entries = _entries(db)[0] if entries is None else entries
    problems: list[Problem] = []
    prev, expected, modes, unchecked, bad_keyed = GENESIS, 1, set(), 0, []
    for e in entries:
        what = f"entry {e.seq} ({e.event} {e.subject or '-'})"
        if e.seq != expected:
            problems.append(Problem("chain", f"{what}: expected entry {expected} here "
                                    "(entries deleted or inserted)", e.seq))
        if e.prev_hash != prev:
            problems.append(Problem("chain", f"{what}: does not link to the entry before it "
                                    "(an entry was deleted, inserted or rewritten)", e.seq))
        downgrade = _downgrade(e.mac, modes)
        if downgrade:
            problems.append(Problem("chain", f"{what}: {downgrade}", e.seq))
        modes.add(e.mac)
        if e.mac == KEYED and key is None:
            unchecked += 1
        elif e.mac not in (LEGACY, PLAIN, KEYED):
            problems.append(Problem("chain", f"{what}: unknown hash kind {e.mac!r}", e.seq))
        elif _digest(e, key) != e.hash:
            (bad_keyed if e.mac == KEYED else problems).append(
                Problem("chain", f"{what}: its hash does not match its contents (edited or forged)", e.seq))
        prev, expected = e.hash, e.seq + 1
    keyed = sum(e.mac == KEYED for e in entries)
    if key is not None and len(bad_keyed) > 1 and len(bad_keyed) == keyed:
        problems.append(Problem("key", f"none of the {keyed} keyed entries matches {KEY_ENV}: a wrong key, "
                                "or the whole log was rewritten without it", bad_keyed[0].seq))
    else:
        problems += bad_keyed
    return sorted(problems, key=lambda p: p.seq or 0), unchecked


def _downgrade(mac: str, seen: set[str]) -> str | None:
    if mac == LEGACY and seen - {LEGACY}:
        return "an old-style entry after row-hashed ones (forged)"
    if mac == PLAIN and KEYED in seen:
        return "an unkeyed entry after keyed ones (written without the key, or forged)"
    return None


def _digest(e: Entry, key: bytes | None) -> str:
    if e.mac == LEGACY:
        return legacy_digest(e.prev_hash, e.at, e.actor, e.event, e.subject, e.payload)
    return entry_digest(key if e.mac == KEYED else None, e.seq, e.prev_hash, e.at, e.actor, e.event,
                        e.subject, e.payload, e.records)


def _entries(db: Db) -> tuple[list[Entry], bool]:
    columns = {r[1] for r in db.execute("PRAGMA table_info(audit_log)")}
    upgraded = {"records", "mac"} <= columns
    extra = "records, mac" if upgraded else f"'[]' AS records, '{LEGACY}' AS mac"
    sql = f"SELECT seq, at, actor, event, subject, payload, {extra}, prev_hash, hash FROM audit_log ORDER BY seq"
    return [Entry(*tuple(r)) for r in db.execute(sql)], upgraded


def _trigger_problems(db: Db) -> list[Problem]:
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return [Problem("schema", f"trigger {t}_no_{op} is missing: {t} is no longer append-only "
                    "(dropped, or the table was recreated)")
            for t in APPEND_ONLY for op in ("update", "delete") if f"{t}_no_{op}" not in names]


# -- rows against entries, both ways ----------------------------------------------------------------
def _row_problems(db: Db, entries: list[Entry], counts: dict[str, int]) -> list[Problem]:
    latest: dict[tuple[str, str], tuple[int, str]] = {}  # (view, key) -> (seq, hash) of its last record
    ranges: list[tuple[int, int, int, str]] = []
    problems: list[Problem] = []
    for e in entries:
        for view, key, digest in _records(e, problems):
            if view == RANGE_VIEW:
                ranges.append((*parse_range(key), e.seq, digest))
            elif view in VIEWS:
                latest[(view, key)] = (e.seq, digest)
            else:
                problems.append(Problem("rows", f"entry {e.seq} records an unknown view {view!r}", e.seq))
    for name, view in VIEWS.items():
        recorded = {k: v for (vw, k), v in latest.items() if vw == name}
        problems += _view_problems(name, view, _current(db, view), recorded, counts)
    return problems + _range_problems(db, ranges, counts)


def _records(e: Entry, problems: list[Problem]) -> list[tuple[str, str, str]]:
    try:
        records = json.loads(e.records)
        return [(str(v), str(k), str(h)) for v, k, h in records]
    except (ValueError, TypeError):
        problems.append(Problem("rows", f"entry {e.seq}: its records are not readable", e.seq))
        return []


def _current(db: Db, view: View) -> dict[str, str]:
    """key -> hash of the rows of `view` as they are now (none for a view the store predates)."""
    if not set(view.columns) <= {r[1] for r in db.execute(f"PRAGMA table_info({view.table})")}:
        return {}
    where = f" WHERE {view.where}" if view.where else ""
    rows = tuples(db, f"SELECT {', '.join(view.columns)} FROM {view.table}{where} ORDER BY {view.key}, {view.order}")
    at = view.columns.index(view.key)
    return {str(k): rows_hash(group) for k, group in groupby(rows, key=lambda r: r[at])}


def _view_problems(name: str, view: View, current: dict[str, str], recorded: dict[str, tuple[int, str]],
                   counts: dict[str, int]) -> list[Problem]:
    counts[name] = len(current)
    what = f"{view.table} {view.key}={{}} ({name})"
    problems = []
    for key, digest in current.items():
        if key not in recorded:
            problems.append(Problem("rows", f"{what.format(key)} is recorded by no audit entry "
                                    "(forged, or written outside the desk)"))
        elif recorded[key][1] != digest:
            seq = recorded[key][0]
            problems.append(Problem("rows", f"{what.format(key)} differs from what entry {seq} recorded "
                                    "(edited)", seq))
    for key, (seq, digest) in recorded.items():
        if key not in current and digest != EMPTY:
            problems.append(Problem("rows", f"entry {seq} records {what.format(key)}, which is gone (deleted)", seq))
    return problems


def _range_problems(db: Db, ranges: list[tuple[int, int, int, str]], counts: dict[str, int]) -> list[Problem]:
    problems = []
    for first, last, seq, digest in ranges:
        if range_hash(db, first, last) != digest:
            problems.append(Problem("rows", f"bank_entries ids {first}-{last} differ from what entry {seq} "
                                    "recorded (edited or deleted)", seq))
    ids = [r[0] for r in db.execute("SELECT id FROM bank_entries ORDER BY id")]
    counts[RANGE_VIEW] = len(ids)
    spans = sorted((first, last) for first, last, _, _ in ranges)
    uncovered, i = [], 0
    for entry_id in ids:
        while i < len(spans) and spans[i][1] < entry_id:
            i += 1
        if not (i < len(spans) and spans[i][0] <= entry_id):
            uncovered.append(entry_id)
    for run in _runs(uncovered):
        problems.append(Problem("rows", f"bank_entries ids {run[0]}-{run[1]} are recorded by no audit entry "
                                "(forged, or written outside the desk)"))
    return problems


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in ids:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


# -- the anchor -------------------------------------------------------------------------------------
def _read(path: Path | None) -> tuple[Anchor | None, str | None]:
    if path is None:
        return None, None
    try:
        return read_anchor(path), None
    except ValueError as exc:
        return None, str(exc)


def anchor_problems(entries: list[Entry], anchor: Anchor | None, error: str | None, key: bytes | None,
                    name: str = ANCHOR_NAME) -> list[Problem]:
    """The chain's head against one anchor (the sidecar; the hub's, once there is one)."""
    count, head = (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS)
    if error:
        return [Problem("anchor", f"anchor {name} is {error}")]
    if anchor is None:
        if count == 0:
            return []
        return [Problem("anchor", f"no anchor ({name} is missing): the end of the chain cannot be checked "
                        "(deleted, or the store was not written since it was upgraded)")]
    problems = _anchor_mac_problems(anchor, key, name)
    if (anchor.count, anchor.head) == (count, head):
        return problems
    by_seq = {e.seq: e.hash for e in entries}
    if anchor.count < count and by_seq.get(anchor.count, GENESIS if anchor.count == 0 else None) == anchor.head:
        message = (f"{count - anchor.count} entries after the anchored entry {anchor.count} were appended "
                   "without updating the anchor (a crash right after a commit, or a writer outside the desk)")
    elif anchor.count > count:
        message = (f"the chain has {count} entries, the anchor {anchor.count}: entries were deleted from the end "
                   "or the log was emptied")
    else:
        message = (f"the chain's entry {anchor.count} is not the anchored head (count {count}): "
                   "the log was rewritten or recomputed")
    return [*problems, Problem("anchor", message, anchor.count or None)]


def _anchor_mac_problems(anchor: Anchor, key: bytes | None, name: str) -> list[Problem]:
    if key is None:
        return [Problem("key", f"anchor {name} is keyed but {KEY_ENV} is not set: it cannot be checked")] \
            if anchor.mac else []
    if anchor.mac is None:
        return [Problem("anchor", f"anchor {name} carries no MAC although a key is set (rewritten without the key)")]
    if anchor.key_id != key_id(key):
        return []  # reported once, as a wrong key
    if not hmac.compare_digest(anchor.mac, anchor.expected_mac(key)):
        return [Problem("anchor", f"anchor {name}: its MAC does not match (rewritten without the key)")]
    return []
