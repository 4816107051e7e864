"""Import media into the store: check each file from its bytes, copy it content-addressed, make an item.

The import unit is the row: a bad file or manifest row is reported with its reason and skipped,
every good one is imported, each its own short write (the store's writer commits writes queued together
in one transaction, a savepoint each: a refused row undoes only itself). The file is copied and
checked before its write (never holding the write lock across a slow file), and the copy is decoded, not the
source, so what is checked is what is kept. The media cache makes the row and its file appear
together (see storage/media_cache.py): a refused row or a crash leaves no file behind.

One pass per file: the source is opened once (sniffed from the head, hashed while read, and read
again from the same descriptor only to copy new content), and the copy is opened and decoded once,
which also gives the bank hashes when banks exist. Items are reports and media is content: a new
report of content already held shares its media row and file (the dedupe rule: `import_paths`).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from storage.db import Db

from blurring.decode import MAX_PIXELS, open_image
from blurring.errors import MediaError
from blurring.sniff import SNIFF_BYTES, looks_like_text, max_bytes_for, open_regular, sniff, too_large
from blurring.video import probe_video
from moderator.clock import now_iso, plus_minutes
from moderator.domain import MediaKind, Policy
from moderator.manifest import BadRow, Entry, ManifestError, is_manifest, read_manifest
from moderator.manifest_context import CONTEXT_FIELDS
from moderator.media_hashes import MediaHashes, hash_decoded
from moderator.policy import load_policy
from moderator.signals import MD5, SHA256, HashResult
from storage import audit
from storage import items as items_repo
from storage.media_cache import CHUNK, MediaCache, Staged
from storage.store import Store


class ImportUsageError(ValueError):
    """The command itself is wrong (missing path, unreadable manifest): nothing is imported."""


@dataclass(frozen=True)
class Skipped:
    origin: str
    reason: str


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)  # item ids
    skipped: list[Skipped] = field(default_factory=list)
    sources: dict[str, Entry] = field(default_factory=dict)  # item id -> the file or manifest row it came from

    @property
    def summary(self) -> str:
        return f"imported {len(self.imported)}, skipped {len(self.skipped)}"


@dataclass(frozen=True)
class Checked:
    kind: MediaKind
    mime: str
    width: int
    height: int
    duration_s: float | None
    size: int


def collect(paths: Iterable[str | Path], policy: Policy | None = None, *,
            allow_outside: bool = False, extra: tuple[str, ...] = ()) -> tuple[list[Entry], list[Skipped]]:
    """Expand folders (recursively) and manifests into entries; raise ImportUsageError on bad paths.

    policy: checks manifest categories (None: the built-in policy). allow_outside: manifest paths may
    be absolute or leave the manifest's folder. extra: manifest fields allowed besides the known ones
    (moderator.manifest.read_manifest).
    """
    policy = policy or load_policy()
    entries: list[Entry] = []
    bad: list[Skipped] = []
    paths = [Path(p) for p in paths]
    if not paths:
        raise ImportUsageError("nothing to import: give at least one folder, file or manifest")
    for p in paths:
        if not p.exists():
            raise ImportUsageError(f"no such file or folder: {p}")
    for p in paths:
        if p.is_dir():
            entries += [Entry(path=f, origin=str(f)) for f in _walk(p)]
        elif is_manifest(p):
            _read_manifest_into(p, entries, bad, policy, allow_outside, extra)
        else:
            entries.append(Entry(path=p, origin=str(p)))
    return entries, bad


def check_file(path: Path) -> Checked:
    """Validate a media file from its bytes; raise MediaError with a reason (sniffed once, decoded once)."""
    with open_regular(path) as f:
        kind, mime, size = _classify(f)
    return decode_check(path, kind, mime, size, None).checked


@dataclass(frozen=True)
class Source:
    """What one read of an open source file found: its kind (from its head) and its digests."""

    kind: MediaKind
    mime: str
    sha256: str
    md5: str | None
    limit: int  # the size limit of its kind


def read_source(f: BinaryIO, *, with_md5: bool) -> Source:
    """Sniff an open file's head, refuse empty, unknown and oversized files, and hash it whole (MD5
    too, for the banks); MediaError with the reason. The desk's import and the hub's share this."""
    kind, mime, _size = _classify(f)
    limit = max_bytes_for(kind)
    sha, md5 = _digest(f, limit, with_md5=with_md5)
    return Source(kind, mime, sha, md5, limit)


def stage_copy(cache: MediaCache, f: BinaryIO, src: Source) -> Staged:
    """Copy the open source file, from its start, into the cache's staging area."""
    return _stage(cache, f, src.mime, src.limit)


