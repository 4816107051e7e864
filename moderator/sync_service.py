"""The desk's sync with a team hub, one step at a time: each step blocks on the network and the store,
so the desk runs it on a worker (never the GUI thread) and `moderator sync` inline; each returns a
SyncResult: the queue's Changes (items that arrived, left or were decided elsewhere), a SyncStatus and
the step's counts. Steps of one service are serialised by a lock; `last_status` is a plain attribute the
GUI thread may read at any time (no I/O).

Offline first: an unreachable hub never loses anything (decisions wait in the outbox, leases are kept)
and starts an exponential back-off with full jitter (moderator.sync_backoff); until it is due, steps
make no network call and report offline. Docs: docs/HUB.md, "The desk's sync client".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator import sync_banks, sync_media, sync_push
from moderator.clock import now_iso, parse_iso, utc_now
from moderator.domain import Changes, ItemChange, ItemField, ItemStatus, Policy
from moderator.hub_config import HubConfig
from moderator.policy import PolicyError
from moderator.sync_backoff import Backoff
from storage import audit
from storage import items as items_repo
from storage import sync as sync_repo
from storage.hub_client import HubAuthError, HubClient, HubError, HubRefused, HubUnreachable
from storage.store import Store

KEEP_IN_HAND = 20
MAX_PER_CALL = 100  # the contract's bound on one lease request
ROUNDS_PER_PULL = 5  # lease calls per pull at most: a hub serving only refused media cannot spin us


@dataclass(frozen=True)
class Conflict:
    decision_uuid: str
    item_id: str
    reason: str
    at: str


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar shows. online: the last call reached the hub (False before any call)."""

    hub_url: str
    online: bool = False
    unsynced: int = 0  # decisions of hub items not yet delivered
    held: int = 0  # leases held (items in hand, and decided items whose decisions are on their way)
    in_hand: int = 0  # held leases whose item is still open here
    rejected: int = 0  # decisions the hub refused for good (kept, with its reason)
    local_only: int = 0  # decisions of locally imported items: no hub receives them
    last_error: str | None = None
    retry_in_s: float = 0.0  # seconds until the back-off lets the next call through
    conflicts: tuple[Conflict, ...] = ()


@dataclass(frozen=True)
class SyncResult:
    changes: Changes
    status: SyncStatus
    counts: dict[str, int] = field(default_factory=dict)


