"""Load and validate the review policy (resources/policy.toml): labels, actions, filter rules.

Every wrong value is one `PolicyError` line naming the file and the key. The product's safety
floors are checked here, and a policy below them is refused rather than quietly raised:
- every item is filtered by default: `[filters.default]` needs blur >= 1 and grayscale on;
- suspected CSAM (`CSAM_CATEGORY`) gets blur 6, grayscale and reveal "none" (`CSAM_FLOOR`).
  A policy without that section gets exactly the floor; one that lowers any of it is refused.
`Policy.filter_for` applies the CSAM floor again, so a Policy built in code cannot lower it either.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from moderator.config_file import (
    MISSING,
    Bad,
    expect_bool,
    expect_int,
    expect_str,
    expect_table,
    join,
    read_toml,
)
from moderator.domain import (
    CSAM_CATEGORY,
    CSAM_FLOOR,
    DEFAULT_FLOOR,
    Action,
    EscalationTarget,
    FilterSpec,
    Label,
    Policy,
    Reveal,
    normalise_category,
)
from moderator.policy_floors import parse_floors
from moderator.resources import resource_path

DECISION_ACTIONS = (Action.ALLOW, Action.REMOVE, Action.ESCALATE, Action.AGE_RESTRICT)
VALID_KEYS = tuple(str(d) for d in range(1, 10))
SEVERITY_MAX = 10  # settings' high_severity shares this scale
FILTER_LEVELS = 6  # blur and pixelate: 0 (off) … 6 (unrecognisable), as in blurring.filters
STYLES = ("drawing",)
TOP_KEYS = ("version", "labels", "filters", "floors", "escalation")
LABEL_KEYS = ("key", "name", "title", "action", "severity")
FILTER_KEYS = ("blur", "grayscale", "pixelate", "style", "reveal")
ESCALATION_KEYS = ("targets", "reasons")
TARGET_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_TITLE, MAX_REASON, MAX_REASONS = 100, 200, 50
# A policy without [escalation] still escalates somewhere a person looks.
DEFAULT_TARGETS = (EscalationTarget("senior_review", "Senior review"),)
DEFAULT_REASONS = ("Other (see the note)",)


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the problem."""


def default_policy_path() -> Path:
    return resource_path("policy.toml")


def load_policy(path: str | Path | None = None) -> Policy:
    path = Path(path) if path else default_policy_path()
    data = read_toml(path, "policy", PolicyError)
    try:
        return parse_policy(data)
    except Bad as exc:
        raise PolicyError(f"{path}: {exc}") from None


def parse_policy(data: dict[str, Any]) -> Policy:
    expect_table(data, "", TOP_KEYS)
    if "version" not in data:
        raise Bad("version", "a string naming this policy's version")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, str | int) or not str(version).strip():
        raise Bad("version", "a non-empty string", version)
    default, categories = _parse_filters(data.get("filters", {}))
    labels = _parse_labels(data.get("labels", MISSING), categories)
    floors = parse_floors(data.get("floors", {}), FILTER_LEVELS)  # what settings may not go below
    targets, reasons = _parse_escalation(data.get("escalation", {}))
    return Policy(version=str(version), labels=labels, default_filter=default, category_filters=categories,
                  floors=floors, escalation_targets=targets, escalation_reasons=reasons)


def _parse_escalation(raw: Any) -> tuple[tuple[EscalationTarget, ...], tuple[str, ...]]:
    """`[escalation.targets]` name = "Title" (the first is the default) and `reasons`, a list of lines."""
    table = expect_table(raw, "escalation", ESCALATION_KEYS)
    targets = DEFAULT_TARGETS
    if "targets" in table:
        raw_targets = expect_table(table["targets"], "escalation.targets")
        if not raw_targets:
            raise Bad("escalation.targets", "at least one target (name = \"Title\")", raw_targets)
        targets = tuple(_target(name, title) for name, title in raw_targets.items())
    reasons = DEFAULT_REASONS
    if "reasons" in table:
        value = table["reasons"]
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_REASONS:
            raise Bad("escalation.reasons", f"a list of 1..{MAX_REASONS} strings", value)
        reasons = tuple(_line(r, f"escalation.reasons[{i}]", MAX_REASON) for i, r in enumerate(value))
        if len(set(reasons)) != len(reasons):
            raise Bad("escalation.reasons", "each reason once", value)
    return targets, reasons


def _target(name: str, title: Any) -> EscalationTarget:
    where = join("escalation.targets", name)
    if not TARGET_NAME.fullmatch(name):
        raise Bad(where, "a name of lowercase letters, digits and _ starting with a letter (at most 64)", name)
    return EscalationTarget(name, _line(title, where, MAX_TITLE))


