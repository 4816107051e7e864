"""A leased item into the desk: its media downloaded into the private cache through the same checks as
a local import (moderator.ingest.check_file: sniffed from the bytes, size and pixel limits, decoded
whole), then the item written with the hub's id, in one transaction with its lease and audit entry.

A file that fails the checks is never shown: its lease is marked refused with the reason, audited, and
handed back to the hub. A download that breaks off (HubUnreachable) leaves the lease `fetching`, to be
tried again next round; a killed desk resumes the same way (the staged copy is swept at open).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from blurring.errors import MediaError
from blurring.sniff import MAX_VIDEO_BYTES, too_large
from moderator.clock import now_iso, parse_iso
from moderator.domain import ItemChange, ItemField, ItemStatus, Policy, normalise_category
from moderator.ingest import check_file
from moderator.manifest_context import CONTEXT_FIELDS, context_value
from storage import audit
from storage import items as items_repo
from storage import sync as sync_repo
from storage.hub_client import HubClient, HubRefused, HubUnreachable
from storage.media_cache import MediaCache, Staged
from storage.store import Store

_SHA256 = re.compile(r"[0-9a-f]{64}")


def take_lease(store: Store, client: HubClient, policy: Policy, lease: sync_repo.Lease, actor: str
               ) -> ItemChange | None:
    """Make a `fetching` lease's item reviewable here; None when it was refused (and returned).
    HubUnreachable propagates with the lease still fetching."""
    try:
        row = item_row(lease.item, policy)
    except MediaError as exc:
        return _refuse(store, client, lease, exc.reason, actor)
    media = items_repo.media_for_sha(store.db, lease.sha256)
    staged, media_row = None, None
    if media is None or not Path(media["media_path"]).is_file():
        try:
            staged, media_row = _download(store, client, lease)
        except MediaError as exc:
            return _refuse(store, client, lease, exc.reason, actor)
        except HubRefused as exc:  # the lease is no longer live, or the hub has no such media
            return _refuse(store, client, lease, f"media not served: {exc.detail}", actor)
    cache = MediaCache(store.media_dir)
    try:
        change = store.write(_write_item, lease, row, media_row, actor)
    except BaseException as exc:
        if staged is not None:
            cache.discard(staged)
        if isinstance(exc, MediaError):
            return _refuse(store, client, lease, exc.reason, actor)
        raise
    if staged is not None:
        cache.commit(staged)
    return change


def item_row(item: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """The local item row of a lease's item (hub id = local id); MediaError naming a bad field."""
    item_id, sha = item.get("id"), item.get("sha256")
    if not isinstance(item_id, str) or not item_id.strip() or len(item_id) > 200:
        raise MediaError(f"lease item id {item_id!r} is not usable")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise MediaError(f"lease item sha256 {sha!r} is not 64 lowercase hex digits")
    priority, count = item.get("priority", 0), item.get("report_count", 1)
    if not _is_int(priority) or not _is_int(count) or count < 1:
        raise MediaError(f"lease item priority/report_count {priority!r}/{count!r} are not whole numbers")
    due = item.get("sla_due_at")
    try:
        if due is not None:
            parse_iso(str(due))
    except ValueError:
        raise MediaError(f"lease item sla_due_at {due!r} is not a timestamp") from None
    try:  # checked as a manifest's: a caption with an escape sequence is the hub's bug, not shown here
        context = {name: context_value(name, item.get(name)) for name in CONTEXT_FIELDS}
    except ValueError as exc:
        raise MediaError(f"lease item {exc}") from None
    now = now_iso()
    category = item.get("category")
    return {**context, "id": item_id, "sha256": sha, "external_id": _text(item, "external_id"),
            "source_name": _text(item, "source_name"),
            "category": normalise_category(category) if isinstance(category, str) and category.strip() else None,
            "priority": priority, "reason": _text(item, "reason"), "report_count": count, "reported_at": None,
            "sla_minutes": None, "sla_due_at": due, "imported_at": now, "status": ItemStatus.PENDING.value,
            "origin": "hub", "hashed_at": now,  # routed once, on the hub: local banks never re-route it
            "suggested_label": suggested_label(item.get("matches") or [], policy)}