class SyncService:
    def __init__(self, store: Store, policy: Policy, actor: str, hub: HubConfig, *, keep: int = KEEP_IN_HAND,
                 batch: int = sync_push.BATCH, backoff: Backoff | None = None, client: HubClient | None = None):
        if not 1 <= batch <= sync_push.BATCH:
            raise ValueError(f"batch must be 1..{sync_push.BATCH}, got {batch}")
        self.store, self.policy, self.actor, self.hub = store, policy, actor, hub
        self.keep, self.batch = keep, batch
        self.backoff = backoff or Backoff()
        self._client = client or HubClient(hub.url, hub.token, store.write(sync_repo.ensure_desk_id))
        self._lock = threading.Lock()
        self._online = False
        self._error: str | None = None
        self.last_status = SyncStatus(hub.url)

    def close(self) -> None:
        self._client.close()

    # -- the steps ----------------------------------------------------------------------------
    def pull_leases(self) -> SyncResult:
        """Keep `keep` items in hand: finish leases still fetching their media, then lease more."""
        return self._step(self._pull_leases)

    def renew_leases(self, *, all_held: bool = False) -> SyncResult:
        """Renew held leases of open items (and of decided items whose decisions are not delivered yet)
        once half their time is used (all_held: every one now). A lease the hub no longer holds for us
        takes its undecided item out of the queue (status released)."""
        return self._step(lambda: self._renew(all_held))

    def push(self) -> SyncResult:
        """Deliver every undelivered decision of hub items, in order, in batches."""
        return self._step(self._push)

    def pull_banks(self) -> SyncResult:
        return self._step(self._pull_banks)

    def pull_policy(self) -> SyncResult:
        return self._step(self._pull_policy)

    def sync_round(self) -> SyncResult:
        """One round of everything: push, renew, pull leases, banks, policy. Stops at the first step
        that fails (the back-off then holds the rest back too)."""
        results = []
        for step in (self._push, lambda: self._renew(False), self._pull_leases, self._pull_banks, self._pull_policy):
            results.append(self._step(step))
            if not self.backoff.ready():
                break
        return _merge(results, self.last_status)

    def release_all(self) -> SyncResult:
        """On quit: hand back the lease of every item nobody here has decided (decided items keep
        theirs until their decisions are delivered). Tried even while backing off."""
        return self._step(self._release_all, force=True)

    def return_item(self, item_id: str) -> SyncResult:
        """A skip: hand back the lease of this one undecided item, so another desk can take it (the
        item leaves this desk's queue, status released); nothing when this desk holds none for it."""
        return self._step(lambda: self._return_item(item_id))

    def status(self) -> SyncStatus:
        """Counts read from the store now (a worker call; the GUI thread reads last_status)."""
        with self._lock:
            return self._status()

    # -- step bodies (run under the lock) -----------------------------------------------------------
    def _pull_leases(self) -> tuple[Changes, dict[str, int]]:
        changes: list[ItemChange] = []
        counts = {"leased": 0, "refused": 0}
        self._take(sync_repo.leases(self.store.db, sync_repo.FETCHING), changes, counts)
        for _ in range(ROUNDS_PER_PULL):
            want = min(self.keep - sync_repo.in_hand(self.store.db), MAX_PER_CALL)
            if want <= 0:
                break
            leases = self._client.lease(want)
            if not leases:
                break
            new = set(self.store.write(sync_repo.record_leases, leases))
            self._take([x for x in sync_repo.leases(self.store.db, sync_repo.FETCHING) if x.lease_id in new],
                       changes, counts)
        return _changes(changes, f"leased {counts['leased']}"), counts

    def _take(self, leases: list[sync_repo.Lease], changes: list[ItemChange], counts: dict[str, int]) -> None:
        for lease in leases:
            if sync_repo.refused_before(self.store.db, lease.item_id, lease.sha256):
                # Refused (and returned) once already: held unseen until it expires, so the hub does not
                # hand it straight back to us every round.
                self.store.write(sync_repo.set_lease_state, lease.lease_id, sync_repo.REFUSED,
                                 reason="refused before; held unseen until the lease expires")
                counts["refused_again"] = counts.get("refused_again", 0) + 1
                continue
            if _skipped_here(self.store.db, lease.item_id):
                # Skipped on this desk a moment ago: straight back, so another desk can take it.
                returned = sync_media.return_lease(self._client, lease.lease_id)
                self.store.write(sync_repo.set_lease_state, lease.lease_id,
                                 sync_repo.RETURNED if returned else sync_repo.EXPIRED, reason="skipped here")
                counts["returned_skipped"] = counts.get("returned_skipped", 0) + 1
                continue
            change = sync_media.take_lease(self.store, self._client, self.policy, lease, self.actor)
            counts["leased" if change else "refused"] += 1
            if change:
                changes.append(change)

    def _renew(self, all_held: bool) -> tuple[Changes, dict[str, int]]:
        self.store.write(sync_repo.settle_decided)
        counts, lost = {"renewed": 0, "expired": 0}, []
        for lease in sync_repo.to_renew(self.store.db):
            if not (all_held or _half_used(lease)):
                continue
            try:
                expires_at = self._client.renew(lease.lease_id)
            except HubRefused as exc:
                if isinstance(exc, HubAuthError):
                    raise
                lost.append((lease, sync_repo.EXPIRED, exc.detail))
                continue
            self.store.write(sync_repo.set_lease_state, lease.lease_id, sync_repo.HELD, expires_at=expires_at)
            counts["renewed"] += 1
        changes = self.store.write(_let_go, lost, self.actor)
        counts["expired"] = len(lost)
        return _changes(changes, f"renewed {counts['renewed']}, expired {counts['expired']}"), counts

    def _release_all(self) -> tuple[Changes, dict[str, int]]:
        done = []
        for lease in sync_repo.to_return(self.store.db):
            returned = sync_media.return_lease(self._client, lease.lease_id)
            done.append((lease, sync_repo.RETURNED if returned else sync_repo.EXPIRED, "returned on quit"))
        changes = self.store.write(_let_go, done, self.actor)
        return _changes(changes, f"returned {len(done)}"), {"returned": len(done)}

    def _return_item(self, item_id: str) -> tuple[Changes, dict[str, int]]:
        done = []
        for lease in sync_repo.to_return(self.store.db):
            if lease.item_id == item_id:
                returned = sync_media.return_lease(self._client, lease.lease_id)
                done.append((lease, sync_repo.RETURNED if returned else sync_repo.EXPIRED, "skipped"))
        changes = self.store.write(_let_go, done, self.actor)
        return _changes(changes, f"returned {len(done)}"), {"returned": len(done)}

    def _push(self) -> tuple[Changes, dict[str, int]]:
        total = sync_push.PushOutcome()
        while rows := sync_repo.unsent(self.store.db, self.batch):
            outcome = sync_push.push_batch(self.store, self._client, rows, self.actor)
            total.add(outcome)
            if not any(outcome.counts.values()):
                break  # nothing was settled: never loop on the same rows
        counts = {"pushed": sum(total.counts.values()), **total.counts}
        return _changes(total.conflicts, f"pushed {counts['pushed']}"), counts

    def _pull_banks(self) -> tuple[Changes, dict[str, int]]:
        outcome = sync_banks.pull_banks(self.store, self._client)
        counts = {"bank_version": outcome.version, "bank_entries_added": outcome.added,
                  "bank_entries_removed": outcome.removed, "banks_created": len(outcome.created)}
        changed = bool(outcome.added or outcome.created)
        return Changes(banks=changed, note="; ".join(outcome.skipped[:3])), counts

    def _pull_policy(self) -> tuple[Changes, dict[str, int]]:
        version = sync_banks.pull_policy(self.store, self._client)
        return Changes(note=f"hub policy {version}" if version else ""), {"policy_updated": int(bool(version))}

    # -- plumbing ---------------------------------------------------------------------------------
    def _step(self, body: Callable[[], tuple[Changes, dict[str, int]]], *, force: bool = False) -> SyncResult:
        with self._lock:
            if not force and not self.backoff.ready():
                self.last_status = self._status()
                return SyncResult(Changes(), self.last_status, {})
            changes, counts, calls = Changes(), {}, self._client.calls
            try:
                changes, counts = body()
            except HubUnreachable as exc:
                self._failed(str(exc), offline=True)
            except HubError as exc:  # refused: the hub is there and said no (a 401 says run login)
                hint = " (run `moderator login --hub URL` again)" if isinstance(exc, HubAuthError) else ""
                self._failed(f"{exc}{hint}", offline=False)
            except (PolicyError, ValueError) as exc:
                self._failed(f"hub sent something unusable: {exc}", offline=False)
            else:
                if self._client.calls != calls:  # the hub answered: whatever failed before is over
                    self.backoff.succeeded()
                    self._online, self._error = True, None
            self.last_status = self._status()
            return SyncResult(changes, self.last_status, counts)

    def _failed(self, error: str, *, offline: bool) -> None:
        self.backoff.failed()
        self._online = not offline
        self._error = " ".join(error.split())

    def _status(self) -> SyncStatus:
        db = self.store.db
        counts = sync_repo.counts(db)
        conflicts = tuple(Conflict(*c) for c in sync_repo.conflicts(db))
        return SyncStatus(self.hub.url, self._online, counts["unsynced"], sync_repo.held_count(db),
                          sync_repo.in_hand(db), counts["rejected"], counts["local_only"], self._error,
                          round(self.backoff.wait_s(), 3), conflicts)


