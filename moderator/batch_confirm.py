"""When a grid batch asks before it is written: the rule, from the policy's labels and the user's
settings, so every view (and a test) asks the same question. Pure, no Qt.

A batch is fast by design; these are the cases where one key press could do a lot of harm: many
items at once, a label that escalates (sends items to a specialist team), or a removal severe enough
to be reported onward.
"""

from __future__ import annotations

from moderator.domain import Action, Label, Policy
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
