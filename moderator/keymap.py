"""Key bindings as data: the shipped keymap, overridden per user, plus the policy's digit keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moderator.actions import DeskAction, modes_of
from moderator.config_file import Bad, expect_table, join, read_toml
from moderator.domain import Policy
from moderator.key_names import KeyNameError, canonical
from moderator.resources import resource_path

# Derived from the one declaration of the desk's commands (moderator/actions.py).
COMMANDS = tuple(a.value for a in DeskAction)
DESCRIPTIONS = {a.value: a.description for a in DeskAction}


class KeymapError(ValueError):
    """A keymap file that cannot be used; the message names the file, the command and the key."""


HOLD_COMMANDS = tuple(a.value for a in DeskAction if a.held)  # watched while held: one key or one modifier each


@dataclass(frozen=True)
class Binding:
    command: str  # a COMMANDS entry or "label:<name>"
    keys: tuple[str, ...]
    description: str


def load_keymap(user_file: Path | None = None, policy: Policy | None = None) -> dict[str, tuple[str, ...]]:
    """The shipped keymap with the user's overrides; with `policy`, a key that is also a label's
    digit is refused here, naming the user's file, rather than when the window is built."""
    shipped = resource_path("keymap.toml")
    keys = _read(shipped)
    source = shipped
    if user_file and user_file.exists():
        keys.update(_read(user_file))
        source = user_file
    missing = [c for c in COMMANDS if c not in keys]
    if missing:
        raise KeymapError(f"{shipped}: keys: lacks {', '.join(missing)}")
    labels = [Binding(f"label:{lb.name}", (lb.key,), "") for lb in policy.labels] if policy else []
    try:
        _check_conflicts(labels + [Binding(c, keys[c], "") for c in COMMANDS])
    except KeymapError as exc:
        raise KeymapError(f"{source}: {exc}") from None
    return keys


def bindings(keymap: dict[str, tuple[str, ...]], policy: Policy) -> list[Binding]:
    """Every shortcut of the desk, policy labels first, in the order `?` shows them."""
    out = [Binding(f"label:{lb.name}", (lb.key,), f"{lb.title} → {lb.action.value}") for lb in policy.labels]
    out += [Binding(c, keymap[c], DESCRIPTIONS[c]) for c in COMMANDS]
    _check_conflicts(out)
    return out


def _read(path: Path) -> dict[str, tuple[str, ...]]:
    data = read_toml(path, "keymap", KeymapError)
    try:
        table = expect_table(expect_table(data, "", ("keys",)).get("keys", {}), "keys", COMMANDS)
        return {command: _keys_of(command, value) for command, value in table.items()}
    except Bad as exc:
        raise KeymapError(f"{path}: {exc}") from None


def _keys_of(command: str, value: object) -> tuple[str, ...]:
    """A command's keys: one key sequence, or a non-empty list of them, each checked and canonical."""
    where = join("keys", command)
    entries = value if isinstance(value, list) else [value]
    if not entries or not all(isinstance(e, str) for e in entries):
        raise Bad(where, 'a key sequence or a non-empty list of them, like ["Ctrl+Z"]', value)
    out = []
    for i, entry in enumerate(entries):
        try:
            out.append(canonical(entry, hold=command in HOLD_COMMANDS))
        except KeyNameError as exc:
            at = where if not isinstance(value, list) else join(where, i)
            raise Bad(at, f"a key sequence like Ctrl+Z, F1 or ] ({exc})", entry) from None
    return tuple(dict.fromkeys(out))  # the same key twice for one command is harmless


def _check_conflicts(out: list[Binding]) -> None:
    """Refuse a key bound to two commands that are live in the same desk mode (moderator.actions)."""
    seen: dict[str, list[str]] = {}
    for b in out:
        for key in b.keys:
            bound = seen.setdefault(key.lower(), [])
            other = next((c for c in bound if c != b.command and modes_of(c) & modes_of(b.command)), None)
            if other is not None:
                raise KeymapError(f"key {key!r} is bound to both {other} and {b.command}")
            bound.append(b.command)