def _let_go(db: Db, leases: list[tuple[sync_repo.Lease, str, str]], actor: str) -> list[ItemChange]:
    """Leases the hub no longer holds for us (returned or expired): their undecided items leave the
    queue (status released), audited."""
    changes = []
    for lease, state, reason in leases:
        sync_repo.set_lease_state(db, lease.lease_id, state, reason=reason)
        row = db.execute("SELECT status FROM items WHERE id = ?", (lease.item_id,)).fetchone()
        if row is None or row[0] not in sync_repo.OPEN or sync_repo.lease_for_item(db, lease.item_id) != lease.lease_id:
            continue
        items_repo.set_status(db, lease.item_id, ItemStatus.RELEASED)
        audit.append(db, actor, f"hub_lease_{state}", lease.item_id, {"lease_id": lease.lease_id, "reason": reason},
                     [("item_state", lease.item_id)])
        changes.append(ItemChange(lease.item_id, frozenset({ItemField.STATUS}), ItemStatus.RELEASED))
    return changes


def _skipped_here(db: Db, item_id: str) -> bool:
    """The item is hidden on this desk by a skip (items.skip_until, migration 0009) right now."""
    row = db.execute("SELECT skip_until FROM items WHERE id = ?", (item_id,)).fetchone()
    return row is not None and row[0] is not None and row[0] > now_iso()


def _half_used(lease: sync_repo.Lease) -> bool:
    """Renew once half the lease's time is gone (its length measured from when we last got it)."""
    try:
        expires = parse_iso(lease.expires_at)
        since = parse_iso(lease.item.get("_received_at") or lease.expires_at)
    except ValueError:
        return True
    left = (expires - utc_now()).total_seconds()
    return left <= max((expires - since).total_seconds(), 0) / 2


def _changes(item_changes: list[ItemChange], note: str) -> Changes:
    ids = tuple(dict.fromkeys(c.item_id for c in item_changes))
    return Changes(items=ids, queue=bool(ids), note=note, item_changes=tuple(item_changes))


def _merge(results: list[SyncResult], status: SyncStatus) -> SyncResult:
    item_changes = tuple(c for r in results for c in r.changes.item_changes)
    counts: dict[str, Any] = {}
    for r in results:
        counts.update(r.counts)
    changes = Changes(items=tuple(dict.fromkeys(c.item_id for c in item_changes)),
                      queue=any(r.changes.queue for r in results), banks=any(r.changes.banks for r in results),
                      note="; ".join(n for r in results if (n := r.changes.note)), item_changes=item_changes)
    return replace(SyncResult(changes, status, counts))
