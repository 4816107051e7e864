"""Spreadsheet-safe CSV cells (OWASP "CSV injection"): a cell a spreadsheet would run as a formula is
written with a leading single quote, and reading our own files takes it off again, so that
read(write(x)) == x for every value.

A cell is neutralised when it starts with `=`, `+`, `-`, `@`, a tab or a carriage return. So that the
quote can be told from one that belongs to the value, a value starting with a quote followed by one
of those (or by another quote) is prefixed too; nothing else is changed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTED_STARTS = (*FORMULA_STARTS, "'")


def neutralise(value: object) -> object:
    """The cell to write: strings that a spreadsheet would evaluate get a leading `'`; numbers and
    None are left alone (a number is never a formula)."""
    if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or _quoted(value)):
        return "'" + value
    return value


def restore(cell: str) -> str:
    """The value a cell written by `neutralise` stood for."""
    return cell[1:] if _quoted(cell) else cell


def _quoted(text: str) -> bool:
    return len(text) > 1 and text[0] == "'" and text[1:].startswith(_QUOTED_STARTS)


class SafeWriter:
    """csv.writer for files a person may open in a spreadsheet: every cell neutralised, and a row
    holding a carriage return quoted whole (Python 3.11's writer leaves a lone \\r unquoted when the
    line ends in \\n, and the reader then splits the row there)."""

    def __init__(self, f: TextIO) -> None:
        self._minimal = csv.writer(f, lineterminator="\n")
        self._quoted = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[Any]) -> None:
        cells = [neutralise(c) for c in row]
        has_cr = any(isinstance(c, str) and "\r" in c for c in cells)
        (self._quoted if has_cr else self._minimal).writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def numbered_rows(reader, header: list[str], value: Callable[[str], str] = str
                  ) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line the row starts on, {column: cell}) for each non-empty row after the header, or
    (line, reason) for a row whose cell count is not the header's. Quoted cells may span lines, so
    the line is counted by the reader, not by the rows; an empty cell is no value."""
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not cells:
            continue
        if len(cells) != len(header):
            yield start, f"{len(cells)} cells, but the header has {len(header)} columns"
            continue
        yield start, {k: value(v) for k, v in zip(header, cells, strict=True) if v != ""}
