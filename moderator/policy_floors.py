"""Policy floors for the wellness settings: the policy's `[floors]` table sets the least protection a
moderator may choose (minimum blur, grayscale on, a maximum daily exposure budget, break reminders
on), and a moderator's own settings can only be stricter than that.

The policy loader validates the table (`parse_floors`); the desk applies it to the settings it uses
(`apply_floors`) and tells the moderator what the policy overrode (`describe`), so saving a setting
below a floor never looks like it took effect. Pure functions, no Qt, no I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moderator.config_file import expect_bool, expect_int, expect_table, join
from moderator.domain import WellnessFloors

if TYPE_CHECKING:  # settings imports policy, which imports this module: no runtime import back
    from moderator.settings import Settings

FLOOR_KEYS = ("min_blur", "grayscale", "max_daily_exposure_s", "breaks", "max_break_every_active_min")
MAX_BUDGET_S = 86_400  # the daily_exposure_budget_s setting's own upper bound
MAX_BREAK_MIN = 600  # the break_every_active_min setting's own upper bound
BREAK_DEFAULTS = {"break_every_active_min": 45, "break_after_high_severity": 10}  # when `breaks` turns one on


def parse_floors(raw: Any, blur_levels: int) -> WellnessFloors:
    """The `[floors]` table (absent: no floors); `Bad` names a wrong key or value."""
    where = "floors"
    raw = expect_table(raw, where, FLOOR_KEYS)
    return WellnessFloors(
        min_blur=expect_int(raw.get("min_blur", 0), join(where, "min_blur"), 0, blur_levels),
        grayscale=expect_bool(raw.get("grayscale", False), join(where, "grayscale")),
        # 0 is "no budget" in the settings; as a maximum it would mean no budget was allowed at all
        max_daily_exposure_s=expect_int(raw.get("max_daily_exposure_s", 0), join(where, "max_daily_exposure_s"),
                                        0, MAX_BUDGET_S),
        breaks=expect_bool(raw.get("breaks", False), join(where, "breaks")),
        max_break_every_active_min=expect_int(raw.get("max_break_every_active_min", 0),
                                              join(where, "max_break_every_active_min"), 0, MAX_BREAK_MIN),
    )


@dataclass(frozen=True)
class Override:
    """One setting the policy raised: what the moderator chose, what applies, and why."""

    name: str
    chosen: Any
    applied: Any
    why: str


def apply_floors(settings: Settings, floors: WellnessFloors) -> tuple[Settings, list[Override]]:
    """`settings` made at least as strict as the floors, and every value that had to change."""
    changes: dict[str, tuple[Any, str]] = {}
    if settings.blur < floors.min_blur:
        changes["blur"] = (floors.min_blur, f"the policy's minimum blur is {floors.min_blur}")
    if floors.grayscale and not settings.grayscale:
        changes["grayscale"] = (True, "the policy keeps grayscale on")
    cap = floors.max_daily_exposure_s
    if cap and not 0 < settings.daily_exposure_budget_s <= cap:  # 0 (no budget) is above any maximum
        changes["daily_exposure_budget_s"] = (cap, f"the policy's budget maximum is {cap} s")
    changes.update(_break_changes(settings, floors))
    applied = dataclasses.replace(settings, **{name: value for name, (value, _) in changes.items()})
    return applied, [Override(name, getattr(settings, name), value, why) for name, (value, why) in changes.items()]


def _break_changes(settings: Settings, floors: WellnessFloors) -> dict[str, tuple[Any, str]]:
    changes: dict[str, tuple[Any, str]] = {}
    if floors.breaks:
        for name, default in BREAK_DEFAULTS.items():
            if not getattr(settings, name):
                changes[name] = (default, "the policy keeps break reminders on")
        if not settings.palate_cleanser:
            changes["palate_cleanser"] = (True, "the policy keeps the calm screen on")
    every, cap = changes.get("break_every_active_min", (settings.break_every_active_min, ""))[0], \
        floors.max_break_every_active_min
    if cap and not 0 < every <= cap:
        changes["break_every_active_min"] = (cap, f"the policy asks for a break at least every {cap} active minutes")
    return changes


def describe(overrides: list[Override], labels: dict[str, str] | None = None) -> str:
    """One line per override, as the settings dialog and the status bar say it."""
    labels = labels or {}
    return "\n".join(f"{labels.get(o.name, o.name)}: {_shown(o.chosen)} → {_shown(o.applied)} ({o.why})"
                     for o in overrides)


def _shown(value: Any) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)
