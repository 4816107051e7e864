"""Constructed history for the report tests: real item rows and decisions appended through
storage.decisions.append_decisions (the one writer) at chosen times, real exposure rows."""

from __future__ import annotations

import hashlib
import itertools
import uuid as uuidlib

from moderator.domain import Action, Decision, DecisionSource, Policy
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage.store import Store

_counter = itertools.count()


class History:
    """Writes a constructed history into `store` (items, decisions, undo rows, exposure events)."""

    def __init__(self, store: Store, policy: Policy):
        self.store, self.policy = store, policy

    def item(self, *, category: str | None = None, sla_due_at: str | None = None,
             reported_at: str = "2024-05-01T00:00:00.000Z") -> str:
        n = next(_counter)
        sha = hashlib.sha256(f"report-item-{n}-{uuidlib.uuid4()}".encode()).hexdigest()
        item_id = str(uuidlib.uuid4())

        def write(db):
            items_repo.insert_media(db, {"sha256": sha, "path": f"media/{sha}.png", "mime": "image/png",
                                         "kind": "image", "width": 8, "height": 8, "bytes": 64,
                                         "added_at": reported_at})
            items_repo.insert_item(db, {"id": item_id, "sha256": sha, "category": category,
                                        "reported_at": reported_at, "sla_due_at": sla_due_at,
                                        "imported_at": reported_at})
        self.store.write(write)
        return item_id

    def decide(self, item_id: str, label: str | None, actor: str, at: str, *, handle_ms: int = 0,
               source: DecisionSource = DecisionSource.MANUAL, qa_of: str | None = None,
               batch_id: str | None = None) -> Decision:
        """A decision with `label` (None: an escalation without a label)."""
        action = self.policy.label(label).action if label else Action.ESCALATE
        d = Decision(uuid=str(uuidlib.uuid4()), item_id=item_id, labels=(label,) if label else (),
                     action=action, actor=actor, decided_at=at, policy_version=self.policy.version,
                     source=source, handle_ms=handle_ms, batch_id=batch_id, qa_of=qa_of,
                     note=None if label else "needs a lead")
        return self.store.write(lambda db: decisions_repo.append_decisions(db, [d])).decision

    def qa(self, original: Decision, label: str, analyst: str, at: str) -> Decision:
        return self.decide(original.item_id, label, analyst, at, source=DecisionSource.QA, qa_of=original.uuid)

    def undo(self, target: Decision, at: str) -> Decision:
        d = Decision(uuid=str(uuidlib.uuid4()), item_id=target.item_id, labels=(), action=Action.UNDO,
                     actor=target.actor, decided_at=at, policy_version=self.policy.version,
                     source=target.source, supersedes=target.uuid, qa_of=target.qa_of)
        return self.store.write(lambda db: decisions_repo.append_decisions(db, [d])).decision

    def team(self, d: Decision, team: str) -> None:
        """The team a decision names, in the table `moderator decisions import` fills (0008_qa)."""
        self.store.write(lambda db: db.execute("INSERT INTO decision_teams (uuid, team) VALUES (?, ?)",
                                               (d.uuid, team)))

    def expose(self, item_id: str, actor: str, at: str, ms: int, *, kind: str = "peek",
               category: str | None = None) -> None:
        row = {"item_id": item_id, "actor": actor, "category": category, "started_at": at, "ms": ms,
               "kind": kind, "fraction": 1.0}
        self.store.write(lambda db: db["exposure_events"].insert(row))

    def decided(self, actor: str, label: str, at: str, *, handle_ms: int = 0, category: str | None = None,
                sla_due_at: str | None = None) -> Decision:
        """A new item and one decision on it."""
        return self.decide(self.item(category=category, sla_due_at=sla_due_at), label, actor, at,
                           handle_ms=handle_ms)
