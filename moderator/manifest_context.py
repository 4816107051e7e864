"""The report context fields of a manifest row or a hub item: who reported, which account was
reported, the post's text or caption, where it was posted, the file's name there.

Each is checked like the other manifest fields (type, length) and for what would mislead a moderator
reading it: a control character (a line break in a name, an escape sequence), or a bidirectional
override that shows `gpj.exe` as `exe.jpg`. Only the post text may span lines. Nothing is coerced
but an account or reporter given as a JSON integer, taken as its digits (ids often are numbers).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

CONTEXT_FIELDS = ("reporter", "reported_account", "post_text", "source_url", "original_name")
MAX_CONTEXT = {"reporter": 256, "reported_account": 256, "post_text": 10_000, "source_url": 2048,
               "original_name": 1024}
_INTEGER_IDS = ("reporter", "reported_account")
_MULTILINE = ("post_text",)
# Embeddings, overrides and isolates: they reorder what is shown, not what is stored.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
URL_SCHEMES = ("http", "https")


def context_fields(raw: dict[str, Any]) -> dict[str, str | None]:
    """Each context field of `raw`, checked (ValueError naming the field and the problem); a missing,
    null or empty one is None."""
    return {name: context_value(name, raw.get(name)) for name in CONTEXT_FIELDS}


def context_value(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if name in _INTEGER_IDS and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {_kind(value)}")
    if name in _MULTILINE:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(value) > MAX_CONTEXT[name]:
        raise ValueError(f"{name} is longer than {MAX_CONTEXT[name]} characters")
    allowed = "\n\t" if name in _MULTILINE else ""
    bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in allowed), None)
    if bad is not None:
        raise ValueError(f"{name} contains a control character (U+{ord(bad):04X})"
                         + ("" if name in _MULTILINE else "; only post_text may span lines"))
    if name not in _MULTILINE and (m := _BIDI.search(value)):
        raise ValueError(f"{name} contains a bidirectional override (U+{ord(m.group()):04X}) that would "
                         "show it in another order than it is")
    value = value.strip() if name not in _MULTILINE else value.strip("\n")
    if name == "source_url" and value:
        _check_url(value)
    return value or None


def _check_url(value: str) -> None:
    problem = f"source_url must be an http:// or https:// address with a host, got {value[:60]!r}"
    if any(c.isspace() for c in value):
        raise ValueError(f"source_url contains a space or line break ({value[:60]!r})")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError(problem) from None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        raise ValueError(problem)


def _kind(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)
