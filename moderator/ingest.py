"""Import media into the store: check each file from its bytes, copy it content-addressed, make an item.

A bad file is reported with its reason and skipped; each good file is committed in its own
transaction, so a failure never leaves a partial row behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from blurring.decode import verify_image
from blurring.errors import MediaError
from blurring.sniff import SNIFF_BYTES, sniff
from blurring.video import probe_video
from moderator.clock import now_iso, plus_minutes
from moderator.domain import MediaKind
from moderator.manifest import BadRow, Entry, ManifestError, is_manifest, read_manifest
from storage import audit
from storage import items as items_repo
from storage.media_cache import MediaCache
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


def collect(paths: Iterable[str | Path]) -> tuple[list[Entry], list[Skipped]]:
    """Expand folders (recursively) and manifests into entries; raise ImportUsageError on bad paths."""
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
            _read_manifest_into(p, entries, bad)
        else:
            entries.append(Entry(path=p, origin=str(p)))
    return entries, bad


def check_file(path: Path) -> Checked:
    """Validate a media file from its bytes; raise MediaError with a reason."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror}") from None
    if size == 0:
        raise MediaError("empty file")
    found = sniff(head)
    if found is None:
        raise MediaError("not an image or video (unrecognised bytes)")
    kind, mime = found
    limit = MAX_IMAGE_BYTES if kind is MediaKind.IMAGE else MAX_VIDEO_BYTES
    if size > limit:
        raise MediaError(f"file too large: {size // 2**20} MB exceeds {limit // 2**20} MB")
    if kind is MediaKind.IMAGE:
        info = verify_image(path, max_pixels=MAX_PIXELS)
        return Checked(kind, mime, info.width, info.height, None, size)
    v = probe_video(path)
    return Checked(kind, mime, v.width, v.height, v.duration_s, size)


def import_paths(store: Store, paths: Iterable[str | Path], actor: str,
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    entries, bad = collect(paths)
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
    checked = check_file(entry.path)
    sha, cached = cache.add(entry.path, checked.mime)

    def write(db: Database) -> str:
        existing = items_repo.item_id_for_sha(db, sha)
        if existing:
            raise MediaError(f"duplicate of item {existing} (same content already imported)")
        if entry.external_id and (other := items_repo.item_id_for_external(db, entry.external_id)):
            raise MediaError(f"external_id {entry.external_id} already imported as item {other}")
        item_id = str(uuid.uuid4())
        items_repo.insert_media(db, _media_row(sha, cached, checked))
        items_repo.insert_item(db, _item_row(item_id, sha, entry))
        audit.append(db, actor, "import", item_id, {"sha256": sha, "origin": entry.origin})
        return item_id

    return store.write(write)


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


def _read_manifest_into(path: Path, entries: list[Entry], bad: list[Skipped]) -> None:
    try:
        for row in read_manifest(path):
            if isinstance(row, BadRow):
                bad.append(Skipped(row.origin, row.reason))
            else:
                entries.append(row)
    except (ManifestError, OSError, UnicodeDecodeError) as exc:
        raise ImportUsageError(str(exc)) from None
