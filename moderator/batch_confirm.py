"""When a grid batch asks before it is written: the rule, from the policy's labels and the user's
settings, so every view (and a test) asks the same question; and which items a batch may still cover
when it is written. Pure, no Qt.

A batch is fast by design; these are the cases where one key press could do a lot of harm: many
items at once, a label that escalates (sends items to a specialist team), or a removal severe enough
to be reported onward.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from moderator.clock import parse_iso
from moderator.domain import Action, ItemStatus, Label, Policy
from moderator.settings import Settings

SEVERE_REMOVAL = 3  # a remove label at or above this severity asks first (sexual, gore, hate in the shipped policy)


def confirm_reason(policy: Policy, settings: Settings, label_name: str, count: int) -> str | None:
    """Why a batch of `count` items labelled `label_name` needs a confirmation, or None when it
    does not. KeyError for a label the policy does not know."""
    label = policy.label(label_name)
    reasons = []
    if count > settings.batch_confirm_over:
        reasons.append(f"more than {settings.batch_confirm_over} items")
    if label.action is Action.ESCALATE:
        reasons.append("the label escalates")
    elif is_severe_removal(label):
        reasons.append(f"a removal of severity {label.severity}")
    return "; ".join(reasons) or None


def is_severe_removal(label: Label) -> bool:
    return label.action is Action.REMOVE and label.severity >= SEVERE_REMOVAL


# -- held at commit time ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Holding:
    """What the store says of one item of a batch when the batch is written."""

    item_id: str
    status: ItemStatus
    from_hub: bool
    lease_state: str | None = None  # the item's latest lease (storage.sync states), None: no lease
    lease_expires_at: str | None = None


def not_held(items: Iterable[Holding], now: datetime) -> list[str]:
    """The hub items of a batch this desk no longer holds when the batch is written: their latest lease
    is not held, or has run out (expired before the sync noticed). A lease may end between the
    selection and the commit; the hub would refuse such a decision, and the item may be on another
    desk already. Local items hold no lease: a batch may cover them whatever their status (a decided
    one is decided again, superseding its standing decision)."""
    out = []
    for h in items:
        running = (h.lease_state == "held" and h.lease_expires_at is not None
                   and parse_iso(h.lease_expires_at) > now)
        if h.from_hub and not running:
            out.append(h.item_id)
    return out


def not_held_refusal(gone: int, total: int) -> str:
    """The one line a batch is refused with when some of its items are no longer held (nothing written).
    Refusing the whole batch, not labelling the rest: the moderator chose, and maybe confirmed, all of
    them; labelling a part of it silently is a different decision than the one they made."""
    if gone == total:
        what = "The item is" if total == 1 else f"All {total} items are"
    else:
        what = f"{gone} of the {total} items {'is' if gone == 1 else 'are'}"
    return f"{what} no longer held by this desk (the hub lease ended): nothing was labelled, select again"
