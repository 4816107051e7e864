"""Read and write hash-bank files: our CSV, ThreatExchange's local-file lines and its dataset CSV.

Every line is validated by its SignalType; one bad line rejects the whole file, listing every problem.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from moderator.csv_cells import SafeWriter, restore
from moderator.gc_pause import collector_paused
from moderator.signals import SignalType, UnknownSignalError, get_signal

Format = Literal["csv", "te-lines", "te-csv"]
FORMATS: tuple[Format, ...] = ("csv", "te-lines", "te-csv")

CSV_COLUMNS = ("signal_type", "hash", "label", "source")
TE_CSV_COLUMNS = ("signal_type", "signal_str", "collab", "category", "tags")

# python-threatexchange names signal types by class (SignalType.get_name): PdqSignal -> "pdq",
# VideoMD5Signal -> "video_md5", VideoSHA256Signal -> "video_sha256". We write our own names, which are
# TE's for pdq; TE has no photo digests, and calling ours "video_*" would misdescribe them.
TE_SIGNAL_NAMES = {
    "pdq": "pdq",
    "photo_pdq": "pdq",
    "md5": "md5",
    "video_md5": "md5",
    "photo_md5": "md5",
    "sha256": "sha256",
    "video_sha256": "sha256",
    "photo_sha256": "sha256",
    "phash": "phash",
}


@dataclass(frozen=True)
class BankRow:
    """One bank entry. `category` is ThreatExchange's opinion (POSITIVE_CLASS, NEGATIVE_CLASS, ...):
    kept because a NEGATIVE_CLASS row belongs in an allow bank, never in a block bank."""

    signal_type: str
    hash: str
    label: str = ""
    source: str = ""
    category: str = ""


class BankFormatError(ValueError):
    """A bank file that cannot be read; `problems` lists every (line number, reason)."""

    def __init__(self, path: str | Path, problems: list[tuple[int, str]]) -> None:
        self.path, self.problems = Path(path), problems
        count = len(problems)
        line, reason = problems[0]
        noun = "invalid line" if count == 1 else "invalid lines"
        super().__init__(f"{self.path.name}: {count} {noun}, first at line {line}: {reason}")


def detect_format(path: str | Path) -> Format:
    """Which format a bank file is in, from its first line that is not blank or a comment."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        for line in f:
            text = line.strip()
            if text and not text.startswith("#"):
                return _format_of_header(text)
    return "te-lines"


def _format_of_header(text: str) -> Format:
    columns = {c.strip().lower() for c in text.split(",")}
    if "signal_str" in columns:
        return "te-csv"
    if "hash" in columns:
        return "csv"
    return "te-lines"


def read_bank_file(path: str | Path, fmt: str = "auto", signal_type: str | None = None) -> list[BankRow]:
    """Every row of a bank file, validated and normalised; BankFormatError (and no rows) on any problem.

    `signal_type` applies to lines and rows that do not name one (bare te-lines, CSV without the column).
    """
    default = get_signal(signal_type) if signal_type else None
    try:
        resolved = detect_format(path) if fmt == "auto" else fmt
        if resolved not in FORMATS:
            raise ValueError(f"unknown bank format {fmt!r} (known: auto, {', '.join(FORMATS)})")
        with collector_paused():  # a million rows: the collector would walk them again and again
            rows, problems = _read_rows(path, resolved, default)
    except UnicodeDecodeError as e:
        raise BankFormatError(path, [(1, f"not UTF-8 text ({e.reason} at byte {e.start})")]) from e
    if problems:
        raise BankFormatError(path, problems)
    return rows


def _read_rows(
    path: str | Path, fmt: str, default: SignalType | None
) -> tuple[list[BankRow], list[tuple[int, str]]]:
    rows: list[BankRow] = []
    problems: list[tuple[int, str]] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        parse = _parse_te_lines if fmt == "te-lines" else _parse_csv
        for line_no, row_or_reason in parse(f, fmt, default):
            if isinstance(row_or_reason, str):
                problems.append((line_no, row_or_reason))
            elif not problems:  # once anything is wrong nothing is returned, so stop collecting
                rows.append(row_or_reason)
    return rows, problems


Parsed = Iterator[tuple[int, "BankRow | str"]]


