"""Read import manifests (.jsonl / .csv): one media file per row with its report metadata."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderator.clock import iso, parse_iso

MANIFEST_SUFFIXES = {".jsonl", ".csv"}
FIELDS = ("path", "external_id", "category", "priority", "reason", "reported_at", "sla_minutes", "report_count")


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


@dataclass(frozen=True)
class BadRow:
    origin: str
    reason: str


def is_manifest(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES


def read_manifest(path: Path) -> Iterator[Entry | BadRow]:
    """Yield an Entry per good row and a BadRow (with line number) per bad one."""
    rows = _jsonl_rows(path) if path.suffix.lower() == ".jsonl" else _csv_rows(path)
    for line, raw in rows:
        origin = f"{path.name}:{line}"
        if isinstance(raw, str):
            yield BadRow(origin, raw)
            continue
        try:
            yield _entry(raw, path.parent, origin)
        except (KeyError, TypeError, ValueError) as exc:
            yield BadRow(origin, _describe(exc))


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield n, f"not valid JSON ({exc.msg})"
                continue
            yield n, obj if isinstance(obj, dict) else "a row must be a JSON object"


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise ManifestError(f"{path}: a CSV manifest needs a header row with a 'path' column")
        for row in reader:
            yield reader.line_num, {k: v for k, v in row.items() if k and v not in (None, "")}


def _entry(raw: dict[str, Any], base: Path, origin: str) -> Entry:
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    path = Path(str(raw["path"]))
    priority = int(raw.get("priority", 0))
    sla = float(raw["sla_minutes"]) if raw.get("sla_minutes") not in (None, "") else None
    if sla is not None and sla <= 0:
        raise ValueError("sla_minutes must be positive")
    reported = iso(parse_iso(str(raw["reported_at"]))) if raw.get("reported_at") else None
    return Entry(
        path=path if path.is_absolute() else base / path,
        origin=origin,
        external_id=_opt(raw.get("external_id")),
        category=_opt(raw.get("category")),
        priority=priority,
        reason=_opt(raw.get("reason")),
        reported_at=reported,
        sla_minutes=sla,
        report_count=max(1, int(raw.get("report_count", 1))),
    )


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return f"bad value: {exc}"
