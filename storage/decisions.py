"""Decision rows: the one place they are appended (with their outbox message, the items' status and one
audit entry, in the caller's transaction), and reads that replay them with moderator.decision_log."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from moderator import decision_log
from moderator import outbox as messages
from moderator.batch_confirm import Holding, not_held, not_held_refusal
from moderator.clock import utc_now
from moderator.domain import (
    Action,
    Changes,
    Decision,
    DecisionResult,
    DecisionSource,
    ItemChange,
    ItemField,
    ItemStatus,
)
from storage import audit
from storage import items as items_repo

if TYPE_CHECKING:
    from moderator.decisions_import import HistoryRow
    from storage.db import Db

COLUMNS = tuple(f.name for f in fields(Decision))
_INSERT = f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SELECT = ", ".join(COLUMNS)
_IN = "IN (SELECT value FROM json_each(?))"
_ACTIONS = {a.value: a for a in Action}  # dict look-ups: Enum(value) is slow for a batch's history
_SOURCES = {s.value: s for s in DecisionSource}
UNDO_WINDOW = 500  # an actor's latest rows searched first for the one to undo


@functools.lru_cache(maxsize=256)
def _labels_json(labels: tuple[str, ...]) -> str:
    """A decision's labels as stored (a batch's 1,000 rows share one list: encoded once)."""
    return json.dumps(list(labels))


def decision_to_row(d: Decision) -> dict[str, Any]:
    row = {c: getattr(d, c) for c in COLUMNS}  # not asdict: its deep copies cost a batch of 1,000 ~100 ms
    row["labels"] = _labels_json(tuple(d.labels))
    row["action"] = d.action.value
    row["source"] = d.source.value
    return row


def row_to_decision(row: Any) -> Decision:
    r = dict(row)
    r.pop("seq", None)
    return Decision(
        **{**r, "labels": tuple(json.loads(r["labels"])), "action": Action(r["action"]),
           "source": DecisionSource(r["source"])}
    )


def _decisions(db: Db, sql: str, params: Sequence[Any]) -> list[Decision]:
    """Decisions from `sql` selecting COLUMNS in order (tuples: ~3x faster than rows for a batch's history)."""
    labels_at, action_at, source_at = (COLUMNS.index(c) for c in ("labels", "action", "source"))
    parsed: dict[str, tuple[str, ...]] = {}  # a batch's rows share a few label lists: each parsed once
    out = []
    for values in audit.tuples(db, sql, params):
        v = list(values)
        text = v[labels_at]
        labels = parsed.get(text)
        if labels is None:
            labels = parsed[text] = tuple(json.loads(text))
        v[labels_at], v[action_at], v[source_at] = labels, _ACTIONS[v[action_at]], _SOURCES[v[source_at]]
        out.append(Decision(*v))
    return out


def append_decisions(db: Db, decisions: Sequence[Decision]) -> DecisionResult:
    """Append one decision, or a batch sharing a batch_id: each row (a moderation row superseding the
    item's standing decision: moderator.decision_log.plan), its outbox message, the status of every
    item whose standing decision changed, and one audit entry recording all of them. Runs inside the
    caller's transaction; DecisionLogError (before anything is written) when the log refuses a row."""
    items = _identities(db, [d.item_id for d in decisions])
    statuses = {item_id: ItemStatus(row[2]) for item_id, row in items.items()}
    hub = [item_id for item_id, row in items.items() if row[5] == "hub"]
    if hub and decisions[0].source is DecisionSource.BATCH:
        _refuse_unheld(db, hub, len(items))
    plan = decision_log.plan(history_for_items(db, list(items)), decisions, statuses)
    rows = [decision_to_row(d) for d in plan.rows]
    after = {table: audit.last_id(db, table) for table in ("decisions", "outbox")}
    # One executemany per table, not a statement per row: a batch of 1,000 is 3 statements, not 3,000.
    db.conn.executemany(_INSERT, [[row[c] for c in COLUMNS] for row in rows])
    outbox = [(d.uuid, messages.encode(messages.decision_message(
        d, sha256=items[d.item_id][0], external_id=items[d.item_id][1])), d.decided_at) for d in plan.rows]
    db.conn.executemany("INSERT INTO outbox (kind, ref, payload, created_at) VALUES ('decision', ?, ?, ?)", outbox)
    items_repo.set_statuses(db, plan.statuses)
    known, seqs = _written(db, after, items, plan.statuses)
    records: list[audit.Record] = []
    for d in plan.rows:
        records += [("decision", d.uuid), ("outbox", seqs[d.uuid])] + ([("decision_qa", d.uuid)] if d.qa_of else [])
    records += [("item_state", item_id) for item_id in plan.statuses]
    _audit(db, plan.rows, records, known)
    return DecisionResult(plan.rows, plan.changes)


_DECISION_KEY = audit.VIEWS["decision"].columns.index("uuid")
_OUTBOX_KEY, _OUTBOX_REF = (audit.VIEWS["outbox"].columns.index(c) for c in ("seq", "ref"))


def _written(db: Db, after: dict[str, int], items: dict[str, tuple], statuses: dict[str, ItemStatus],
             ) -> tuple[dict[audit.Record, str], dict[str, str]]:
    """The audit hashes of the rows just written, and each decision's outbox seq. The decision and
    outbox rows are read back as one range each (the rowids above the last before this append: the
    writer holds the write lock); the items' state is what _identities read in this transaction with
    the status just set (nothing else here writes an item's priority or suggested label)."""
    known: dict[audit.Record, str] = {}
    for row, digest in audit.appended(db, "decision", after["decisions"]):
        known[("decision", row[_DECISION_KEY])] = digest
    seqs = {}
    for row, digest in audit.appended(db, "outbox", after["outbox"]):
        known[("outbox", str(row[_OUTBOX_KEY]))] = digest
        seqs[row[_OUTBOX_REF]] = str(row[_OUTBOX_KEY])
    columns = audit.VIEWS["item_state"].columns
    for item_id, status in statuses.items():
        _, _, _, priority, suggested, _ = items[item_id]
        state = {"id": item_id, "status": status.value, "priority": priority, "suggested_label": suggested}
        known[("item_state", item_id)] = audit.row_hash([state[c] for c in columns])
    return known, seqs


# -- history brought in: `moderator decisions import` ----------------------------------------------
class HistoryImportError(ValueError):
    """Lines the log refuses, as (line number, why): nothing of the file is written."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__(f"{len(problems)} invalid lines")
        self.problems = problems


@dataclass(frozen=True)
class HistoryImport:
    written: tuple[Decision, ...]
    already: int  # rows whose uuid the log holds already, with the same fields
    changes: Changes


def import_history(db: Db, rows: Sequence[HistoryRow], actor: str, origin: str) -> HistoryImport:
    """Append decisions from elsewhere (moderator.decisions_import rows, in file order), every field as
    given (actor, decided_at, supersedes…; no outbox message: another desk's history is not this desk's
    to send), each checked against the log as it stands with the rows before it (decision_log.plan), a
    row already held unchanged skipped; their teams, the items' statuses and one audit entry. In the
    caller's transaction; HistoryImportError naming every refused line before anything is written."""
    problems: list[tuple[int, str]] = []
    resolved = _resolve_items(db, rows, problems)
    held = _held(db, [r.decision.uuid for r, _ in resolved])
    per_item = {i: [] for i in dict.fromkeys(item for _, item in resolved)}
    for d in history_for_items(db, list(per_item)):
        per_item[d.item_id].append(d)
    statuses = {r[0]: ItemStatus(r[1]) for r in db.execute(
        f"SELECT id, status FROM items WHERE id {_IN}", (json.dumps(list(per_item)),))}
    before = {item_id: decision_log.standing(h) for item_id, h in per_item.items()}
    new: list[tuple[HistoryRow, Decision]] = []
    already, in_file = 0, {}
    for row, item_id in resolved:
        d = replace(row.decision, item_id=item_id)
        known = held.get(d.uuid) or in_file.get(d.uuid)
        if known is not None:
            if known != (d, row.team):
                problems.append((row.line, f"decision {d.uuid} is already in the log with other fields"))
            already += 1
            continue
        try:
            decision_log.plan(per_item[item_id], [d], statuses)
        except decision_log.DecisionLogError as exc:
            problems.append((row.line, str(exc)))
            continue
        per_item[item_id].append(d)
        in_file[d.uuid] = (d, row.team)
        new.append((row, d))
    if problems:
        raise HistoryImportError(sorted(problems))
    return _write_history(db, new, per_item, before, statuses, already, actor, origin)


def _resolve_items(db: Db, rows: Sequence[HistoryRow], problems: list[tuple[int, str]]) -> list[tuple[HistoryRow, str]]:
    """Each row with this store's item: its item_id when the store has it, else the one item with its
    external_id, else with its sha256; the row's external_id and sha256 must agree with that item."""
    by_id = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, external_id, sha256 FROM items")}
    by_external = {ext: i for i, (ext, _) in by_id.items() if ext}
    by_sha: dict[str, list[str]] = {}
    for i, (_, sha) in by_id.items():
        by_sha.setdefault(sha, []).append(i)
    out = []
    for row in rows:
        given = row.decision.item_id
        item_id = given if given in by_id else by_external.get(row.external_id or "")
        if item_id is None and row.sha256 and len(by_sha.get(row.sha256, ())) == 1:
            item_id = by_sha[row.sha256][0]
        if item_id is None:
            problems.append((row.line, f"no such item here ({_named(row)})"))
            continue
        external_id, sha256 = by_id[item_id]
        if (row.external_id and row.external_id != external_id) or (row.sha256 and row.sha256 != sha256):
            problems.append((row.line, f"item {item_id} is other media than the line names ({_named(row)})"))
            continue
        out.append((row, item_id))
    return out


def _named(row: HistoryRow) -> str:
    parts = [f"{k} {v}" for k, v in (("item_id", row.decision.item_id), ("external_id", row.external_id),
                                     ("sha256", row.sha256)) if v]
    return ", ".join(parts)


def _held(db: Db, uuids: list[str]) -> dict[str, tuple[Decision, str | None]]:
    """The log's rows with these uuids, and their teams."""
    found = _decisions(db, f"SELECT {_SELECT} FROM decisions WHERE uuid {_IN}", (json.dumps(uuids),))
    team = teams(db)
    return {d.uuid: (d, team.get(d.uuid)) for d in found}


def _write_history(db: Db, new: list[tuple[HistoryRow, Decision]], per_item: dict[str, list[Decision]],
                   before: dict[str, Decision | None], statuses: dict[str, ItemStatus], already: int, actor: str,
                   origin: str) -> HistoryImport:
    records: list[audit.Record] = []
    for row, d in new:
        values = decision_to_row(d)
        db.execute(_INSERT, [values[c] for c in COLUMNS])
        records += [("decision", d.uuid)] + ([("decision_qa", d.uuid)] if d.qa_of else [])
        if row.team is not None:
            db.execute("INSERT INTO decision_teams (uuid, team) VALUES (?, ?)", (d.uuid, row.team))
            records.append(("decision_team", d.uuid))
    changed = []
    for item_id, old in before.items():
        now = decision_log.standing(per_item[item_id])
        if (old.uuid if old else None) != (now.uuid if now else None):
            status = decision_log.status_for(now)
            fields = {ItemField.STANDING} | ({ItemField.STATUS} if statuses[item_id] != status else set())
            changed.append(ItemChange(item_id, frozenset(fields), status, now))
            items_repo.set_status(db, item_id, status)
            records.append(("item_state", item_id))
    if new:
        audit.append(db, actor, "decisions_import", origin, {"imported": len(new), "already": already}, records)
    queue = any(ItemField.STATUS in c.fields for c in changed)
    changes = Changes(items=tuple(c.item_id for c in changed), decisions=tuple(d.uuid for _, d in new),
                      queue=queue, item_changes=tuple(changed))
    return HistoryImport(tuple(d for _, d in new), already, changes)


def teams(db: Db) -> dict[str, str]:
    """decision uuid -> the team an imported decision named (none for a store before migration 0008)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'decision_teams'").fetchone() is None:
        return {}
    return {r[0]: r[1] for r in db.execute("SELECT uuid, team FROM decision_teams")}


def _refuse_unheld(db: Db, item_ids: list[str], total: int) -> None:
    """A batch covers only items this desk holds when it is written (moderator.batch_confirm.not_held):
    DecisionLogError with the one line that says how many are not, before anything is written."""
    sql = (f"SELECT i.id, i.status, i.origin = 'hub', l.state, l.expires_at FROM items i "
           f"LEFT JOIN hub_leases l ON l.lease_id = (SELECT lease_id FROM hub_leases WHERE item_id = i.id "
           f"AND state != 'refused' ORDER BY leased_at DESC, rowid DESC LIMIT 1) WHERE i.id {_IN}")
    found = [Holding(r[0], ItemStatus(r[1]), bool(r[2]), r[3], r[4]) for r in db.execute(sql, (json.dumps(item_ids),))]
    gone = not_held(found, utc_now())
    if gone:
        raise decision_log.DecisionLogError(not_held_refusal(len(gone), total))


def _identities(db: Db, item_ids: list[str]) -> dict[str, tuple]:
    """item id -> (sha256, external_id, status, priority, suggested_label, origin), in the order asked;
    DecisionLogError for a missing item."""
    wanted = list(dict.fromkeys(item_ids))
    found = {r[0]: r[1:] for r in audit.tuples(
        db, f"SELECT id, sha256, external_id, status, priority, suggested_label, origin FROM items WHERE id {_IN}",
        (json.dumps(wanted),))}
    missing = next((i for i in wanted if i not in found), None)
    if missing is not None:
        raise decision_log.DecisionLogError(f"no item {missing!r}")
    return {i: found[i] for i in wanted}


def _audit(db: Db, rows: Sequence[Decision], records: list[audit.Record],
           known: dict[audit.Record, str]) -> None:
    event = "undo" if all(d.action is Action.UNDO for d in rows) else "decision"
    if len(rows) == 1:
        audit.append(db, rows[0].actor, event, rows[0].item_id, _summary(rows[0]), records, known)
    else:
        payload = {"batch_id": rows[0].batch_id, "decisions": [_summary(d) for d in rows]}
        audit.append(db, rows[0].actor, event, rows[0].batch_id, payload, records, known)


def _summary(d: Decision) -> dict[str, Any]:
    out = {"uuid": d.uuid, "item_id": d.item_id, "labels": list(d.labels), "action": d.action.value,
           "supersedes": d.supersedes, "source": d.source.value, "batch_id": d.batch_id}
    return {**out, "qa_of": d.qa_of} if d.qa_of else out


# -- reads: the replay ------------------------------------------------------------------------------
def history_for_items(db: Db, item_ids: Sequence[str]) -> list[Decision]:
    """Every row of these items, in log order."""
    sql = f"SELECT {_SELECT} FROM decisions WHERE item_id {_IN} ORDER BY seq"
    return _decisions(db, sql, (json.dumps(list(item_ids)),))


def all_decisions(db: Db) -> list[Decision]:
    """Every row, in log order (QA sampling replays the whole log)."""
    return _decisions(db, f"SELECT {_SELECT} FROM decisions ORDER BY seq", ())


def current_for_item(db: Db, item_id: str) -> Decision | None:
    """The item's standing decision (moderator.decision_log.standing), None when nothing stands."""
    return decision_log.standing(history_for_items(db, [item_id]))


def decision_by_uuid(db: Db, uuid: str) -> Decision | None:
    row = db.execute("SELECT * FROM decisions WHERE uuid = ?", (uuid,)).fetchone()
    return row_to_decision(row) if row else None


def last_undoable(db: Db, actor: str) -> Decision | None:
    """The actor's latest row that no undo has superseded (decision_log.last_undoable), searched in the
    actor's latest rows first, then in ever more of them."""
    window = UNDO_WINDOW
    while True:
        sql = ("WITH mine AS (SELECT uuid FROM decisions WHERE actor = ? ORDER BY seq DESC LIMIT ?) "
               f"SELECT {_SELECT} FROM decisions WHERE uuid IN (SELECT uuid FROM mine) "
               "OR (action = 'undo' AND supersedes IN (SELECT uuid FROM mine)) ORDER BY seq")
        history = _decisions(db, sql, (actor, window))
        found = decision_log.last_undoable(history, actor)
        if found is not None or sum(d.actor == actor for d in history) < window:
            return found
        window *= 8


def undo_set(db: Db, target: Decision) -> list[Decision]:
    """What undoing `target` supersedes: it alone, or every member of its batch not undone yet."""
    if target.batch_id is None:
        return [target]
    sql = (f"SELECT {_SELECT} FROM decisions WHERE batch_id = ? OR (action = 'undo' AND supersedes IN "
           "(SELECT uuid FROM decisions WHERE batch_id = ?)) ORDER BY seq")
    history = _decisions(db, sql, (target.batch_id, target.batch_id))
    return decision_log.undo_set(history, target)


def all_rows(db: Db) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute("SELECT * FROM decisions ORDER BY seq")]


