"""Matching on the hub: its live bank entries as in-memory indexes (one HashIndex per bank and signal
type, as the desk's moderator/bank_index.py builds them), queried with the hashes an import computed
and routed by the desk's own rules (moderator.matching.plan_route), so routing is decided once, here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, select, update

from moderator.bank_index import Indexed
from moderator.domain import Bank, BankAction, BankKind, Match, Policy
from moderator.hash_index import HashIndex
from moderator.matching import ESCALATE_PRIORITY, RoutePlan, bank_note, lookup, needs_dihedral
from moderator.media_hashes import MediaHashes
from moderator.signals import SIGNALS
from upstream.db import read_tx
from upstream.schema import bank_entries, banks, decisions, item_hashes, items, matches

HUB_DESK = "hub"  # the `desk` of decisions the hub makes itself (bank routing)


@dataclass(frozen=True)
class HubBanks:
    """The hub's banks as they were when an import began, ready to query."""

    engine: Engine
    banks: dict[str, Bank]
    indexes: list[tuple[Bank, str, Indexed]]

    @property
    def dihedral(self) -> bool:
        """Whether imports hash PDQ's dihedral variants (some bank holds PDQ entries)."""
        return needs_dihedral(self.indexes)

    def match(self, hashes: MediaHashes) -> list[Match]:
        return lookup(hashes, self.indexes, self._entries) if self.indexes else []

    def _entries(self, ids: list[int]) -> dict[int, tuple[str, str]]:
        if not ids:
            return {}
        with read_tx(self.engine) as conn:
            rows = conn.execute(select(bank_entries.c.id, bank_entries.c.hash, bank_entries.c.label)
                                .where(bank_entries.c.id.in_(ids)))
            return {r.id: (r.hash, r.label) for r in rows}


def load_banks(engine: Engine) -> HubBanks:
    """Every bank and an index of its live (not removed) entries per signal type."""
    with read_tx(engine) as conn:
        found = {r.name: _bank(r) for r in conn.execute(select(banks))}
        live = conn.execute(select(bank_entries.c.id, bank_entries.c.bank, bank_entries.c.signal_type,
                                   bank_entries.c.hash)
                            .where(bank_entries.c.removed_at.is_(None))
                            .order_by(bank_entries.c.bank, bank_entries.c.signal_type, bank_entries.c.id))
        groups: dict[tuple[str, str], tuple[list[int], list[str]]] = {}
        for r in live:
            if r.signal_type in SIGNALS and r.bank in found:
                ids, hashes = groups.setdefault((r.bank, r.signal_type), ([], []))
                ids.append(r.id)
                hashes.append(r.hash)
    indexes = [(found[bank], signal_type, _indexed(signal_type, ids, hashes))
               for (bank, signal_type), (ids, hashes) in groups.items()]
    return HubBanks(engine, found, indexes)


def _bank(r) -> Bank:
    return Bank(name=r.name, kind=BankKind(r.kind), signal_type=r.signal_type, threshold=r.threshold,
                action=BankAction(r.action), created_at=r.created_at, description=r.description)


def _indexed(signal_type: str, ids: list[int], hashes: list[str]) -> Indexed:
    index = HashIndex(SIGNALS[signal_type].bits)
    index.add(hashes)
    return Indexed(index, np.asarray(ids, dtype=np.int64), max(ids))


def hash_rows(item_id: str, sha256: str, hashes: MediaHashes) -> list[dict]:
    """item_hashes rows: every hash computed from the content. The table keeps one row per (signal,
    value), so a value seen twice (PDQ's `original` variant is the PDQ itself) is kept once, first."""
    rows: dict[tuple[str, str], dict] = {}
    for signal_type, value, quality, frame_index, _time_s, variant in hashes.media_rows():
        rows.setdefault((signal_type, value), {
            "item_id": item_id, "sha256": sha256, "signal_type": signal_type, "value": value,
            "quality": quality, "frame_index": frame_index, "variant": variant})
    return list(rows.values())


def record_matches(conn: Connection, item_id: str, found: Iterable[Match], now: str) -> None:
    rows = [{"item_id": item_id, "bank": m.bank, "entry_id": m.entry_id, "distance": m.distance,
             "signal_type": m.signal_type, "label": m.label, "query_hash": m.query_hash, "variant": m.variant,
             "matched_at": now} for m in found]
    if rows:
        conn.execute(matches.insert(), rows)


def escalated_fields(priority: int, plan: RoutePlan) -> dict:
    """The item's priority and suggested label once routed: an escalating bank lifts it to at least
    ESCALATE_PRIORITY, as on the desk."""
    if plan.outcome != "escalated":
        return {"priority": priority, "suggested_label": None}
    return {"priority": max(priority, ESCALATE_PRIORITY), "suggested_label": plan.label}


def close_item(conn: Connection, policy: Policy, item_id: str, plan: RoutePlan, now: str) -> str:
    """A bank's decision on a new item (`bank:<name>`, source bank), which stands: the item is decided.
    Returns the decision's uuid."""
    decision_uuid = str(uuid.uuid4())
    conn.execute(decisions.insert().values(
        uuid=decision_uuid, item_id=item_id, lease_id=None, actor=f"bank:{plan.bank}", team=None, desk=HUB_DESK,
        labels=json.dumps([plan.label]), action=plan.action.value, decided_at=now, received_at=now,
        handle_ms=0, exposure_ms=0, batch_id=None, supersedes=None, qa_of=None, policy_version=policy.version,
        source="bank", note=bank_note(plan.evidence), status="accepted", reason=None))
    conn.execute(update(items).where(items.c.id == item_id).values(status="decided"))
    return decision_uuid


def save_hashes(conn: Connection, rows: list[dict]) -> None:
    if rows:
        conn.execute(item_hashes.insert(), rows)
