"""Putting media and items into the hub: the one write path `hub import` and the tests share.

Media files are content-addressed under the hub's data dir (`media/ab/<sha256>`); the row stores the
path relative to the data dir, so a data dir can be moved. The file is written (atomically) before
its row, so a row never names a missing file; a file whose row was rolled back is simply reused.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from moderator.clock import iso, now_iso, parse_iso
from moderator.manifest_context import CONTEXT_FIELDS, context_value
from storage.files import write_file
from upstream.schema import items, media

MEDIA_DIR = "media"


@dataclass(frozen=True)
class MediaInfo:
    """What the import's checks found out about a media file."""

    mime: str
    kind: str  # moderator.domain.MediaKind value
    width: int
    height: int
    duration_s: float | None = None


def media_relpath(sha256: str) -> str:
    return f"{MEDIA_DIR}/{sha256[:2]}/{sha256}"


def media_file(data_dir: Path, relpath: str) -> Path:
    """The file of a media row, refusing a path that would leave the data dir."""
    root = data_dir.resolve()
    path = (root / relpath).resolve()
    if root not in path.parents:
        raise ValueError(f"media path {relpath!r} is outside the hub's data dir")
    return path


def add_media(conn: Connection, data_dir: Path, content: bytes, info: MediaInfo) -> str:
    """Store `content` (checked by the caller) and its media row unless already there; its sha256."""
    sha256 = hashlib.sha256(content).hexdigest()
    if conn.execute(select(media.c.sha256).where(media.c.sha256 == sha256)).first() is not None:
        return sha256
    relpath = media_relpath(sha256)
    _write_once(media_file(data_dir, relpath), content)
    conn.execute(media.insert().values(sha256=sha256, path=relpath, mime=info.mime, kind=info.kind,
                                       width=info.width, height=info.height, duration_s=info.duration_s,
                                       bytes=len(content), added_at=now_iso()))
    return sha256


def _write_once(path: Path, content: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(content):
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_file(path, content)


def add_item(conn: Connection, sha256: str, *, external_id: str | None = None, source_name: str | None = None,
             category: str | None = None, priority: int = 0, reason: str | None = None,
             report_count: int = 1, reported_at: str | None = None, sla_due_at: str | None = None,
             imported_at: str | None = None, suggested_label: str | None = None,
             item_id: str | None = None, **context: str | None) -> str:
    """One pending item (a report) on media `sha256`; its id. Timestamps are normalised to the hub's
    one text form so they sort as text. `context`: the report's context fields (CONTEXT_FIELDS), checked
    as a manifest's are (moderator.manifest_context; ValueError naming the field)."""
    unknown = set(context) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"add_item: unknown context fields {sorted(unknown)}")
    checked = {name: context_value(name, context.get(name)) for name in CONTEXT_FIELDS}
    item_id = item_id or str(uuid.uuid4())
    conn.execute(items.insert().values(
        id=item_id, sha256=sha256, external_id=external_id, source_name=source_name, category=category,
        priority=priority, reason=reason, report_count=report_count, reported_at=_ts(reported_at),
        sla_due_at=_ts(sla_due_at), imported_at=_ts(imported_at) or now_iso(), status="pending",
        suggested_label=suggested_label, **checked))
    return item_id


def _ts(text: str | None) -> str | None:
    return iso(parse_iso(text)) if text else None