def check_staged(staged: Staged, src: Source, dihedral: bool | None) -> Decoded:
    """Decode the staged copy once (what is checked is what is kept): the file's checks and, when
    dihedral is not None, its hashes; MediaError when the copy is not what was read or not whole."""
    if staged.sha256 != src.sha256:
        raise MediaError("file changed while it was imported")
    return decode_check(staged.path, src.kind, src.mime, staged.size, dihedral, src.md5, src.sha256)


def _classify(f: BinaryIO) -> tuple[MediaKind, str, int]:
    """Kind, mime and size from an open file's head, refusing empty, unknown and oversized files."""
    try:
        size = os.fstat(f.fileno()).st_size
        head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror}") from None
    if size == 0:
        raise MediaError("empty file")
    found = sniff(head)
    if found is None:
        what = "bytes look like text" if looks_like_text(head) else "unrecognised bytes"
        raise MediaError(f"not an image or video ({what})")
    kind, mime = found
    if size > max_bytes_for(kind):
        raise too_large(size, max_bytes_for(kind))
    return kind, mime, size


@dataclass(frozen=True)
class Decoded:
    checked: Checked
    hashes: MediaHashes | None  # computed from the same decode when banks need them, else None


def decode_check(path: Path, kind: MediaKind, mime: str, size: int, dihedral: bool | None,
                 md5: str | None = None, sha: str | None = None) -> Decoded:
    """One decode of an already sniffed file: it proves the file whole and, when dihedral is not None
    (banks exist), gives the hashes too, so matching never decodes it again."""
    if kind is MediaKind.VIDEO:
        v = probe_video(path)
        return Decoded(Checked(kind, mime, v.width, v.height, v.duration_s, size), None)
    with open_image(path, max_pixels=MAX_PIXELS) as im:
        if dihedral is None:
            im.verify()
            hashes = None
        else:
            digests = (HashResult(MD5.name, md5), HashResult(SHA256.name, sha)) if md5 and sha else ()
            hashes = hash_decoded(im, digests, dihedral)
        return Decoded(Checked(kind, mime, im.info.width, im.info.height, None, size), hashes)


def import_paths(store: Store, paths: Iterable[str | Path], actor: str,
                 progress: Callable[[int, int], None] | None = None, *,
                 policy: Policy | None = None, allow_outside: bool = False, allow_duplicates: bool = False,
                 hash_dihedral: bool | None = None, extra: tuple[str, ...] = (),
                 workers: int | None = None) -> ImportReport:
    """Import every good file and manifest row, skip (and name) every bad one: never a crash half-way.

    Dedupe rule: a report is identified by its manifest `external_id` when it has one (a second row
    with that id is refused), else by its content: a file whose content the store already holds is
    skipped as a duplicate, so re-running an import changes nothing, unless allow_duplicates (each
    file is a new report). A new report of known content shares its media row and cached file.
    hash_dihedral: None imports only; True/False also hashes each new file from its one decode (with
    or without PDQ's dihedral variants), for matching to reuse (moderator.importing passes it).
    workers: files in flight at once (default import_run.IMPORT_WORKERS); the report keeps the entries' order."""
    entries, bad = collect(paths, policy, allow_outside=allow_outside, extra=extra)
    report = ImportReport(skipped=list(bad))
    cache = MediaCache(store.media_dir)

    from moderator.import_run import ImportRun  # here: the run's module builds on this one's steps

    run = ImportRun(store, cache, actor, allow_duplicates, hash_dihedral)
    for n, (entry, outcome) in enumerate(run.each(entries, workers), 1):
        if isinstance(outcome, Skipped):
            report.skipped.append(outcome)
        else:
            report.imported.append(outcome)
            report.sources[outcome] = entry
        if progress:
            progress(n, len(entries))
    return report


