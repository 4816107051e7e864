"""Load and validate the review policy (resources/policy.toml): labels, actions, filter rules."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from moderator.domain import Action, FilterSpec, Label, Policy, Reveal
from moderator.resources import resource_path

DECISION_ACTIONS = {Action.ALLOW, Action.REMOVE, Action.ESCALATE, Action.AGE_RESTRICT}
VALID_KEYS = {str(d) for d in range(1, 10)}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the problem."""


def default_policy_path() -> Path:
    return resource_path("policy.toml")


def load_policy(path: str | Path | None = None) -> Policy:
    path = Path(path) if path else default_policy_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc}") from None
    try:
        return parse_policy(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"{path}: {_describe(exc)}") from None


def parse_policy(data: dict[str, Any]) -> Policy:
    version = str(data["version"])
    filters = data.get("filters", {})
    default = parse_filter(filters.get("default", {}), FilterSpec())
    categories = {
        name: parse_filter(spec, default) for name, spec in filters.get("category", {}).items()
    }
    labels = tuple(_parse_label(raw, categories) for raw in data["labels"])
    _check_unique(labels)
    return Policy(version=version, labels=labels, default_filter=default, category_filters=categories)


def parse_filter(raw: dict[str, Any], base: FilterSpec) -> FilterSpec:
    spec = FilterSpec(
        blur=int(raw.get("blur", base.blur)),
        grayscale=bool(raw.get("grayscale", base.grayscale)),
        pixelate=int(raw.get("pixelate", base.pixelate)),
        style=raw.get("style", base.style),
        reveal=Reveal(raw.get("reveal", base.reveal.value)),
    )
    if not 0 <= spec.blur <= 6 or not 0 <= spec.pixelate <= 6:
        raise ValueError(f"blur and pixelate must be 0..6, got {spec.blur}/{spec.pixelate}")
    if spec.style not in (None, "drawing"):
        raise ValueError(f"unknown filter style {spec.style!r} (known: drawing)")
    return spec


def _parse_label(raw: dict[str, Any], categories: dict[str, FilterSpec]) -> Label:
    key = str(raw["key"])
    if key not in VALID_KEYS:
        raise ValueError(f"label {raw.get('name')!r}: key must be a digit 1-9, got {key!r}")
    action = Action(raw["action"])
    if action not in DECISION_ACTIONS:
        raise ValueError(f"label {raw['name']!r}: action {action.value!r} is not a decision")
    name = str(raw["name"])
    return Label(
        key=key,
        name=name,
        title=str(raw.get("title", name)),
        action=action,
        severity=int(raw.get("severity", 0)),
        filter=categories.get(name),
    )


def _check_unique(labels: tuple[Label, ...]) -> None:
    for attr in ("key", "name"):
        values = [getattr(lb, attr) for lb in labels]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"duplicate label {attr}: {', '.join(dupes)}")
    if not labels:
        raise ValueError("the policy has no labels")


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)
