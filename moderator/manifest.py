"""Read import manifests (.jsonl / .csv): one media file per row with its report metadata.

Every field is checked for its type and range; nothing is coerced silently (a priority of 1.9 or a
report count of -5 is a bad row, not 1). A row whose values are wrong becomes a BadRow naming its
line; a file that cannot be read as a whole (not UTF-8 CSV, broken CSV quoting, a bad header) is a
ManifestError, raised while reading and before anything is imported.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from moderator.clock import iso, parse_iso
from moderator.csv_cells import numbered_rows
from moderator.domain import Policy
from moderator.manifest_context import CONTEXT_FIELDS, context_fields

MANIFEST_SUFFIXES = {".jsonl", ".csv"}
FIELDS = ("path", "external_id", "category", "priority", "reason", "reported_at", "sla_minutes", "report_count",
          *CONTEXT_FIELDS)

# The ranges the README documents; each is checked, never clamped.
PRIORITY_RANGE = (-1000, 1000)
REPORT_COUNT_RANGE = (1, 1_000_000_000)
MAX_SLA_MINUTES = 525_600  # one year
REPORTED_YEARS = (1970, 2100)  # first and last year allowed (UTC)
MAX_TEXT = {"path": 4096, "external_id": 256, "reason": 10_000, "category": 100}
MAX_LINE_BYTES = 1 << 20  # a JSONL line; a CSV field is limited to the csv module's 128 KiB
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    """One file to import, with whatever the report said about it."""

    path: Path
    origin: str  # where it came from, for messages: a folder path or "manifest.csv:7"
    external_id: str | None = None
    category: str | None = None
    priority: int = 0
    reason: str | None = None
    reported_at: str | None = None
    sla_minutes: float | None = None
    report_count: int = 1
    # The report's context (moderator.manifest_context): who reported whom, the post, where, the file's name.
    reporter: str | None = None
    reported_account: str | None = None
    post_text: str | None = None
    source_url: str | None = None
    original_name: str | None = None
    extra: tuple[tuple[str, Any], ...] = ()  # the fields a reader asked for besides FIELDS (read_manifest's extra)


@dataclass(frozen=True)
class BadRow:
    origin: str
    reason: str


def is_manifest(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES


def read_manifest(path: Path, policy: Policy, *, allow_outside: bool = False,
                  extra: tuple[str, ...] = ()) -> Iterator[Entry | BadRow]:
    """Yield an Entry per good row and a BadRow (with line number) per bad one; ManifestError if the
    file as a whole is unreadable. Paths must stay inside the manifest's folder unless allow_outside.
    `extra`: more fields a reader of its own allows (golden items' `golden_label`), handed back as given
    on Entry.extra for it to check."""
    rows = _jsonl_rows(path) if path.suffix.lower() == ".jsonl" else _csv_rows(path, FIELDS + tuple(extra))
    for line, raw in rows:
        origin = f"{path.name}:{line}"
        if isinstance(raw, str):
            yield BadRow(origin, raw)
            continue
        try:
            yield _entry(raw, path.parent, origin, policy, allow_outside, extra)
        except ValueError as exc:
            yield BadRow(origin, str(exc))


# -- JSONL: each line on its own, so a bad line is a bad row -------------------------------------
def jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, its JSON object or why it is none) for each non-blank line, read as strictly as a
    manifest (UTF-8, no NaN, no field twice, lines up to MAX_LINE_BYTES): for other JSONL readers
    (moderator decisions import)."""
    return _jsonl_rows(path)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with open(path, "rb") as f:
        for n, line in enumerate(_lines(f), 1):
            if line is None:
                yield n, f"line longer than {MAX_LINE_BYTES} bytes"
                continue
            if n == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8):]
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                yield n, "not UTF-8 text"
                continue
            if text.strip():
                yield n, _json_object(text)


def _lines(f: BinaryIO) -> Iterator[bytes | None]:
    """The file's lines, None for one over MAX_LINE_BYTES (read past, never held in memory)."""
    while line := f.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := f.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def _json_object(text: str) -> dict[str, Any] | str:
    try:
        obj = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        return "not valid JSON (nested too deeply)"
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg})"
    except ValueError as exc:  # our hooks, and integers longer than Python reads
        return f"not valid JSON ({exc})"
    return obj if isinstance(obj, dict) else "a row must be a JSON object"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"field {_show(key)} given twice")
        obj[key] = value
    return obj


