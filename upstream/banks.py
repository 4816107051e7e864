"""The hub's hash banks and their change log: what desks pull (`GET /v1/banks/changes`) and leads push.

Bank definitions are checked by moderator.banks.new_bank and hashes by the signal's own validate, as
on the desk. Every entry added or removed is one bank_changes row; its version only grows, and bank
writes hold one lock on PostgreSQL, so versions commit in order and `since=V` never skips a change.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select, update

from moderator.banks import BankError, new_bank
from moderator.clock import now_iso
from moderator.signals import get_signal
from upstream.db import advisory_lock
from upstream.schema import bank_changes, bank_entries, banks

BANK_FIELDS = ("name", "kind", "signal_type", "threshold", "action", "description")
MAX_CHANGES = 50_000  # per response: a desk asks again with since=version until no entries come back


def ensure_bank(conn: Connection, name: str, spec: dict | None) -> dict:
    """Bank `name` as stored, created from `spec` when it does not exist; BankError otherwise."""
    row = conn.execute(select(banks).where(banks.c.name == name)).mappings().first()
    if row is not None:
        return dict(row)
    if spec is None:
        raise BankError(f"no bank {name!r}: send \"bank\" with its kind, signal_type, threshold and action "
                        "to create it")
    bank = new_bank(name, spec["kind"], spec["signal_type"], spec["threshold"], spec["action"],
                    spec.get("description"))
    values = {"name": bank.name, "kind": bank.kind.value, "signal_type": bank.signal_type,
              "threshold": bank.threshold, "action": bank.action.value, "description": bank.description,
              "created_at": bank.created_at}
    conn.execute(banks.insert().values(**values))
    return values


def push_entries(conn: Connection, name: str, spec: dict | None, entries: Sequence[dict],
                 remove: Sequence[str], actor: str) -> dict:
    """Add `entries` to bank `name` and remove the live entries with hashes in `remove`; every hash is
    checked before anything is written (BankError names the first bad one)."""
    advisory_lock(conn, "moderator-hub-banks")
    bank = ensure_bank(conn, name, spec)
    signal = get_signal(bank["signal_type"])
    added_rows = [{**e, "hash": _valid(signal, e["hash"], f"entries[{i}]")} for i, e in enumerate(entries)]
    gone = [_valid(signal, h, f"remove[{i}]") for i, h in enumerate(remove)]
    live = _live_entries(conn, name, bank["signal_type"])
    now = now_iso()
    removed = sum(_remove(conn, live.pop(h), name, now, actor) for h in dict.fromkeys(gone) if h in live)
    added = 0
    for e in added_rows:
        if e["hash"] in live:
            continue  # already in the bank: adding it again is not a change
        live[e["hash"]] = _add(conn, name, bank["signal_type"], e, now, actor)
        added += 1
    return {"version": current_version(conn), "added": added, "removed": removed}


def _valid(signal, value: str, where: str) -> str:
    try:
        return signal.validate(value)
    except ValueError as exc:
        raise BankError(f"{where}: {exc}") from None


def _live_entries(conn: Connection, bank: str, signal_type: str) -> dict[str, int]:
    query = select(bank_entries.c.hash, bank_entries.c.id).where(
        bank_entries.c.bank == bank, bank_entries.c.signal_type == signal_type, bank_entries.c.removed_at.is_(None))
    return {r.hash: r.id for r in conn.execute(query)}


def _log(conn: Connection, entry_id: int, bank: str, op: str, now: str, actor: str) -> int:
    result = conn.execute(bank_changes.insert().values(entry_id=entry_id, bank=bank, op=op, at=now, actor=actor))
    return result.inserted_primary_key[0]


def _add(conn: Connection, bank: str, signal_type: str, e: dict, now: str, actor: str) -> int:
    entry_id = conn.execute(bank_entries.insert().values(
        bank=bank, signal_type=signal_type, hash=e["hash"], label=e.get("label", ""), source=e.get("source", ""),
        category=e.get("category", ""), added_at=now, added_by=actor, version=0)).inserted_primary_key[0]
    version = _log(conn, entry_id, bank, "add", now, actor)
    conn.execute(update(bank_entries).where(bank_entries.c.id == entry_id).values(version=version))
    return entry_id


def _remove(conn: Connection, entry_id: int, bank: str, now: str, actor: str) -> int:
    conn.execute(update(bank_entries).where(bank_entries.c.id == entry_id).values(removed_at=now))
    _log(conn, entry_id, bank, "remove", now, actor)
    return 1


def current_version(conn: Connection) -> int:
    return conn.execute(select(func.coalesce(func.max(bank_changes.c.version), 0))).scalar_one()


def changes_since(conn: Connection, since: int) -> dict:
    """The change log after version `since` (0: everything), oldest first, at most MAX_CHANGES rows;
    `version` is the last change included (`since` when there is none)."""
    query = (select(bank_changes.c.version, bank_changes.c.op, bank_changes.c.bank, bank_entries.c.id,
                    bank_entries.c.signal_type, bank_entries.c.hash, bank_entries.c.label, bank_entries.c.source,
                    bank_entries.c.category)
             .join(bank_entries, bank_entries.c.id == bank_changes.c.entry_id)
             .where(bank_changes.c.version > since).order_by(bank_changes.c.version).limit(MAX_CHANGES))
    entries = [{"id": r.id, "bank": r.bank, "signal_type": r.signal_type, "hash": r.hash, "label": r.label,
                "source": r.source, "category": r.category, "op": r.op, "version": r.version}
               for r in conn.execute(query)]
    # Not max(version) read separately: a change committed between the two reads would be skipped.
    version = entries[-1]["version"] if entries else since
    all_banks = [{k: r[k] for k in BANK_FIELDS}
                 for r in conn.execute(select(banks).order_by(banks.c.name)).mappings()]
    return {"version": version, "banks": all_banks, "entries": entries}
