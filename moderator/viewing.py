"""The viewing rules every view shares (viewer, grid, QA, CLI): what filter an item gets, whether a
reveal is allowed, and when a decision earns a calm screen. Pure functions, no Qt, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from moderator.domain import Action, FilterSpec, Item, Policy, Reveal
from moderator.policy import FILTER_LEVELS
from moderator.settings import Settings
from moderator.wellness import Today

REVEAL_KINDS = ("peek", "spotlight", "reveal")


def filter_spec(policy: Policy, settings: Settings, item: Item, user_extra_blur: int = 0) -> FilterSpec:
    """The item's filter: the policy's (its floors included) made stricter by the user's defaults.

    user_extra_blur (the blur keys) moves the blur from the user's default, never below the
    policy's blur and never above the top level; settings can only add protection."""
    policy_spec = policy.filter_for(item.category, item.suggested_label)
    own = FilterSpec(blur=settings.blur, grayscale=settings.grayscale, style=settings.style or None)
    spec = policy_spec.stricter(own)
    blur = max(policy_spec.blur, min(FILTER_LEVELS, spec.blur + user_extra_blur))
    return replace(spec, blur=blur)


def over_budget(settings: Settings, exposure_today_ms: int) -> bool:
    """True once today's unfiltered time reaches the daily budget (a budget of 0 is none)."""
    return Today(exposure_today_ms, 0, settings.daily_exposure_budget_s * 1000).over_budget  # the meter's rule


def reveal_refusal(policy: Policy, settings: Settings, item: Item, kind: str,
                   exposure_today_ms: int) -> str | None:
    """Why this kind of reveal ("peek", "spotlight", "reveal") of this item is not allowed now,
    or None when it is."""
    spec = filter_spec(policy, settings, item)
    return spec_refusal(spec, kind, over_budget(settings, exposure_today_ms))


def spec_refusal(spec: FilterSpec, kind: str, over: bool) -> str | None:
    """`reveal_refusal` for a view that already holds the item's spec (from `filter_spec`: the blur
    keys never change its `reveal`) and knows whether the budget is used up."""
    if kind not in REVEAL_KINDS:
        raise ValueError(f"unknown reveal kind {kind!r} (known: {', '.join(REVEAL_KINDS)})")
    if spec.reveal is Reveal.NONE:
        return "The policy does not allow revealing this item"
    if spec.reveal is Reveal.PEEK and kind != "peek":
        return "The policy allows only hold-to-peek for this item"
    if over and kind != "peek":
        return "Today's exposure budget is used up: only hold-to-peek is left"
    return None


def decision_severity(policy: Policy, settings: Settings, labels: Iterable[str], action: Action) -> int:
    """A decision's severity: its highest label's. An escalation without a label counts as high
    severity, and so does a label the policy no longer knows (a calm screen too many costs
    seconds; one too few is what the calm screen is for)."""
    known = {lb.name: lb.severity for lb in policy.labels}
    severities = [known.get(name, settings.high_severity) for name in labels]
    if not severities:
        severities = [settings.high_severity if action is Action.ESCALATE else 0]
    return max(severities)


def needs_calm_screen(policy: Policy, settings: Settings, labels: Iterable[str], action: Action) -> bool:
    """Whether a calm screen (palate cleanser) comes before the next item after this decision."""
    return settings.palate_cleanser and decision_severity(policy, settings, labels, action) >= settings.high_severity
