"""What of the store's file is checked when: every table but the bulk bank tables at each open, those when
their rows are read in bulk (the bank index rebuilt), the whole file on request (`moderator audit verify`).

SQLite's `PRAGMA quick_check(TABLE)` checks one table and its indexes (each page's structure, cells, key
order, and that each index has its rows); without a table it checks the whole file, which also walks the
freelist and finds pages used twice or by nobody. At 1M bank entries the whole-file check cost more than
the bank index's first match; bank_entries is read only when its index file is (re)built, so it is
checked there (docs/AUDIT.md, "What the store checks of its file").
"""

from __future__ import annotations

import sqlite3
from typing import Any

# Millions of rows, read in bulk only when the bank index is (re)built (moderator/bank_index.py).
BULK_TABLES = ("bank_entries",)
LIMIT = 3  # problems reported: the first few say where the damage is


def tables_checked_at_open(db: Any) -> list[str]:
    """Every table of the file, the schema table first, but BULK_TABLES; sqlite3.DatabaseError when the
    file is not a database at all."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY rowid")]
    return ["sqlite_schema"] + [n for n in names if n not in BULK_TABLES]


def quick_check(db: Any, table: str | None = None) -> list[str]:
    """The problems `PRAGMA quick_check` finds in `table` and its indexes (None: the whole file), as short
    lines; [] when it says ok. sqlite3.DatabaseError when the file cannot even be read that far."""
    arg = f"{LIMIT}" if table is None else '"' + table.replace('"', '""') + '"'  # a table or a limit, not both
    result = [r[0] for r in db.execute(f"PRAGMA quick_check({arg})")]
    if result == ["ok"]:
        return []
    return [line for r in result for line in str(r).splitlines() if not line.startswith("***")][:LIMIT]


def problems_at_open(db: Any) -> list[str]:
    """The first table with problems, its problems named after it; [] when every table checked is ok."""
    for table in tables_checked_at_open(db):
        problems = quick_check(db, table)
        if problems:
            return [f"{table}: {p}" for p in problems]
    return []


def is_damage(exc: BaseException) -> bool:
    """A read that failed on a damaged page ('database disk image is malformed', SQLITE_CORRUPT/NOTADB)."""
    if not isinstance(exc, sqlite3.DatabaseError) or isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in str(exc)