def suggested_label(matches: list[Any], policy: Policy) -> str | None:
    """The nearest match's label that is a policy label, as routing pre-selects it (matching._escalate)."""
    names = {lb.name for lb in policy.labels}
    ordered = sorted((m for m in matches if isinstance(m, dict)), key=lambda m: _distance(m.get("distance")))
    return next((m["label"] for m in ordered if m.get("label") in names), None)


def _download(store: Store, client: HubClient, lease: sync_repo.Lease) -> tuple[Staged, dict[str, Any]]:
    """Stream the bytes into the cache's staging area (never more than the largest media import takes),
    prove they are the content the lease names, then run the import's checks on the copy."""
    announced = lease.item.get("bytes")
    limit = MAX_VIDEO_BYTES
    if _is_int(announced) and announced > limit:
        raise too_large(announced, limit)
    cache = MediaCache(store.media_dir)
    with client.media(lease.sha256) as src:
        staged = cache.stage(src, str(lease.item.get("mime") or ""), max_bytes=limit)
    try:
        if staged.size > limit:
            raise too_large(staged.size, limit)
        if staged.sha256 != lease.sha256:
            raise MediaError("the hub's bytes do not match the item's sha256")
        checked = check_file(staged.path)
    except BaseException:
        cache.discard(staged)
        raise
    staged = replace(staged, mime=checked.mime, final=cache.path_for(staged.sha256, checked.mime))
    row = {"sha256": staged.sha256, "path": str(staged.final), "mime": checked.mime, "kind": checked.kind.value,
           "width": checked.width, "height": checked.height, "duration_s": checked.duration_s,
           "bytes": checked.size, "added_at": now_iso()}
    return staged, row


def _write_item(db: Db, lease: sync_repo.Lease, row: dict[str, Any], media_row: dict[str, Any] | None,
                actor: str) -> ItemChange | None:
    existing = db.execute("SELECT status FROM items WHERE id = ?", (row["id"],)).fetchone()
    sync_repo.set_lease_state(db, lease.lease_id, sync_repo.HELD)
    payload = {"lease_id": lease.lease_id, "sha256": lease.sha256, "expires_at": lease.expires_at}
    if existing is not None:  # leased again (it was returned or expired here before)
        if existing[0] != ItemStatus.RELEASED.value:
            return None
        items_repo.set_status(db, row["id"], ItemStatus.PENDING)
        audit.append(db, actor, "hub_lease", row["id"], {**payload, "again": True}, [("item_state", row["id"])])
        return ItemChange(row["id"], frozenset({ItemField.STATUS}), ItemStatus.PENDING)
    if media_row is not None:
        items_repo.insert_media(db, media_row)
    elif items_repo.media_for_sha(db, lease.sha256) is None:
        raise MediaError("the media row vanished while the item was written")
    if row["external_id"] and (other := items_repo.item_id_for_external(db, row["external_id"])):
        raise MediaError(f"external_id {row['external_id']} is already item {other} here")
    items_repo.insert_item(db, row)
    audit.append(db, actor, "hub_lease", row["id"], {**payload, "shared_media": media_row is None},
                 audit.item_records(row["id"]))
    return ItemChange(row["id"], frozenset({ItemField.STATUS}), ItemStatus.PENDING)


def _refuse(store: Store, client: HubClient, lease: sync_repo.Lease, reason: str, actor: str) -> None:
    """Record why the item is not shown, then hand the lease back (an unreachable hub lets it expire)."""
    def write(db: Db) -> None:
        sync_repo.set_lease_state(db, lease.lease_id, sync_repo.REFUSED, reason=reason)
        audit.append(db, actor, "hub_media_refused", lease.item_id,
                     {"lease_id": lease.lease_id, "sha256": lease.sha256, "reason": reason})

    store.write(write)
    try:
        return_lease(client, lease.lease_id)
    except HubUnreachable:
        pass  # refused here all the same; the hub takes the item back when the lease expires


def return_lease(client: HubClient, lease_id: str) -> bool:
    """DELETE the lease; False when the hub no longer knows it as live (it expired or was returned)."""
    try:
        client.release(lease_id)
    except HubRefused:
        return False
    return True


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) and value else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _distance(value: Any) -> float:
    return float(value) if _is_int(value) or isinstance(value, float) else float("inf")
