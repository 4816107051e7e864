"""What the facts panel shows beside an item's own fields: what stands on it (an escalation's target,
reason and note), what was decided before on the same media or the same reported account, and its bank
matches with each bank's kind (block: known violating, allow: known benign)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

from moderator import decision_log
from moderator.domain import Action, Decision, Item
from storage import decisions as decisions_repo
from storage import report_context as context_repo

MAX_PRIOR = 10  # other reports listed; the count says how many more there are
MAX_MATCHES = 10


@dataclass(frozen=True)
class PriorDecision:
    title: str  # the other item as a person names it (external id, file name), a bare id only without both
    why: str  # "same media" or "same account"
    labels: tuple[str, ...]
    action: Action
    decided_at: str
    actor: str


@dataclass(frozen=True)
class BankMatch:
    bank: str
    kind: str  # "block" (known violating) or "allow" (known benign)
    label: str
    distance: int
    description: str | None


@dataclass(frozen=True)
class ItemContext:
    standing: Decision | None = None
    prior: tuple[PriorDecision, ...] = ()
    prior_more: int = 0  # prior decisions beyond MAX_PRIOR
    matches: tuple[BankMatch, ...] = ()


def item_title(external_id: str | None, original_name: str | None, source_name: str | None, item_id: str) -> str:
    """How an item is named to a person: its report's id, else its file's name, else its id."""
    return external_id or original_name or source_name or item_id


def item_context(db: Db, item: Item) -> ItemContext:
    """The context of `item` as the store holds it now (a read: run it on a worker)."""
    rows = context_repo.related_items(db, item.id, item.sha256, item.reported_account)
    others = {r[0]: (item_title(r[1], r[2], r[3], r[0]), "same media" if r[4] else "same account")
              for r in sorted(rows, key=lambda r: not r[4])}
    per_item: dict[str, list[Decision]] = {}
    for d in decisions_repo.history_for_items(db, [item.id, *others]):
        per_item.setdefault(d.item_id, []).append(d)
    prior = []
    for other_id, (title, why) in others.items():
        d = decision_log.standing(per_item.get(other_id, []))
        if d is not None:
            prior.append(PriorDecision(title, why, d.labels, d.action, d.decided_at, d.actor))
    prior.sort(key=lambda p: p.decided_at, reverse=True)
    matches = tuple(BankMatch(*r) for r in context_repo.bank_matches(db, item.id, MAX_MATCHES))
    return ItemContext(decision_log.standing(per_item.get(item.id, [])), tuple(prior[:MAX_PRIOR]),
                       max(0, len(prior) - MAX_PRIOR), matches)
