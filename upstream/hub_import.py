"""`moderator hub import`: media and manifests into the hub's queue, with the desk's own checks.

The same files and manifest rows are accepted and refused, with the same reasons, as by the desk's
`moderator import` (moderator.ingest and moderator.manifest do the checking here too). Each file or
row is all or nothing: its media row (new content), item, hashes, matches and any bank decision are
one transaction. Media is content-addressed in the hub's data dir (`media/ab/<sha256>`, the layout of
upstream.items) through storage.media_cache: the copy is staged before the row and renamed into place
after it commits, and a sweep at the start of each import finishes or removes what a killed import
left, so there is never a row without its file nor a file without its row.

Every item is hashed from its import decode (PDQ with its dihedral variants when a bank holds PDQ,
pHash, MD5, SHA-256; frame PDQs for video), matched against the hub's banks and routed once, here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from blurring.errors import MediaError
from blurring.sniff import open_regular
from moderator.clock import now_iso
from moderator.domain import Policy
from moderator.ingest import (
    Checked,
    Skipped,
    Source,
    check_staged,
    collect,
    content_taken,
    external_id_taken,
    read_source,
    sla_due_at,
    stage_copy,
)
from moderator.manifest import Entry
from moderator.manifest_context import CONTEXT_FIELDS
from moderator.matching import RoutePlan, plan_route
from moderator.media_hashes import MediaHashes, hash_media
from moderator.policy import parse_policy
from storage.media_cache import MediaCache, Staged
from upstream.db import read_tx, write_tx
from upstream.hub_match import (
    HubBanks,
    close_item,
    escalated_fields,
    hash_rows,
    load_banks,
    record_matches,
    save_hashes,
)
from upstream.items import MEDIA_DIR, add_item, media_file
from upstream.policy_store import current_policy, ensure_policy
from upstream.schema import items, media


@dataclass
class HubImportReport:
    imported: list[str] = field(default_factory=list)  # item ids
    skipped: list[Skipped] = field(default_factory=list)
    matched: int = 0  # items with at least one bank match
    routed: dict[str, int] = field(default_factory=dict)  # route outcome (escalated, closed, flagged) -> items
    entries: dict[str, Entry] = field(default_factory=dict)  # item id -> the file or manifest row it came from

    @property
    def summary(self) -> str:
        routed = ", ".join(f"{k} {v}" for k, v in sorted(self.routed.items()))
        return (f"imported {len(self.imported)}, skipped {len(self.skipped)}; matched {self.matched}"
                + (f" ({routed})" if routed else ""))


class HubMedia(MediaCache):
    """The hub's media folder: files named by their SHA-256 alone, as upstream.items.media_relpath."""

    def path_for(self, sha256: str, mime: str) -> Path:
        return self.root / sha256[:2] / sha256


@dataclass(frozen=True)
class _Run:
    engine: Engine
    data_dir: Path
    cache: HubMedia
    banks: HubBanks
    policy: Policy
    allow_duplicates: bool


def hub_policy(engine: Engine, seed: str | Path | None = None) -> Policy:
    """The hub's policy (seeded from `seed`, or the shipped policy, when it has none yet)."""
    with write_tx(engine) as conn:
        ensure_policy(conn, Path(seed) if seed else None)
        text = current_policy(conn)["text"]
    return parse_policy(tomllib.loads(text))


def sweep_media(engine: Engine, data_dir: Path) -> None:
    """Finish or remove what a killed import left in the media folder (storage.media_cache.sweep)."""
    def mimes() -> dict[str, str]:
        with read_tx(engine) as conn:
            return {r.sha256: r.mime for r in conn.execute(select(media.c.sha256, media.c.mime))}

    def has_row(sha256: str) -> bool:
        with read_tx(engine) as conn:
            return conn.execute(select(media.c.sha256).where(media.c.sha256 == sha256)).first() is not None

    HubMedia(data_dir / MEDIA_DIR).sweep_rows(mimes, has_row)


def import_into_hub(engine: Engine, data_dir: Path, paths: Iterable[str | Path], policy: Policy, *,
                    allow_outside: bool = False, allow_duplicates: bool = False,
                    extra: tuple[str, ...] = ()) -> HubImportReport:
    """Import every good file and manifest row into the hub, skip (and name) every bad one.
    ImportUsageError (a missing path, an unreadable manifest) before anything is written.
    Dedupe rule, the desk's: a report with an external_id is new unless that id is on the hub; one
    without is skipped when its content is, unless allow_duplicates. Either way known content is
    shared: one media row and file, any number of items."""
    entries, bad = collect(paths, policy, allow_outside=allow_outside, extra=extra)
    report = HubImportReport(skipped=list(bad))
    sweep_media(engine, data_dir)
    run = _Run(engine, data_dir, HubMedia(data_dir / MEDIA_DIR), load_banks(engine), policy, allow_duplicates)
    for entry in entries:
        try:
            item_id, plan = _import_one(run, entry)
        except MediaError as exc:
            report.skipped.append(Skipped(entry.origin, exc.reason))
            continue
        report.imported.append(item_id)
        report.entries[item_id] = entry
        if plan.outcome != "none":
            report.matched += 1
            report.routed[plan.outcome] = report.routed.get(plan.outcome, 0) + 1
    return report