def _parse_te_lines(f: io.TextIOBase, _fmt: str, default: SignalType | None) -> Parsed:
    for line_no, line in enumerate(f, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, _, value = text.partition(" ")
        if not value:  # a bare hash: its type comes from the caller
            name, value = "", name
        yield line_no, _row(name, value, default)


def _parse_csv(f: io.TextIOBase, fmt: str, default: SignalType | None) -> Parsed:
    reader = csv.reader(f)
    header = next(reader, None)
    columns = _check_header(header, fmt, default)
    if isinstance(columns, str):
        yield max(reader.line_num, 1), columns
        return
    idx = [columns.get(name) for name in _wanted(fmt)]
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header or ()):
            yield reader.line_num, f"expected {len(header or ())} fields, got {len(cells)}"
            continue
        name, value, label, source, category = (restore(cells[i]) if i is not None else "" for i in idx)
        yield reader.line_num, _row(name, value, default, label, source, category)


def _wanted(fmt: str) -> tuple[str, ...]:
    """Column names feeding BankRow(signal_type, hash, label, source, category), per format."""
    if fmt == "te-csv":
        return ("signal_type", "signal_str", "tags", "collab", "category")
    return ("signal_type", "hash", "label", "source", "category")


def _check_header(header: list[str] | None, fmt: str, default: SignalType | None) -> dict[str, int] | str:
    """Column positions by name, or the reason the header is unusable."""
    if not header:
        return "missing header row"
    columns = {name.strip().lower(): i for i, name in enumerate(header)}
    required = ("signal_str",) if fmt == "te-csv" else ("hash",)
    if default is None:
        required = ("signal_type", *required)
    missing = [name for name in required if name not in columns]
    if missing:
        expected = ",".join(TE_CSV_COLUMNS if fmt == "te-csv" else CSV_COLUMNS)
        return f"header lacks {', '.join(missing)} (expected {expected})"
    unknown = [name for name in columns if name not in _wanted(fmt)]
    if unknown:
        return f"unknown column {unknown[0]!r}"
    return columns


def _row(name: str, value: str, default: SignalType | None, label: str = "", source: str = "",
         category: str = "") -> BankRow | str:
    """A validated row, or the reason it is invalid."""
    try:
        signal = _signal_for(name, default)
        return new_row(signal.name, signal.validate(value), label, source, category)
    except ValueError as e:
        return str(e)


def new_row(signal_type: str, hash_: str, label: str, source: str, category: str) -> BankRow:
    """BankRow(...) for the readers, without the frozen dataclass's __init__ (its object.__setattr__ per
    field: 0.7 against 0.3 us a row, a fifth of reading a million te-lines, timed on 2026-12-03).
    tests/test_bank_formats.py holds it equal to BankRow(...), field for field."""
    row = _NEW(BankRow)
    fields = row.__dict__
    fields["signal_type"], fields["hash"], fields["label"] = signal_type, hash_, label
    fields["source"], fields["category"] = source, category
    return row


_NEW = object.__new__


@lru_cache(maxsize=64)  # a million te-lines name "pdq" a million times
def _signal_for(name: str, default: SignalType | None) -> SignalType:
    if not name.strip():
        if default is None:
            raise ValueError("no signal type on the line and none given for the file")
        return default
    key = name.strip().lower()
    if key not in TE_SIGNAL_NAMES:
        raise UnknownSignalError(f"unknown signal type {name.strip()!r}")
    return get_signal(TE_SIGNAL_NAMES[key])


def write_bank_file(rows: Iterable[BankRow], path: str | Path, fmt: Format = "csv",
                    lossy: bool = False) -> int:
    """Write rows; returns how many. te-lines holds no label/source/category: writing rows that carry
    any raises ValueError unless `lossy` says dropping them is intended (e.g. sharing hashes only)."""
    rows = list(rows)
    if fmt == "te-lines" and not lossy and any(r.label or r.source or r.category for r in rows):
        raise ValueError("te-lines cannot hold labels, sources or categories; use csv or te-csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        if fmt == "te-lines":
            f.writelines(f"{r.signal_type} {r.hash}\n" for r in rows)
        elif fmt in ("csv", "te-csv"):
            _write_csv(f, rows, fmt)
        else:
            raise ValueError(f"unknown bank format {fmt!r} (known: {', '.join(FORMATS)})")
    return len(rows)


def _write_csv(f: io.TextIOBase, rows: list[BankRow], fmt: Format) -> None:
    """Cells a spreadsheet would run as formulas are neutralised; reading the file back restores them."""
    writer = SafeWriter(f)
    if fmt == "te-csv":
        writer.writerow(TE_CSV_COLUMNS)
        writer.writerows((r.signal_type, r.hash, r.source, r.category, r.label) for r in rows)
    elif any(r.category for r in rows):
        writer.writerow((*CSV_COLUMNS, "category"))
        writer.writerows((r.signal_type, r.hash, r.label, r.source, r.category) for r in rows)
    else:
        writer.writerow(CSV_COLUMNS)
        writer.writerows((r.signal_type, r.hash, r.label, r.source) for r in rows)

