"""The viewing rules (moderator.viewing) without a display: the filter an item gets, whether a reveal
is allowed, and when a decision earns a calm screen."""

from __future__ import annotations

import pytest

from moderator.domain import CSAM_FLOOR, DEFAULT_FLOOR, Action, FilterSpec, Item, MediaKind, Policy, Reveal
from moderator.policy import load_policy
from moderator.settings import Settings
from moderator.viewing import (
    REVEAL_KINDS,
    decision_severity,
    filter_spec,
    needs_calm_screen,
    reveal_refusal,
    spec_refusal,
)

POLICY = load_policy()
BUDGET_MS = Settings().daily_exposure_budget_s * 1000
CATEGORIES = (None, "gore", "sexual", "self_harm", "csam_suspected", "nudity")


def item(category: str | None = None, suggested: str | None = None) -> Item:
    return Item(id="i1", sha256="0" * 64, kind=MediaKind.IMAGE, mime="image/jpeg", media_path="a.jpg",
                width=640, height=480, category=category, suggested_label=suggested)


def protects_at_least(spec: FilterSpec, floor: FilterSpec) -> bool:
    return spec.stricter(floor) == spec


# -- the filter ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("category", "blur", "reveal"), [
    (None, 3, Reveal.FULL),
    ("nudity", 3, Reveal.FULL),  # a label with no filter rule of its own: the default
    ("gore", 4, Reveal.FULL),
    ("sexual", 4, Reveal.FULL),
    ("self_harm", 4, Reveal.FULL),
    ("csam_suspected", 6, Reveal.NONE),
])
def test_each_category_gets_its_policy_filter(category, blur, reveal):
    spec = filter_spec(POLICY, Settings(), item(category))
    assert (spec.blur, spec.grayscale, spec.reveal) == (blur, True, reveal)
    assert spec == POLICY.filter_for(category).stricter(FilterSpec(blur=3, grayscale=True))


@pytest.mark.parametrize(("suggested", "blur", "reveal"), [
    ("csam_suspected", 6, Reveal.NONE),  # a known-CSAM bank match, with no category hint
    ("self_harm", 4, Reveal.FULL),
    ("spam", 3, Reveal.FULL),
])
def test_a_bank_suggested_label_tightens_the_filter(suggested, blur, reveal):
    spec = filter_spec(POLICY, Settings(), item(None, suggested))
    assert (spec.blur, spec.reveal) == (blur, reveal)


def test_category_and_suggestion_combine_to_the_stricter():
    assert filter_spec(POLICY, Settings(), item("gore", "csam_suspected")).reveal is Reveal.NONE
    assert filter_spec(POLICY, Settings(), item("csam_suspected", "spam")).blur == 6


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("settings", [
    Settings(blur=0, grayscale=False), Settings(blur=6), Settings(style="drawing", blur=0), Settings(),
])
@pytest.mark.parametrize("extra", [-12, -6, -1, 0, 1, 6, 12])
def test_user_settings_and_blur_keys_only_ever_add_protection(category, settings, extra):
    policy_spec = POLICY.filter_for(category)
    spec = filter_spec(POLICY, settings, item(category), extra)
    assert protects_at_least(spec, policy_spec)
    assert policy_spec.blur <= spec.blur <= 6
    assert spec.grayscale and spec.reveal is policy_spec.reveal
    if settings.style:
        assert spec.style == settings.style


def test_blur_keys_move_from_the_users_default():
    assert filter_spec(POLICY, Settings(blur=5), item(), -1).blur == 4
    assert filter_spec(POLICY, Settings(blur=5), item(), -4).blur == 3  # the policy's, not lower
    assert filter_spec(POLICY, Settings(blur=3), item(), 2).blur == 5


def test_a_policy_built_in_code_keeps_the_floors():
    lax = Policy(version="x", labels=(), default_filter=FilterSpec(blur=0, grayscale=False),
                 category_filters={"csam_suspected": FilterSpec(blur=0, grayscale=False)})
    settings = Settings(blur=0, grayscale=False)
    assert protects_at_least(filter_spec(lax, settings, item()), DEFAULT_FLOOR)
    assert protects_at_least(filter_spec(lax, settings, item("csam_suspected"), -6), CSAM_FLOOR)
    assert protects_at_least(filter_spec(lax, settings, item(None, "csam_suspected"), -6), CSAM_FLOOR)