# -- CSV: quoting spans lines, so a structural error makes the whole file unreadable ---------------
def _csv_rows(path: Path, known: tuple[str, ...] = FIELDS) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            header = _header(path, next(reader, None), known)
            yield from numbered_rows(reader, header)
        except csv.Error as exc:
            raise ManifestError(f"{path}:{reader.line_num}: not valid CSV ({exc})") from None
        except UnicodeDecodeError:
            raise ManifestError(f"{path}: not UTF-8 text (after line {reader.line_num})") from None


def _header(path: Path, cells: list[str] | None, known: tuple[str, ...] = FIELDS) -> list[str]:
    names = [c.strip() for c in cells or []]
    if "path" not in names:
        raise ManifestError(f"{path}: a CSV manifest needs a header row with a 'path' column")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ManifestError(f"{path}:1: unknown columns {', '.join(map(_show, unknown))} (known: {', '.join(known)})")
    if len(set(names)) != len(names):
        raise ManifestError(f"{path}:1: a column is named twice")
    return names


# -- one row's fields ------------------------------------------------------------------------------
def _entry(raw: dict[str, Any], base: Path, origin: str, policy: Policy, allow_outside: bool,
           extra: tuple[str, ...] = ()) -> Entry:
    known = FIELDS + tuple(extra)
    unknown = [k for k in raw if k not in known]
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(map(_show, unknown))} (known: {', '.join(known)})")
    return Entry(
        extra=tuple((k, raw[k]) for k in extra if k in raw),
        path=_path(raw.get("path"), base, allow_outside),
        origin=origin,
        external_id=_text(raw, "external_id", integers=True),
        category=policy.check_category(_text(raw, "category")),
        priority=_integer(raw, "priority", PRIORITY_RANGE, 0),
        reason=_text(raw, "reason"),
        reported_at=_reported_at(raw.get("reported_at")),
        sla_minutes=_sla(raw.get("sla_minutes")),
        report_count=_integer(raw, "report_count", REPORT_COUNT_RANGE, 1),
        **context_fields(raw),
    )


def _path(value: Any, base: Path, allow_outside: bool) -> Path:
    if value is None:
        raise ValueError("missing field 'path'")
    text = _text({"path": value}, "path")
    if not text:
        raise ValueError("'path' is empty")
    path = Path(text)
    if (path.is_absolute() or ".." in path.parts) and not allow_outside:
        raise ValueError(f"path {_show(text)} leaves the manifest's folder (paths are relative to the "
                         "manifest; --allow-outside permits others)")
    return base / path  # an absolute path stays itself


def _text(raw: dict[str, Any], name: str, integers: bool = False) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if integers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {_kind(value)}")
    if len(value) > MAX_TEXT[name]:
        raise ValueError(f"{name} is longer than {MAX_TEXT[name]} characters")
    if "\x00" in value:
        raise ValueError(f"{name} contains a NUL character")
    return value or None


def _integer(raw: dict[str, Any], name: str, bounds: tuple[int, int], default: int) -> int:
    value = raw.get(name)
    if value is None:
        return default
    lo, hi = bounds
    number = _number(value)
    if number is None or not (lo <= number <= hi) or number != int(number):
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {_show(value)}")
    return int(number)


def _sla(value: Any) -> float | None:
    if value is None:
        return None
    number = _number(value)
    if number is None or not (0 < number <= MAX_SLA_MINUTES):
        raise ValueError(f"sla_minutes must be a number over 0 and at most {MAX_SLA_MINUTES}, got {_show(value)}")
    return float(number)


def _number(value: Any) -> int | float | Decimal | None:
    """The finite number value holds (a JSON number or a decimal string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= 100 and _NUMBER.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


def _reported_at(value: Any) -> str | None:
    if value is None or value == "":
        return None
    first, last = REPORTED_YEARS
    problem = f"reported_at must be an ISO 8601 time in the years {first} to {last}, got {_show(value)}"
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(problem)
    try:
        when = parse_iso(value)
        if not (datetime(first, 1, 1, tzinfo=UTC) <= when < datetime(last + 1, 1, 1, tzinfo=UTC)):
            raise ValueError(problem)
        return iso(when)
    except (ValueError, OverflowError):
        raise ValueError(problem) from None


def _kind(value: Any) -> str:
    return {type(None): "null", bool: "true/false", int: "a number", float: "a number",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