def write_item(db: Db, entry: Entry, actor: str, sha: str, media_row: dict | None,
                hashes: MediaHashes | None, dedupe: bool = True) -> tuple[str, bool]:
    """The item (and, for new content, its media row and hashes) and its audit entry, in one transaction;
    (item id, whether it shares media already held: then its own copy, if any, is not needed)."""
    refuse_duplicate(db, sha, entry, dedupe)
    item_id = str(uuid.uuid4())
    if media_row is not None and db.execute("SELECT 1 FROM media WHERE sha256 = ?", (sha,)).fetchone():
        media_row = hashes = None  # the same content came in since this file was read: share it
    if media_row is not None:
        items_repo.insert_media(db, media_row)
    if hashes is not None:
        items_repo.save_media_hashes(db, sha, hashes.media_rows())
    items_repo.insert_item(db, _item_row(item_id, sha, entry))
    payload = {"sha256": sha, "origin": entry.origin, **({} if media_row else {"shared_media": True})}
    audit.append(db, actor, "import", item_id, payload, audit.item_records(item_id))
    return item_id, media_row is None


def _digest(f: BinaryIO, limit: int, *, with_md5: bool) -> tuple[str, str | None]:
    """SHA-256 (and MD5, for the banks) of the whole file, read once from the start; a file that has
    grown past its limit since its size was read is refused."""
    f.seek(0)
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False) if with_md5 else None, 0
    try:
        while chunk := f.read(min(CHUNK, limit + 1 - size)):
            sha.update(chunk)
            if md5 is not None:
                md5.update(chunk)
            size += len(chunk)
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}") from None
    if size > limit:
        raise too_large(size, limit)
    return sha.hexdigest(), md5.hexdigest() if md5 is not None else None


def _stage(cache: MediaCache, f: BinaryIO, mime: str, limit: int) -> Staged:
    """Copy the open file, from its start, into the cache's staging area."""
    f.seek(0)
    try:
        staged = cache.stage(f, mime, max_bytes=limit)
    except OSError as exc:
        raise MediaError(f"cannot copy file: {exc.strerror or exc}") from None
    if staged.size > limit:
        cache.discard(staged)
        raise too_large(staged.size, limit)
    return staged


def refuse_duplicate(db: Db, sha: str | None, entry: Entry, dedupe: bool) -> None:
    """external_id imported already: refused. Same content and no external_id: refused unless `dedupe`
    is off (--allow-duplicates), when it is a new report sharing the media."""
    if entry.external_id and (other := items_repo.item_id_for_external(db, entry.external_id)):
        raise external_id_taken(entry.external_id, other)
    existing = dedupe and sha and items_repo.item_id_for_sha(db, sha)
    if existing:
        raise content_taken(existing)


def external_id_taken(external_id: str, other: str) -> MediaError:
    return MediaError(f"external_id {external_id} already imported as item {other}")


def content_taken(existing: str) -> MediaError:
    return MediaError(f"duplicate of item {existing} (same content already imported; "
                      "give it an external_id or --allow-duplicates to import it as a new report)")


def new_media_row(sha: str, cached: Path, c: Checked) -> dict:
    return {"sha256": sha, "path": str(cached), "mime": c.mime, "kind": c.kind.value, "width": c.width,
            "height": c.height, "duration_s": c.duration_s, "bytes": c.size, "added_at": now_iso()}


def _item_row(item_id: str, sha: str, e: Entry) -> dict:
    imported_at = now_iso()
    due = sla_due_at(e, imported_at)
    return {"id": item_id, "sha256": sha, "external_id": e.external_id, "source_name": e.path.name,
            "category": e.category, "priority": e.priority, "reason": e.reason,
            "report_count": e.report_count, "reported_at": e.reported_at, "sla_minutes": e.sla_minutes,
            "sla_due_at": due, "imported_at": imported_at, "status": "pending",
            **{name: getattr(e, name) for name in CONTEXT_FIELDS}}


def sla_due_at(e: Entry, imported_at: str) -> str | None:
    """When the report's SLA runs out: sla_minutes after it was reported (or, unknown, imported)."""
    return plus_minutes(e.reported_at or imported_at, e.sla_minutes) if e.sla_minutes else None


def _walk(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root) / f for f in sorted(files) if not f.startswith(".")]
    return out


def _read_manifest_into(path: Path, entries: list[Entry], bad: list[Skipped], policy: Policy,
                        allow_outside: bool, extra: tuple[str, ...] = ()) -> None:
    try:
        for row in read_manifest(path, policy, allow_outside=allow_outside, extra=extra):
            if isinstance(row, BadRow):
                bad.append(Skipped(row.origin, row.reason))
            else:
                entries.append(row)
    except (ManifestError, OSError, UnicodeDecodeError) as exc:
        raise ImportUsageError(str(exc)) from None