def _line(value: Any, where: str, limit: int) -> str:
    """One line of text a moderator reads: not empty, no control characters, at most `limit` long."""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Bad(where, f"a non-empty string of at most {limit} characters", value)
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise Bad(where, "one line without control characters", value)
    return value.strip()


def _parse_filters(raw: Any) -> tuple[FilterSpec, dict[str, FilterSpec]]:
    filters = expect_table(raw, "filters", ("default", "category"))
    default = parse_filter(filters.get("default", {}), FilterSpec(), "filters.default")
    _check_floor(default, DEFAULT_FLOOR, "filters.default", "every item is filtered by default")
    categories: dict[str, FilterSpec] = {}
    for raw_name, spec in expect_table(filters.get("category", {}), "filters.category").items():
        where = join("filters.category", raw_name)
        name = _category_name(raw_name, where)
        if name in categories:
            raise Bad(where, f"one section per category (another one is also {name!r})", raw_name)
        if name == CSAM_CATEGORY:  # what the section leaves out is the floor, not the default
            categories[name] = parse_filter(spec, default.stricter(CSAM_FLOOR), where)
            _check_floor(categories[name], CSAM_FLOOR, where, "suspected CSAM is never shown recognisably")
        else:
            categories[name] = parse_filter(spec, default, where)
    categories.setdefault(CSAM_CATEGORY, default.stricter(CSAM_FLOOR))  # no section: exactly the floor
    return default, categories


def parse_filter(raw: Any, base: FilterSpec, where: str) -> FilterSpec:
    """A filter table; keys it leaves out come from `base` (the default filter)."""
    raw = expect_table(raw, where, FILTER_KEYS)
    style = expect_str(raw.get("style", base.style or ""), join(where, "style"), ("", *STYLES))
    reveal = expect_str(raw.get("reveal", base.reveal.value), join(where, "reveal"), [r.value for r in Reveal])
    return FilterSpec(
        blur=expect_int(raw.get("blur", base.blur), join(where, "blur"), 0, FILTER_LEVELS),
        grayscale=expect_bool(raw.get("grayscale", base.grayscale), join(where, "grayscale")),
        pixelate=expect_int(raw.get("pixelate", base.pixelate), join(where, "pixelate"), 0, FILTER_LEVELS),
        style=style or None,
        reveal=Reveal(reveal),
    )


def _check_floor(spec: FilterSpec, floor: FilterSpec, where: str, why: str) -> None:
    # A spec protects at least as much as the floor when adding the floor changes nothing.
    if spec.stricter(floor) != spec:
        wanted = f"blur >= {floor.blur}, grayscale = true" + (
            f", reveal = {floor.reveal.value!r}" if floor.reveal is not Reveal.FULL else "")
        got = f"blur {spec.blur}, grayscale {str(spec.grayscale).lower()}, reveal {spec.reveal.value!r}"
        raise Bad(where, f"{wanted} (a floor no policy lowers: {why})", found=got)


def _category_name(raw: Any, where: str) -> str:
    name = normalise_category(raw) if isinstance(raw, str) else ""
    if not name:
        raise Bad(where, "a category or label name", raw)
    return name


def _parse_labels(raw: Any, categories: dict[str, FilterSpec]) -> tuple[Label, ...]:
    if not isinstance(raw, list) or not raw:
        raise Bad("labels", "a non-empty array of [[labels]] tables", raw)
    labels = tuple(_parse_label(item, f"labels[{i}]", categories) for i, item in enumerate(raw))
    _check_unique(labels)
    return labels


def _parse_label(raw: Any, where: str, categories: dict[str, FilterSpec]) -> Label:
    raw = expect_table(raw, where, LABEL_KEYS)
    for required in ("key", "name", "action"):
        if required not in raw:
            raise Bad(join(where, required), "a value (key, name and action are required)")
    key = raw["key"]
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)  # `key = 1` means the digit 1
    key = expect_str(key, join(where, "key"), VALID_KEYS, "a digit 1..9")
    name = _category_name(raw["name"], join(where, "name"))
    action = expect_str(raw["action"], join(where, "action"), [a.value for a in DECISION_ACTIONS])
    return Label(
        key=key,
        name=name,
        title=expect_str(raw.get("title", name), join(where, "title")),
        action=Action(action),
        severity=expect_int(raw.get("severity", 0), join(where, "severity"), 0, SEVERITY_MAX),
        filter=categories.get(name),
    )


def _check_unique(labels: tuple[Label, ...]) -> None:
    for attr in ("key", "name"):
        values = [getattr(lb, attr) for lb in labels]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise Bad("labels", f"each label {attr} once", found=f"duplicate label {attr}: {', '.join(join('', d) for d in dupes)}")
