"""The QA demo (`moderator desk --demo --qa`): two demo moderators decide some demo items, and the
analyst gets a QA batch of them, so a newcomer sees the blind re-review without setting anything up.

Only on the demo store, and only once per analyst: an analyst who has had any QA task keeps theirs.
"""

from __future__ import annotations

from moderator.domain import Policy
from moderator.qa_service import Batch, sample_batch
from moderator.review import ReviewService
from storage import items as items_repo
from storage import qa as qa_repo
from storage.store import Store

# (demo item, moderator, label, handle ms): plausible calls, and a few a QA analyst may well dispute.
DECISIONS = (
    ("demo-005", "demo-mod-ana", "no_violation", 6400),
    ("demo-007", "demo-mod-ana", "spam", 3100),
    ("demo-008", "demo-mod-ben", "no_violation", 9800),
    ("demo-010", "demo-mod-ben", "spam", 1200),
    ("demo-011", "demo-mod-ana", "no_violation", 4300),
    ("demo-012", "demo-mod-ben", "violence_gore", 15200),
    ("demo-013", "demo-mod-ben", "hate_symbol", 7700),
    ("demo-014", "demo-mod-ana", "spam", 2600),
)
SEED, COUNT = 2026, 6


def ensure_qa_demo(store: Store, policy: Policy, analyst: str) -> Batch | None:
    """Decide the demo items above (those still open) and sample a batch for `analyst`; None when the
    analyst has had QA tasks before."""
    if qa_repo.tasks(store.db, analyst=analyst):
        return None
    by_external = {i.external_id: i for i in items_repo.queue(store.db)}
    for external_id, moderator, label, ms in DECISIONS:
        item = by_external.get(external_id)
        if item is not None and moderator != analyst:
            ReviewService(store, policy, moderator).decide(item.id, label, handle_ms=ms)
    return sample_batch(store, analyst, "random", SEED, count=COUNT)