# -- reveals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", REVEAL_KINDS)
@pytest.mark.parametrize("csam", [item("csam_suspected"), item(None, "csam_suspected"), item("gore", "csam_suspected")])
@pytest.mark.parametrize("exposure_ms", [0, BUDGET_MS * 10])
@pytest.mark.parametrize("settings", [Settings(), Settings(daily_exposure_budget_s=0), Settings(blur=0, grayscale=False)])
def test_suspected_csam_is_never_revealed_by_any_kind(kind, csam, exposure_ms, settings):
    reason = reveal_refusal(POLICY, settings, csam, kind, exposure_ms)
    assert reason is not None and "does not allow" in reason


@pytest.mark.parametrize("category", ["gore", None, "self_harm"])
@pytest.mark.parametrize(("exposure_ms", "refused"), [
    (0, set()),
    (BUDGET_MS - 1, set()),
    (BUDGET_MS, {"spotlight", "reveal"}),
    (BUDGET_MS * 3, {"spotlight", "reveal"}),
])
def test_a_used_budget_leaves_only_peek(category, exposure_ms, refused):
    reasons = {k: reveal_refusal(POLICY, Settings(), item(category), k, exposure_ms) for k in REVEAL_KINDS}
    assert {k for k, r in reasons.items() if r} == refused
    assert all("budget" in reasons[k] for k in refused)


def test_a_budget_of_zero_is_no_budget():
    assert reveal_refusal(POLICY, Settings(daily_exposure_budget_s=0), item(), "reveal", 10**9) is None


def test_a_peek_only_policy_allows_only_peek():
    peeky = Policy(version="x", labels=(), category_filters={"gore": FilterSpec(blur=4, reveal=Reveal.PEEK)})
    reasons = {k: reveal_refusal(peeky, Settings(), item("gore"), k, 0) for k in REVEAL_KINDS}
    assert reasons["peek"] is None and "only hold-to-peek" in reasons["reveal"] and reasons["spotlight"]


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("extra", [-6, 0, 3])
@pytest.mark.parametrize("exposure_ms", [0, BUDGET_MS])
def test_the_viewers_spec_level_rule_agrees_with_the_item_rule(category, extra, exposure_ms):
    """The viewer holds the spec it prepared with (blur keys included); its answer is the item's."""
    s, it = Settings(), item(category)
    for kind in REVEAL_KINDS:
        held = filter_spec(POLICY, s, it, extra)
        assert spec_refusal(held, kind, exposure_ms >= BUDGET_MS) == reveal_refusal(POLICY, s, it, kind, exposure_ms)


def test_an_unknown_reveal_kind_is_an_error_not_a_reveal():
    with pytest.raises(ValueError, match="unknown reveal kind"):
        reveal_refusal(POLICY, Settings(), item(), "glance", 0)


# -- the calm screen ----------------------------------------------------------------------------
@pytest.mark.parametrize(("labels", "action", "severity", "calm"), [
    (("no_violation",), Action.ALLOW, 0, False),
    (("spam",), Action.REMOVE, 1, False),
    (("violence_gore",), Action.REMOVE, 3, False),
    (("self_harm",), Action.ESCALATE, 4, True),
    (("spam", "terrorism"), Action.ESCALATE, 4, True),  # the highest label counts
    ((), Action.ESCALATE, 4, True),  # an escalation without a label is high severity
    (("label_from_an_older_policy",), Action.REMOVE, 4, True),  # unknown: treated as high
])
def test_calm_screen_after_a_high_severity_decision(labels, action, severity, calm):
    assert decision_severity(POLICY, Settings(), labels, action) == severity
    assert needs_calm_screen(POLICY, Settings(), labels, action) is calm


def test_calm_screen_follows_the_users_threshold_and_switch():
    assert needs_calm_screen(POLICY, Settings(high_severity=3), ("violence_gore",), Action.REMOVE)
    assert not needs_calm_screen(POLICY, Settings(palate_cleanser=False), ("self_harm",), Action.ESCALATE)
    assert not needs_calm_screen(POLICY, Settings(palate_cleanser=False), (), Action.ESCALATE)
