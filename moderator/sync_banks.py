"""The hub's banks and policy into the desk: `/v1/banks/changes?since=V` applied to the local banks, and
`/v1/policy` kept as a file in the data dir with its version (the versions seen live in sync_state).

Local bank entries are append-only (the in-memory indexes and the audit's entry ranges rely on it), so
an entry the hub removed is recorded in `hub_bank_removals` rather than deleted; a bank whose settings
differ from the hub's is left as it is here and named in the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.banks import BankError, new_bank
from moderator.policy import PolicyError, load_policy
from storage import audit
from storage import banks as banks_repo
from storage import sync as sync_repo
from storage.files import replacing
from storage.hub_client import HubClient
from storage.store import Store

POLICY_FILE = "hub-policy.toml"
ACTOR = "hub"


@dataclass
class BankOutcome:
    version: int
    created: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0  # recorded, not applied (see the module doc)
    skipped: list[str] = field(default_factory=list)  # one line per bank or entry not taken, and why


def pull_banks(store: Store, client: HubClient) -> BankOutcome:
    since = int(sync_repo.get_state(store.db, "bank_version") or 0)
    body = client.bank_changes(since)
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < since:
        raise ValueError(f"hub sent bank version {version!r} after {since}")
    if version == since and not body.get("entries"):
        return BankOutcome(version)
    return store.write(_apply_banks, body, version)


def _apply_banks(db: Db, body: dict[str, Any], version: int) -> BankOutcome:
    outcome = BankOutcome(version)
    for spec in body.get("banks") or []:
        _create_bank(db, spec, outcome)
    before = audit.last_id(db, "bank_entries")
    adds: dict[str, list[banks_repo.EntryTuple]] = {}
    for e in body.get("entries") or []:
        bank = banks_repo.get_bank(db, str(e.get("bank")))
        if bank is None:
            outcome.skipped.append(f"entry {e.get('id')}: no bank {e.get('bank')!r} here")
        elif e.get("op") == "remove":
            sync_repo.record_bank_removal(db, bank.name, str(e.get("signal_type") or bank.signal_type),
                                          str(e.get("hash")), int(e.get("version") or version))
            outcome.removed += 1
        else:
            adds.setdefault(bank.name, []).append((str(e.get("signal_type") or bank.signal_type), str(e["hash"]),
                                                   str(e.get("label") or ""), str(e.get("source") or "hub"),
                                                   str(e.get("category") or "")))
    for name, rows in adds.items():
        outcome.added += banks_repo.add_entries(db, name, rows, ACTOR)
    payload = {"version": version, "created": outcome.created, "added": outcome.added,
               "removed_recorded": outcome.removed, "skipped": outcome.skipped[:20]}
    audit.append(db, ACTOR, "hub_banks", None, payload,
                 [*(("bank", n) for n in outcome.created), audit.bank_entries_since(db, before)])
    sync_repo.set_state(db, "bank_version", str(version))
    return outcome


def _create_bank(db: Db, spec: dict[str, Any], outcome: BankOutcome) -> None:
    name = str(spec.get("name"))
    try:
        bank = new_bank(name, spec.get("kind"), str(spec.get("signal_type") or "pdq"), spec.get("threshold"),
                        spec.get("action"), spec.get("description"))
    except BankError as exc:
        outcome.skipped.append(f"bank {name!r}: {exc}")
        return
    existing = banks_repo.get_bank(db, name)
    if existing is None:
        banks_repo.create_bank(db, bank)
        outcome.created.append(name)
    elif (existing.kind, existing.signal_type, existing.threshold, existing.action) != (
            bank.kind, bank.signal_type, bank.threshold, bank.action):
        outcome.skipped.append(f"bank {name!r}: settings here differ from the hub's (kept as they are)")


# -- the policy ---------------------------------------------------------------------------------
def policy_path(store: Store) -> Path:
    return store.data_dir / POLICY_FILE


def pull_policy(store: Store, client: HubClient) -> str | None:
    """Fetch the team's policy; keep it (checked like any policy file) when its version is new.
    Returns the new version, None when it is the one kept already. PolicyError when it is unusable."""
    body = client.policy()
    version, text = body.get("version"), body.get("text")
    if not isinstance(text, str) or version is None:
        raise PolicyError("the hub's policy answer has no version and text")
    path = policy_path(store)
    if str(version) == sync_repo.get_state(store.db, "policy_version") and path.is_file():
        return None
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        load_policy(tmp)  # a policy that would not load (or lowers a floor) is never kept
    store.write(sync_repo.set_state, "policy_version", str(version))
    return str(version)