def _import_one(run: _Run, entry: Entry) -> tuple[str, RoutePlan]:
    """One open of the source: sniffed, hashed whole, and (new content) copied from the same
    descriptor; the staged copy is decoded once for its checks and hashes. Known content is hashed
    from the hub's stored copy instead. Matching runs before the short write transaction."""
    dedupe = not (run.allow_duplicates or entry.external_id)
    with open_regular(entry.path) as f:
        src = read_source(f, with_md5=True)
        with read_tx(run.engine) as conn:
            _refuse_duplicate(conn, src.sha256, entry, dedupe)
            stored = conn.execute(select(media.c.path).where(media.c.sha256 == src.sha256)).first()
        kept = stored is not None and media_file(run.data_dir, stored.path).is_file()
        staged = None if kept else stage_copy(run.cache, f, src)
    try:
        checked, hashes = _checked_and_hashed(run, src, staged, stored)
        found = run.banks.match(hashes)
        plan = plan_route(run.policy, run.banks.banks, found, True)
        item_id = _write_once_more_on_race(run, entry, src, checked, hashes, found, plan, dedupe)
    except BaseException:
        _discard(run, staged)
        raise
    if staged is not None:
        run.cache.commit(staged)
    return item_id, plan


def _checked_and_hashed(run: _Run, src: Source, staged: Staged | None, stored) -> tuple[Checked | None,
                                                                                           MediaHashes]:
    dihedral = run.banks.dihedral
    if staged is None:
        return None, hash_media(media_file(run.data_dir, stored.path), src.sha256, dihedral, kind=src.kind)
    decoded = check_staged(staged, src, dihedral)
    # A video's check is a probe; its frame hashes are a decode of their own, as on the desk.
    hashes = decoded.hashes or hash_media(staged.path, src.sha256, dihedral, kind=src.kind)
    return decoded.checked, hashes


def _discard(run: _Run, staged: Staged | None) -> None:
    if staged is not None:
        run.cache.discard(staged)


def _write_once_more_on_race(run: _Run, entry: Entry, src: Source, checked: Checked | None,
                             hashes: MediaHashes, found: list, plan: RoutePlan, dedupe: bool) -> str:
    """_write in its transaction. Two imports running at once (PostgreSQL: neither sees the other's
    rows before it commits) can both pass the checks: the loser's unique key fails, and it is judged
    again on what is committed now: a taken external_id or content is skipped with its reason, a
    media row that appeared meanwhile is shared."""
    try:
        with write_tx(run.engine) as conn:
            return _write(conn, run, entry, src, checked, hashes, found, plan, dedupe)
    except IntegrityError:
        with read_tx(run.engine) as conn:
            _refuse_duplicate(conn, src.sha256, entry, dedupe)
    with write_tx(run.engine) as conn:
        return _write(conn, run, entry, src, checked, hashes, found, plan, dedupe)


def _write(conn: Connection, run: _Run, entry: Entry, src: Source, checked: Checked | None,
           hashes: MediaHashes, found: list, plan: RoutePlan, dedupe: bool) -> str:
    """The item, its hashes, matches and routing (and for new content its media row), in one transaction."""
    _refuse_duplicate(conn, src.sha256, entry, dedupe)
    now = now_iso()
    if checked is not None and conn.execute(select(media.c.sha256).where(media.c.sha256 == src.sha256)).first() is None:
        conn.execute(media.insert().values(
            sha256=src.sha256, path=run.cache.path_for(src.sha256, src.mime).relative_to(run.data_dir).as_posix(),
            mime=checked.mime, kind=checked.kind.value, width=checked.width, height=checked.height,
            duration_s=checked.duration_s, bytes=checked.size, added_at=now))
    item_id = add_item(conn, src.sha256, external_id=entry.external_id, source_name=entry.path.name,
                       category=entry.category, reason=entry.reason, report_count=entry.report_count,
                       reported_at=entry.reported_at, sla_due_at=sla_due_at(entry, now), imported_at=now,
                       **escalated_fields(entry.priority, plan),
                       **{name: getattr(entry, name) for name in CONTEXT_FIELDS})
    save_hashes(conn, hash_rows(item_id, src.sha256, hashes))
    record_matches(conn, item_id, found, now)
    if plan.outcome == "closed":
        close_item(conn, run.policy, item_id, plan, now)
    return item_id


def _refuse_duplicate(conn: Connection, sha256: str, entry: Entry, dedupe: bool) -> None:
    """The desk's rule and reasons (moderator.ingest): a known external_id is refused; known content
    without one is refused unless duplicates are allowed."""
    if entry.external_id:
        other = conn.execute(select(items.c.id).where(items.c.external_id == entry.external_id)).scalar()
        if other is not None:
            raise external_id_taken(entry.external_id, other)
    if dedupe:
        existing = conn.execute(select(items.c.id).where(items.c.sha256 == sha256)
                                .order_by(items.c.imported_at, items.c.id).limit(1)).scalar()
        if existing is not None:
            raise content_taken(existing)
