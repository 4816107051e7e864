"""The bank service: create, import, export and list hash banks, and add an item's hashes to a bank.

Every write is one store transaction, so a refused import or add leaves the store as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

from blurring.errors import MediaError
from moderator.bank_formats import FORMATS, BankRow, read_bank_file, write_bank_file
from moderator.clock import now_iso
from moderator.domain import Bank, BankAction, BankKind, MediaKind, Policy
from moderator.media_hashes import hash_media
from moderator.signals import PDQ, UnknownSignalError, get_signal
from moderator.video_hash import distinct_frames
from storage import audit
from storage import banks as banks_repo
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage.files import replacing
from storage.store import Store

# A bank's name becomes the actor `bank:<name>` on its decisions and a CLI argument: keep it plain.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
DEFAULT_ACTION = {BankKind.BLOCK: BankAction.ESCALATE, BankKind.ALLOW: BankAction.ALLOW}
ACTIONS_FOR_KIND = {
    BankKind.BLOCK: (BankAction.ESCALATE, BankAction.REMOVE, BankAction.FLAG),
    BankKind.ALLOW: (BankAction.ALLOW, BankAction.FLAG),
}
# ThreatExchange opinions that contradict a bank's kind: a known-good hash in a block bank would
# remove good content, a known-bad one in an allow bank would auto-close harm.
_WRONG_CATEGORY = {BankKind.BLOCK: "NEGATIVE_CLASS", BankKind.ALLOW: "POSITIVE_CLASS"}


class BankError(ValueError):
    """A bank request that cannot be carried out; the message says why, and nothing was changed."""


@dataclass(frozen=True)
class ImportResult:
    bank: Bank
    rows: int  # rows in the file
    added: int
    duplicates: int  # rows the bank already held, or repeated in the file
    created: bool


@dataclass(frozen=True)
class AddResult:
    bank: str
    hashes: tuple[str, ...]
    added: int
    label: str


@dataclass
class BankService:
    store: Store
    policy: Policy
    actor: str

    def list_banks(self) -> list[Bank]:
        return banks_repo.list_banks(self.store.db)

    def get_bank(self, name: str) -> Bank:
        bank = banks_repo.get_bank(self.store.db, name)
        if bank is None:
            raise BankError(f"no bank {name!r}")
        return bank

    def create_bank(self, name: str, kind: str, signal_type: str = PDQ.name, threshold: int | None = None,
                    action: str | None = None, description: str | None = None) -> Bank:
        spec = new_bank(name, kind, signal_type, threshold, action, description)

        def write(db: Db) -> Bank:
            if banks_repo.get_bank(db, name) is not None:
                raise BankError(f"bank {name!r} already exists")
            banks_repo.create_bank(db, spec)
            audit.append(db, self.actor, "bank_create", name, _bank_payload(spec), [("bank", name)])
            return spec

        return self.store.write(write)

    def import_bank(self, path: str | Path, name: str, kind: str | None = None, signal_type: str | None = None,
                    threshold: int | None = None, action: str | None = None, fmt: str = "auto",
                    description: str | None = None) -> ImportResult:
        """Add a bank file's entries, creating the bank on first import. All or nothing: a bad line
        (BankFormatError, with its line number) or settings that contradict the existing bank change
        nothing; entries the bank already holds are skipped and counted."""
        existing = banks_repo.get_bank(self.store.db, name)
        if existing is not None:
            _check_same(existing, kind, signal_type, threshold, action)
        rows = _read(path, fmt, signal_type or (existing.signal_type if existing else None))
        spec = existing or new_bank(name, kind, signal_type or (rows[0].signal_type if rows else PDQ.name),
                                    threshold, action, description)
        _check_categories(rows, spec.kind, name)
        tuples = [(r.signal_type, r.hash, r.label, r.source, r.category) for r in rows]

        def write(db: Db) -> ImportResult:
            bank = banks_repo.get_bank(db, name)
            if bank is None:
                banks_repo.create_bank(db, spec)
            else:
                _check_same(bank, kind, signal_type, threshold, action)
            before = audit.last_id(db, "bank_entries")
            added = banks_repo.add_entries(db, name, tuples, self.actor)
            payload = {"file": Path(path).name, "rows": len(rows), "added": added}
            audit.append(db, self.actor, "bank_import", name, payload,
                         [("bank", name), audit.bank_entries_since(db, before)])
            return ImportResult(banks_repo.get_bank(db, name), len(rows), added, len(rows) - added, bank is None)

        return self.store.write(write)

    def export_bank(self, name: str, path: str | Path, fmt: str = "csv", hashes_only: bool = False) -> int:
        """Write every entry, in the order added; the file appears whole or not at all. Returns the count."""
        self.get_bank(name)
        if fmt not in FORMATS:
            raise BankError(f"unknown bank format {fmt!r} (known: {', '.join(FORMATS)})")
        rows = [BankRow(*e[1:]) for e in banks_repo.entries(self.store.db, name)]
        if fmt == "te-lines" and not hashes_only and any(r.label or r.source or r.category for r in rows):
            raise BankError(f"bank {name!r} has labels or sources that te-lines cannot hold; "
                            "export csv or te-csv, or hashes only")
        return _write_whole(rows, Path(path), fmt)

    def add_to_bank(self, item_id: str, bank_name: str, label: str | None = None,
                    source: str | None = None) -> AddResult:
        """Hash an item's media with the bank's signal type and add the hashes (every distinct frame of a
        video); the label defaults to the item's standing decision. Audited as "bank_add"."""
        bank = self.get_bank(bank_name)
        try:
            item = items_repo.get_item(self.store.db, item_id)
        except KeyError:
            raise BankError(f"no item {item_id!r}") from None
        values = _item_hashes(item.media_path, item.sha256, bank.signal_type)
        if label is None:
            current = decisions_repo.current_for_item(self.store.db, item_id)
            label = current.labels[0] if current and current.labels else ""
        source = source or f"item:{item_id}"
        rows = [(bank.signal_type, v, label, source, "") for v in values]

        def write(db: Db) -> AddResult:
            if banks_repo.get_bank(db, bank_name) is None:
                raise BankError(f"no bank {bank_name!r}")
            before = audit.last_id(db, "bank_entries")
            added = banks_repo.add_entries(db, bank_name, rows, self.actor)
            payload = {"bank": bank_name, "hashes": values, "added": added, "label": label, "source": source}
            audit.append(db, self.actor, "bank_add", item_id, payload, [audit.bank_entries_since(db, before)])
            return AddResult(bank_name, tuple(values), added, label)

        return self.store.write(write)


