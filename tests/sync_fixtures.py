"""Helpers for the desk-sync tests: a desk (a real Store and its SyncService) on a real hub process,
and reads of what the hub stored, straight from its database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from moderator.hub_config import HubConfig
from moderator.policy import load_policy
from moderator.review import ReviewService
from moderator.sync_backoff import Backoff
from moderator.sync_service import SyncService
from storage import audit, audit_check
from storage.store import Store
from tests.hub_fixtures import HubProcess, free_port  # noqa: F401 (free_port: the sync tests take it from here)


@contextmanager
def desk(folder: Path, hub: HubProcess, token: str | None = None, *, keep: int = 20, batch: int = 500,
         backoff: Backoff | None = None) -> Iterator[tuple[Store, SyncService, ReviewService]]:
    """A desk's store in `folder` syncing with `hub` as the moderator (or `token`'s user)."""
    store = Store(folder)
    policy = load_policy()
    config = HubConfig(hub.url, token or hub.tokens["moderator"], "env")
    service = SyncService(store, policy, "tester", config, keep=keep, batch=batch,
                          backoff=backoff or Backoff(base_s=0.05, cap_s=0.5))
    try:
        yield store, service, ReviewService(store, policy, "tester")
    finally:
        service.close()
        store.close()


def hub_rows(hub: HubProcess, table: str, *columns: str, order: str = "seq") -> list[tuple]:
    """Rows of one hub table (the named columns), in `order`."""
    from upstream import schema

    t = getattr(schema, table)
    engine = hub.engine()
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(*(t.c[c] for c in columns)).order_by(t.c[order]))]
    finally:
        engine.dispose()


def hub_decisions(hub: HubProcess, desk_id: str | None = None) -> list[tuple[str, str, str, str | None]]:
    """(uuid, item_id, status, lease_id) of every decision the hub holds (from `desk_id`), in arrival order."""
    rows = hub_rows(hub, "decisions", "uuid", "item_id", "status", "lease_id", "desk")
    return [r[:4] for r in rows if desk_id is None or r[4] == desk_id]


def outbox(store: Store) -> list[tuple[int, str, str | None, int, str | None]]:
    """(seq, decision uuid, sent_at, attempts, last_error) of every outbox row, in seq order."""
    sql = "SELECT seq, ref, sent_at, attempts, last_error FROM outbox ORDER BY seq"
    return [tuple(r) for r in store.db.execute(sql)]


def audit_intact(store: Store) -> list[str]:
    """The audit checker's problems (none: the log, its rows and its anchor agree)."""
    report = audit_check.check(store.db, audit.anchor_path(store.path), None)
    return [p.message for p in report.problems]


def decide_and_undo(review: ReviewService, item_ids: list[str], rounds: int, label: str = "spam") -> int:
    """`rounds` times: one batch decision on every item, then its undo (one row per item each).
    Many decision rows on few leased items; returns how many rows were written."""
    written = 0
    for _ in range(rounds):
        written += len(review.decide_batch(item_ids, label).decisions)
        written += len(review.undo_last().decisions)
    return written
