"""Reading the TOML files a person edits (policy, keymap, settings) so that every mistake is one line.

Each loader reads its file with `read_toml` and checks values with the `expect_*` helpers, which
raise `Bad(key, expected, got)`; the loader turns that into its own error class with the file name
in front: `policy.toml: labels[2].severity: expected an integer 0..10, got 'x'`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# No file a person writes by hand comes near this; anything bigger is not a config file.
MAX_BYTES = 256 * 1024
# tomllib's memory grows with the square of a dotted key's depth (`a.a.a…` 10 000 deep: 400 MB);
# keys and inline tables cannot span lines, so a cap on dots per line bounds the cost.
MAX_DOTS_PER_LINE = 200
MISSING = object()


class Bad(ValueError):
    """One wrong value: where it is (a dotted key path), what was expected, what was found."""

    def __init__(self, key: str, expected: str, got: Any = MISSING, *, found: str | None = None):
        self.key, self.expected, self.got = key, expected, got
        found = found or ("nothing" if got is MISSING else shown(got))
        super().__init__(f"{key}: expected {expected}, got {found}" if key else f"expected {expected}")


def shown(value: Any, limit: int = 60) -> str:
    """A value as it appears in an error line: repr (so newlines stay escaped), cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The parsed file, or `error("PATH: cannot read WHAT: reason")` for every way reading fails."""
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_BYTES:
            raise Bad("", f"at most {MAX_BYTES // 1024} KiB, the file has {len(raw) // 1024} KiB")
        text = raw.decode("utf-8")
        _check_lines(text)
        return tomllib.loads(text)
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
    except RecursionError:
        reason = "values nested too deeply"
    except (OSError, tomllib.TOMLDecodeError, Bad) as exc:
        reason = str(exc) or type(exc).__name__
    raise error(f"{path}: cannot read {what}: {' '.join(reason.split())}") from None


def _check_lines(text: str) -> None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.count(".") > MAX_DOTS_PER_LINE:
            raise Bad("", f"at most {MAX_DOTS_PER_LINE} dots on a line (line {number})")


def expect_table(value: Any, key: str, allowed: Iterable[str] | None = None) -> dict[str, Any]:
    """A TOML table; with `allowed`, a key outside it is an error (a typo would otherwise be ignored)."""
    if not isinstance(value, dict):
        raise Bad(key, "a table", value)
    if allowed is not None:
        allowed = tuple(allowed)
        for name in value:
            if name not in allowed:
                raise Bad(join(key, name), f"a known key ({', '.join(allowed)})", found="an unknown key")
    return value


def expect_int(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Bad(key, f"an integer {low}..{high}", value)
    return value


def expect_number(value: Any, key: str, low: float, high: float) -> float:
    """A finite number in range; TOML writes 5 for 5.0, so integers are accepted too."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise Bad(key, f"a number {low:g}..{high:g}", value)
    return float(value)


def expect_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise Bad(key, "true or false", value)
    return value


def expect_str(value: Any, key: str, choices: Iterable[str] | None = None, expected: str = "") -> str:
    choices = None if choices is None else tuple(choices)
    expected = expected or ("a string" if choices is None else _one_of(choices))
    if not isinstance(value, str) or (choices is not None and value not in choices):
        raise Bad(key, expected, value)
    return value


def _one_of(choices: Iterable[str]) -> str:
    return "one of " + ", ".join(repr(c) for c in choices)


def join(parent: str, key: str | int) -> str:
    """The dotted path of a key, as a person would look for it in the file."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    part = key if key.replace("_", "").replace("-", "").isalnum() else shown(key)
    return f"{parent}.{part}" if parent else part
