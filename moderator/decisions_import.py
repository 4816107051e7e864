"""Read decision history in the export format (`moderator decisions export`, JSONL or CSV) for
`moderator decisions import`: each line checked on its own and turned into a HistoryRow, every field
as given. Pure reading: storage.decisions.import_history finds the items and checks the log.

A CSV cell written spreadsheet-safe by the export (a leading `'`) reads back as the value it stood for.
`external_id`, `sha256` and `media_path` are the export's description of the item: the first two may
find the item when this store knows it by another id (and must agree with it), the path is ignored.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderator.clock import parse_iso
from moderator.csv_cells import numbered_rows, restore
from moderator.domain import Action, Decision, DecisionSource
from moderator.export import COLUMNS
from moderator.manifest import jsonl_objects

FORMATS = {".jsonl": "jsonl", ".csv": "csv"}
REQUIRED = ("uuid", "action", "actor", "decided_at", "source")
TEXT_LIMIT = 10_000
MAX_MS = 10**12  # a handle or exposure time past ~30 years is a mistake, not history


class HistoryFileError(ValueError):
    """The file as a whole cannot be read (wrong kind, not UTF-8, broken CSV): nothing is imported."""


@dataclass(frozen=True)
class HistoryRow:
    line: int
    decision: Decision  # item_id as given ("" when the line names the item only by external_id/sha256)
    external_id: str | None
    sha256: str | None
    team: str | None


def read_history(path: Path) -> tuple[list[HistoryRow], list[tuple[int, str]]]:
    """Every good line as a HistoryRow and every bad one as (line number, why), in file order."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise HistoryFileError(f"{path.name}: decisions import reads .jsonl or .csv files (the export formats)")
    rows, problems = [], []
    for line, raw in (jsonl_objects(path) if kind == "jsonl" else _csv_objects(path)):
        if isinstance(raw, str):
            problems.append((line, raw))
            continue
        try:
            rows.append(parse_row(line, raw, csv_cells=kind == "csv"))
        except ValueError as exc:
            problems.append((line, str(exc)))
    return rows, problems


def _csv_objects(path: Path):
    """(line, {column: value}) per CSV row; an empty cell is no value."""
    out = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, strict=True)  # an unclosed quote is an error, not a cell to the end
            header = [c.strip() for c in next(reader, None) or []]
            unknown = [c for c in header if c not in COLUMNS]
            if not header or unknown or len(set(header)) != len(header):
                why = f"unknown columns {', '.join(map(repr, unknown))}" if unknown else "no header row, or a column twice"
                raise HistoryFileError(f"{path.name}:1: {why} (the export's columns: {', '.join(COLUMNS)})")
            out.extend(numbered_rows(reader, header, restore))
    except csv.Error as exc:
        raise HistoryFileError(f"{path.name}:{reader.line_num}: not valid CSV ({exc})") from None
    except UnicodeDecodeError:
        raise HistoryFileError(f"{path.name}: not UTF-8 text") from None
    return out


def parse_row(line: int, raw: dict[str, Any], *, csv_cells: bool = False) -> HistoryRow:
    """One line's fields as a HistoryRow; ValueError naming the first field that is wrong."""
    unknown = [k for k in raw if k not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (the export's fields: {', '.join(COLUMNS)})")
    missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise ValueError(f"missing field {missing[0]!r}")
    item_id, external_id, sha256 = (_text(raw, k) for k in ("item_id", "external_id", "sha256"))
    if not (item_id or external_id or sha256):
        raise ValueError("no item: give item_id (or external_id or sha256)")
    decided_at = _text(raw, "decided_at")
    try:
        parse_iso(decided_at)
    except ValueError:
        raise ValueError(f"decided_at {decided_at!r} is not an ISO 8601 time") from None
    action, source = _choice(raw, "action", Action), _choice(raw, "source", DecisionSource)
    decision = Decision(
        uuid=_text(raw, "uuid"), item_id=item_id or "", labels=_labels(raw.get("labels"), csv_cells),
        action=action, actor=_text(raw, "actor"), decided_at=decided_at,
        policy_version=_text(raw, "policy_version") or "", source=source,
        handle_ms=_ms(raw, "handle_ms"), exposure_ms=_ms(raw, "exposure_ms"), batch_id=_text(raw, "batch_id"),
        supersedes=_text(raw, "supersedes"), note=_text(raw, "note"), qa_of=_text(raw, "qa_of"),
        escalation_target=_text(raw, "escalation_target"), escalation_reason=_text(raw, "escalation_reason"))
    if (decision.escalation_target or decision.escalation_reason) and action is not Action.ESCALATE:
        raise ValueError("escalation_target and escalation_reason are only for an escalation")
    return HistoryRow(line, decision, external_id, sha256, _text(raw, "team"))


def _text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > TEXT_LIMIT or "\x00" in value:
        raise ValueError(f"{name} is longer than {TEXT_LIMIT} characters or holds a NUL")
    return value


def _choice(raw: dict[str, Any], name: str, kind) -> Any:
    value = _text(raw, name)
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is none of {', '.join(k.value for k in kind)}") from None


def _labels(value: Any, csv_cells: bool) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if csv_cells and isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("labels must be a list of label names (CSV: names joined with ';')")
    return tuple(value)


def _ms(raw: dict[str, Any], name: str) -> int:
    value = raw.get(name)
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MS:
        raise ValueError(f"{name} must be a whole number of milliseconds from 0 to {MAX_MS}, got {value!r}")
    return value
