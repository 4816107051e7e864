"""Import media into the store: check each file from its bytes, copy it content-addressed, make an item.

The import unit is the row: a bad file or manifest row is reported with its reason and skipped,
every good one is imported, each in its own short transaction. The file is copied and checked before
the transaction (never holding the write lock across a slow file), and the copy is decoded, not the
source, so what is checked is what is kept. The media cache makes the row and its file appear
together (see storage/media_cache.py): a refused row or a crash leaves no file behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlite_utils import Database

from blurring.decode import verify_image
from blurring.errors import MediaError
from blurring.sniff import SNIFF_BYTES, open_regular, sniff
from blurring.video import probe_video
from moderator.clock import now_iso, plus_minutes
from moderator.domain import MediaKind, Policy
from moderator.manifest import BadRow, Entry, ManifestError, is_manifest, read_manifest
from moderator.policy import load_policy
from storage import audit
from storage import items as items_repo
from storage.media_cache import MediaCache, Staged
from storage.store import Store

MAX_IMAGE_BYTES = 100 * 1024 * 1024
MAX_VIDEO_BYTES = 2 * 1024 * 1024 * 1024
MAX_PIXELS = 100_000_000


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
            allow_outside: bool = False) -> tuple[list[Entry], list[Skipped]]:
    """Expand folders (recursively) and manifests into entries; raise ImportUsageError on bad paths.

    policy: checks manifest categories (None: the built-in policy). allow_outside: manifest paths may
    be absolute or leave the manifest's folder.
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
            _read_manifest_into(p, entries, bad, policy, allow_outside)
        else:
            entries.append(Entry(path=p, origin=str(p)))
    return entries, bad


def check_file(path: Path) -> Checked:
    """Validate a media file from its bytes; raise MediaError with a reason."""
    with open_regular(path) as f:
        kind, mime, size = _classify(f)
    return _decode_check(path, kind, mime, size)


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
        raise MediaError("not an image or video (unrecognised bytes)")
    kind, mime = found
    _check_size(kind, size)
    return kind, mime, size


def _check_size(kind: MediaKind, size: int) -> None:
    limit = MAX_IMAGE_BYTES if kind is MediaKind.IMAGE else MAX_VIDEO_BYTES
    if size > limit:
        raise MediaError(f"file too large: {size // 2**20} MB exceeds {limit // 2**20} MB")


def _decode_check(path: Path, kind: MediaKind, mime: str, size: int) -> Checked:
    if kind is MediaKind.IMAGE:
        info = verify_image(path, max_pixels=MAX_PIXELS)
        return Checked(kind, mime, info.width, info.height, None, size)
    v = probe_video(path)
    return Checked(kind, mime, v.width, v.height, v.duration_s, size)


def import_paths(store: Store, paths: Iterable[str | Path], actor: str,
                 progress: Callable[[int, int], None] | None = None, *,
                 policy: Policy | None = None, allow_outside: bool = False) -> ImportReport:
    """Import every good file and manifest row, skip (and name) every bad one: never a crash half-way."""
    entries, bad = collect(paths, policy, allow_outside=allow_outside)
    report = ImportReport(skipped=list(bad))
    cache = MediaCache(store.media_dir)
    for n, entry in enumerate(entries, 1):
        try:
            report.imported.append(_import_one(store, cache, entry, actor))
        except MediaError as exc:
            report.skipped.append(Skipped(entry.origin, exc.reason))
        if progress:
            progress(n, len(entries))
    return report


def _import_one(store: Store, cache: MediaCache, entry: Entry, actor: str) -> str:
    if entry.external_id:  # refused before any copy; checked again under the write lock
        _refuse_duplicate(store.db, None, entry)
    staged, kind = _stage(cache, entry.path)
    sha = staged.sha256
    try:
        _refuse_duplicate(store.db, sha, entry)
        _check_size(kind, staged.size)  # the file may have grown since its size was read
        checked = _decode_check(staged.path, kind, staged.mime, staged.size)

        def write(db: Database) -> str:
            _refuse_duplicate(db, sha, entry)
            item_id = str(uuid.uuid4())
            items_repo.insert_media(db, _media_row(sha, staged.final, checked))
            items_repo.insert_item(db, _item_row(item_id, sha, entry))
            audit.append(db, actor, "import", item_id, {"sha256": sha, "origin": entry.origin},
                         audit.item_records(item_id))
            return item_id

        item_id = store.write(write)
    except BaseException:
        cache.discard(staged)
        raise
    cache.commit(staged)
    return item_id


def _stage(cache: MediaCache, path: Path) -> tuple[Staged, MediaKind]:
    """Copy a regular file into the cache's staging area, after the checks its head allows."""
    with open_regular(path) as f:
        kind, mime, _size = _classify(f)
        f.seek(0)
        limit = MAX_IMAGE_BYTES if kind is MediaKind.IMAGE else MAX_VIDEO_BYTES
        try:
            staged = cache.stage(f, mime, max_bytes=limit)
        except OSError as exc:
            raise MediaError(f"cannot copy file: {exc.strerror or exc}") from None
    return staged, kind


def _refuse_duplicate(db: Database, sha: str | None, entry: Entry) -> None:
    existing = sha and items_repo.item_id_for_sha(db, sha)
    if existing:
        raise MediaError(f"duplicate of item {existing} (same content already imported)")
    if entry.external_id and (other := items_repo.item_id_for_external(db, entry.external_id)):
        raise MediaError(f"external_id {entry.external_id} already imported as item {other}")


def _media_row(sha: str, cached: Path, c: Checked) -> dict:
    return {"sha256": sha, "path": str(cached), "mime": c.mime, "kind": c.kind.value, "width": c.width,
            "height": c.height, "duration_s": c.duration_s, "bytes": c.size, "added_at": now_iso()}


def _item_row(item_id: str, sha: str, e: Entry) -> dict:
    imported_at = now_iso()
    due = plus_minutes(e.reported_at or imported_at, e.sla_minutes) if e.sla_minutes else None
    return {"id": item_id, "sha256": sha, "external_id": e.external_id, "source_name": e.path.name,
            "category": e.category, "priority": e.priority, "reason": e.reason,
            "report_count": e.report_count, "reported_at": e.reported_at, "sla_minutes": e.sla_minutes,
            "sla_due_at": due, "imported_at": imported_at, "status": "pending"}


def _walk(folder: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(root) / f for f in sorted(files) if not f.startswith(".")]
    return out


def _read_manifest_into(path: Path, entries: list[Entry], bad: list[Skipped], policy: Policy,
                        allow_outside: bool) -> None:
    try:
        for row in read_manifest(path, policy, allow_outside=allow_outside):
            if isinstance(row, BadRow):
                bad.append(Skipped(row.origin, row.reason))
            else:
                entries.append(row)
    except (ManifestError, OSError, UnicodeDecodeError) as exc:
        raise ImportUsageError(str(exc)) from None
