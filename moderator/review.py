"""The review service: decide, escalate, skip and undo. Each returns the Changes it made.

Every call blocks until the store's writer has committed, so it runs on a worker thread in the desk
and inline in the CLI and tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlite_utils import Database

from moderator.clock import now_iso
from moderator.domain import Action, Changes, Decision, DecisionSource, Item, ItemStatus, Policy
from storage import audit
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage.store import Store

STATUS_FOR_ACTION = {
    Action.ALLOW: ItemStatus.DECIDED,
    Action.REMOVE: ItemStatus.DECIDED,
    Action.AGE_RESTRICT: ItemStatus.DECIDED,
    Action.ESCALATE: ItemStatus.ESCALATED,
}


class ReviewError(ValueError):
    pass


@dataclass
class ReviewService:
    store: Store
    policy: Policy
    actor: str

    # -- reads --------------------------------------------------------------------------------
    def queue(self, limit: int | None = None) -> list[Item]:
        return items_repo.queue(self.store.db, limit=limit)

    def item(self, item_id: str) -> Item:
        return items_repo.get_item(self.store.db, item_id)

    # -- writes -------------------------------------------------------------------------------
    def decide(self, item_id: str, label_name: str, *, handle_ms: int = 0, batch_id: str | None = None,
               source: DecisionSource = DecisionSource.MANUAL) -> Decision:
        try:
            label = self.policy.label(label_name)
        except KeyError:
            raise ReviewError(f"unknown label {label_name!r} in policy {self.policy.version}") from None
        return self._commit(item_id, (label.name,), label.action, handle_ms, batch_id, source, None)

    def escalate(self, item_id: str, note: str, *, handle_ms: int = 0) -> Decision:
        note = note.strip()
        if not note:
            raise ReviewError("an escalation needs a note")
        return self._commit(item_id, (), Action.ESCALATE, handle_ms, None, DecisionSource.MANUAL, note)

    def skip(self, item_id: str) -> Changes:
        def write(db: Database) -> None:
            _require_item(db, item_id)
            items_repo.set_status(db, item_id, ItemStatus.SKIPPED)
            audit.append(db, self.actor, "skip", item_id, {}, [("item_state", item_id)])

        self.store.write(write)
        return Changes(items=(item_id,), queue=True)

    def undo_last(self) -> Decision | None:
        """Supersede this actor's latest standing decision; None when there is nothing to undo."""

        def write(db: Database) -> Decision | None:
            target = decisions_repo.last_undoable(db, self.actor)
            if target is None:
                return None
            undo = self._new_decision(target.item_id, (), Action.UNDO, 0, target.batch_id,
                                      target.source, None, supersedes=target.uuid)
            standing = decisions_repo.current_for_item(db, target.item_id, undoing=target.uuid)
            status = STATUS_FOR_ACTION[standing.action] if standing else ItemStatus.PENDING
            decisions_repo.append_decision(db, undo, status)
            return undo

        return self.store.write(write)

    def record_exposure(self, item: Item, kind: str, started_at: str, ms: int, fraction: float = 1.0) -> None:
        row = {"item_id": item.id, "actor": self.actor, "category": item.category,
               "started_at": started_at, "ms": int(ms), "kind": kind, "fraction": float(fraction)}
        self.store.write(lambda db: db["exposure_events"].insert(row))

    # -- internals ----------------------------------------------------------------------------
    def _commit(self, item_id, labels, action, handle_ms, batch_id, source, note) -> Decision:
        def write(db: Database) -> Decision:
            _require_item(db, item_id)
            current = decisions_repo.current_for_item(db, item_id)
            ids, exposure_ms = decisions_repo.unassigned_exposure(db, item_id, self.actor)
            d = self._new_decision(item_id, labels, action, handle_ms, batch_id, source, note,
                                   supersedes=current.uuid if current else None, exposure_ms=exposure_ms)
            decisions_repo.append_decision(db, d, STATUS_FOR_ACTION[action])
            decisions_repo.assign_exposure(db, ids, d.uuid)
            return d

        return self.store.write(write)

    def _new_decision(self, item_id, labels, action, handle_ms, batch_id, source, note, *,
                      supersedes=None, exposure_ms=0) -> Decision:
        return Decision(
            uuid=str(uuid.uuid4()), item_id=item_id, labels=tuple(labels), action=action,
            actor=self.actor, decided_at=now_iso(), policy_version=self.policy.version,
            source=source, handle_ms=int(handle_ms), exposure_ms=int(exposure_ms),
            batch_id=batch_id, supersedes=supersedes, note=note,
        )


def _require_item(db: Database, item_id: str) -> None:
    if db.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
        raise ReviewError(f"no item {item_id!r}")