def new_bank(name: str, kind: str | None, signal_type: str, threshold: int | None, action: str | None,
             description: str | None = None) -> Bank:
    """A validated bank definition; BankError naming the first problem."""
    if not _NAME.fullmatch(name or ""):
        raise BankError(f"bank name {name!r} must be 1-64 letters, digits, '_', '.' or '-'")
    if kind is None:
        raise BankError(f"bank {name!r} does not exist yet: say its kind (block or allow)")
    try:
        signal, bank_kind = get_signal(signal_type), BankKind(kind)
        bank_action = BankAction(action) if action else DEFAULT_ACTION[bank_kind]
    except (UnknownSignalError, ValueError) as exc:
        raise BankError(str(exc)) from None
    if bank_action not in ACTIONS_FOR_KIND[bank_kind]:
        *first, last = (a.value for a in ACTIONS_FOR_KIND[bank_kind])
        allowed = f"{', '.join(first)} or {last}"
        raise BankError(f"{bank_kind.value} banks take the action {allowed}, not {bank_action.value}")
    threshold = signal.default_threshold if threshold is None else int(threshold)
    if not 0 <= threshold <= signal.bits:
        raise BankError(f"threshold for {signal.name} must be 0..{signal.bits}, got {threshold}")
    return Bank(name, bank_kind, signal.name, threshold, bank_action, now_iso(), description)


def _check_same(bank: Bank, kind: str | None, signal_type: str | None, threshold: int | None,
                action: str | None) -> None:
    """Settings given for an existing bank must be the ones it has: an import never redefines a bank."""
    given = {"kind": kind, "signal type": signal_type and signal_type.lower(), "threshold": threshold,
             "action": action}
    have = {"kind": bank.kind.value, "signal type": bank.signal_type, "threshold": bank.threshold,
            "action": bank.action.value}
    for what, value in given.items():
        if value is not None and value != have[what]:
            raise BankError(f"bank {bank.name!r} exists with {what} {have[what]}, not {value}; "
                            "import into a new bank to use other settings")


def _read(path: str | Path, fmt: str, signal_type: str | None) -> list[BankRow]:
    if not Path(path).is_file():
        raise BankError(f"no such file: {path}")
    try:
        return read_bank_file(path, fmt, signal_type)
    except UnknownSignalError as exc:
        raise BankError(str(exc)) from None
    except UnicodeDecodeError:
        raise BankError(f"{Path(path).name}: not a text file (bank files are UTF-8 text)") from None


def _check_categories(rows: list[BankRow], kind: BankKind, name: str) -> None:
    wrong = [r for r in rows if r.category.upper() == _WRONG_CATEGORY[kind]]
    if wrong:
        raise BankError(f"bank {name!r} is a {kind.value} bank but {len(wrong)} rows are "
                        f"{_WRONG_CATEGORY[kind]} (first: {wrong[0].hash}); import those into a bank of the other kind")


def _item_hashes(media_path: str, sha256: str, signal_type: str) -> list[str]:
    """The item's hashes of one signal type, as a bank entry would hold them."""
    try:
        hashes = hash_media(media_path, sha256, dihedral=False)
    except (MediaError, OSError) as exc:
        raise BankError(f"cannot hash the item's media: {getattr(exc, 'reason', exc)}") from None
    if hashes.kind is MediaKind.VIDEO and signal_type == PDQ.name:
        values = [f.hex for f in distinct_frames(hashes.frames)]
    else:
        values = [h.hex for h in hashes.hashes if h.signal_type == signal_type and h.usable]
    if not values:
        raise BankError(f"the item has no usable {signal_type} hash (too flat, or not this kind of media)")
    return values


def _write_whole(rows: list[BankRow], path: Path, fmt: str) -> int:
    path = path.expanduser()
    if not path.parent.is_dir():
        raise BankError(f"cannot write {path}: no such folder {path.parent}")
    with replacing(path) as tmp:
        return write_bank_file(rows, tmp, fmt, lossy=True)


def _bank_payload(bank: Bank) -> dict:
    return {"kind": bank.kind.value, "signal_type": bank.signal_type, "threshold": bank.threshold,
            "action": bank.action.value}
