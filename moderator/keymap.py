"""Key bindings as data: the shipped keymap, overridden per user, plus the policy's digit keys."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from moderator.domain import Policy
from moderator.resources import resource_path

COMMANDS = ("next", "previous", "skip", "escalate", "undo", "accept_suggestion", "add_to_bank", "bank_decisions",
            "peek", "spotlight", "spotlight_toggle", "reveal",
            "blur_more", "blur_less", "play", "frame_next", "frame_previous", "import_media", "settings", "help",
            "focus_queue")
DESCRIPTIONS = {
    "next": "Next item",
    "previous": "Previous item",
    "skip": "Skip (leave pending, move on)",
    "escalate": "Escalate with a note",
    "undo": "Undo the last decision (writes a superseding row)",
    "accept_suggestion": "Apply the label a bank match suggests",
    "add_to_bank": "Add the item you just decided to a hash bank",
    "bank_decisions": "Items banks closed on their own (reopen any of them)",
    "peek": "Hold to peek unfiltered; filters return on release",
    "spotlight": "Hold: an unfiltered circle follows the cursor (wheel: size)",
    "spotlight_toggle": "Spotlight for a few seconds (press again to end)",
    "reveal": "Reveal the whole item for a few seconds, then filters return",
    "blur_more": "More blur",
    "blur_less": "Less blur (never below the policy)",
    "play": "Video: play / pause the filtered frames",
    "frame_next": "Video: next frame",
    "frame_previous": "Video: previous frame",
    "import_media": "Import a folder of media (checked, hashed, matched in the background)",
    "settings": "Your settings: default filter, reveal, exposure budget, breaks",
    "help": "Show every shortcut",
    "focus_queue": "Focus the queue list",
}


class KeymapError(ValueError):
    pass


@dataclass(frozen=True)
class Binding:
    command: str  # a COMMANDS entry or "label:<name>"
    keys: tuple[str, ...]
    description: str


def load_keymap(user_file: Path | None = None) -> dict[str, tuple[str, ...]]:
    keys = _read(resource_path("keymap.toml"))
    if user_file and user_file.exists():
        keys.update(_read(user_file))
    missing = [c for c in COMMANDS if c not in keys]
    if missing:
        raise KeymapError(f"keymap lacks: {', '.join(missing)}")
    return keys


def bindings(keymap: dict[str, tuple[str, ...]], policy: Policy) -> list[Binding]:
    """Every shortcut of the desk, policy labels first, in the order `?` shows them."""
    out = [Binding(f"label:{lb.name}", (lb.key,), f"{lb.title} → {lb.action.value}") for lb in policy.labels]
    out += [Binding(c, keymap[c], DESCRIPTIONS[c]) for c in COMMANDS]
    _check_conflicts(out)
    return out


def _read(path: Path) -> dict[str, tuple[str, ...]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("keys", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KeymapError(f"{path}: cannot read keymap: {exc}") from None
    unknown = [c for c in data if c not in COMMANDS]
    if unknown:
        raise KeymapError(f"{path}: unknown commands: {', '.join(unknown)}")
    return {c: tuple(str(k) for k in (v if isinstance(v, list) else [v])) for c, v in data.items()}


def _check_conflicts(out: list[Binding]) -> None:
    seen: dict[str, str] = {}
    for b in out:
        for key in b.keys:
            if key.lower() in seen:
                raise KeymapError(f"key {key!r} is bound to both {seen[key.lower()]} and {b.command}")
            seen[key.lower()] = b.command