def current_rows(db: Db) -> list[dict[str, Any]]:
    """Every item's standing decision row (decision_log.standing_by_item), in decision order."""
    rows = all_rows(db)
    standing = decision_log.standing_by_item(row_to_decision(r) for r in rows)
    uuids = {d.uuid for d in standing.values()}
    return [r for r in rows if r["uuid"] in uuids]


def unassigned_exposure(db: Db, item_ids: Sequence[str], actor: str) -> dict[str, tuple[list[int], int]]:
    """Per item of `item_ids` that has any: the ids and total ms of its exposure this actor has not
    counted in a decision yet. One statement for a whole batch (the exposure_item index, per item)."""
    found: dict[str, tuple[list[int], int]] = {}
    rows = db.conn.execute(
        "SELECT item_id, id, ms FROM exposure_events WHERE item_id IN (SELECT value FROM json_each(?)) "
        "AND actor = ? AND decision_uuid IS NULL ORDER BY id",
        (json.dumps(list(item_ids)), actor),
    )
    for item_id, event_id, ms in rows:
        ids, total = found.get(item_id, ([], 0))
        ids.append(event_id)
        found[item_id] = (ids, total + ms)
    return found


def assign_exposure(db: Db, ids: list[int], decision_uuid: str) -> None:
    if not ids:  # most items of a batch were never revealed: no statement at all
        return
    db.conn.executemany("UPDATE exposure_events SET decision_uuid = ? WHERE id = ?", [(decision_uuid, i) for i in ids])


def standing_bank_decisions(db: Db) -> list[dict[str, Any]]:
    """Items closed by a bank whose decision still stands, newest first, with what identifies them."""
    rows = [r for r in current_rows(db) if r["source"] == DecisionSource.BANK.value]
    names = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, external_id, source_name FROM items")}
    for r in rows:
        external_id, source_name = names.get(r["item_id"], (None, None))
        r["item_title"] = external_id or source_name or r["item_id"][:8]
    return sorted(rows, key=lambda r: r["seq"], reverse=True)
