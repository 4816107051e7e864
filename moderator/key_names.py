"""Key sequences as the keymap writes them ("Ctrl+Z", "Shift+F1", "]"), checked without Qt.

The names are the ones `QKeySequence(text, PortableText)` understands, so a sequence accepted
here is one Qt accepts (tests/test_config_files.py checks every name against Qt). One chord per
entry: the desk binds single chords, and a hold key (peek, spotlight) is one key or one modifier.
"""

from __future__ import annotations

# Qt's order when it writes a sequence back out; the canonical spelling follows it.
MODIFIERS = ("Meta", "Ctrl", "Alt", "Shift", "Num")
MODIFIER_ALIASES = {"control": "Ctrl"}
# A modifier on its own is only a hold key (ui/shortcuts.py watches it as a key).
HOLD_MODIFIERS = ("Meta", "Ctrl", "Alt", "Shift")
NAMED_KEYS = (
    "Esc", "Tab", "Backtab", "Backspace", "Return", "Enter", "Ins", "Del", "Pause", "Print",
    "SysReq", "Home", "End", "Left", "Up", "Right", "Down", "PgUp", "PgDown", "Space",
    "CapsLock", "NumLock", "ScrollLock", "Menu", "Help", "Back", "Forward", "Clear",
    *(f"F{n}" for n in range(1, 36)),
)
KEY_ALIASES = {"escape": "Esc", "insert": "Ins", "delete": "Del", "page up": "PgUp", "page down": "PgDown",
               "pageup": "PgUp", "pagedown": "PgDown"}
_BY_LOWER = {name.lower(): name for name in NAMED_KEYS} | KEY_ALIASES
_MOD_BY_LOWER = {m.lower(): m for m in MODIFIERS} | MODIFIER_ALIASES


class KeyNameError(ValueError):
    """Not a key sequence; the message says what part is wrong."""


def canonical(text: str, *, hold: bool = False) -> str:
    """The sequence in Qt's own spelling ("shift+ctrl+z" -> "Ctrl+Shift+Z"), or KeyNameError.

    hold: a key that is held down (peek, spotlight), so one key or one modifier, no chord."""
    if not isinstance(text, str) or not text.strip():
        raise KeyNameError("an empty key")
    mods, key = _split(text.strip())
    if not mods and key.lower() in _MOD_BY_LOWER and _MOD_BY_LOWER[key.lower()] in HOLD_MODIFIERS:
        if not hold:
            raise KeyNameError(f"a modifier on its own ({key}) is only a hold key (peek, spotlight)")
        return _MOD_BY_LOWER[key.lower()]
    names = sorted({_modifier(m) for m in mods}, key=MODIFIERS.index)
    if hold and names:
        raise KeyNameError("a hold key is one key, without modifiers")
    return "+".join([*names, _key(key)])


def _split(text: str) -> tuple[list[str], str]:
    if text == "+":
        return [], "+"
    if text.endswith("++"):  # "Ctrl++": the last + is the key
        return [p.strip() for p in text[:-2].split("+")], "+"
    *mods, key = (p.strip() for p in text.split("+"))
    return mods, key


def _modifier(name: str) -> str:
    found = _MOD_BY_LOWER.get(name.lower())
    if found is None:
        raise KeyNameError(f"{name!r} is not a modifier (known: {', '.join(MODIFIERS)})")
    return found


def _key(name: str) -> str:
    if not name:
        raise KeyNameError("a key after the last '+'")
    if name.lower() in _MOD_BY_LOWER:
        raise KeyNameError(f"a key after the modifier {name}")
    if len(name) == 1:
        if not name.isprintable() or name.isspace():
            raise KeyNameError(f"{name!r} is not a key (write Space, Tab, …)")
        upper = name.upper()  # Qt stores letters as upper case ("ß" stays: its upper case is two)
        return upper if len(upper) == 1 else name
    found = _BY_LOWER.get(name.lower())
    if found is None:
        raise KeyNameError(f"{name!r} is not a key name (a single character, or one of Esc, Space, F1 … F35, …)")
    return found
