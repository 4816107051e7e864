"""The store's connection as the code uses it: `execute()` and `conn`, with sqlite-utils' Database (its
table API and migrations) made on first use.

Almost every read and write here is SQL through `execute()`; sqlite-utils' `Database.execute` on these
connections (autocommit, `isolation_level=None`: no implicit transaction to commit or roll back) is
`conn.execute`. Importing sqlite-utils costs ~50 ms (click, pluggy, dateutil; bench/bench_startup.py),
which the desk's first item does not need: the first `db[...]`, or any other sqlite-utils attribute,
makes the Database then, on the same connection.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlite_utils import Database


class Db:
    """A connection with sqlite-utils' Database behind it. Made with the PRAGMA its Database() runs
    (recursive_triggers, the default there), so nothing behaves differently before or after it exists."""

    __slots__ = ("conn", "_utils", "__weakref__")  # caches keyed by connection hold it weakly

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._utils: Database | None = None
        conn.execute("PRAGMA recursive_triggers=on")

    def execute(self, sql: str, parameters: Sequence | dict[str, Any] | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)

    def close(self) -> None:
        self.conn.close()

    @property
    def utils(self) -> Database:
        """sqlite-utils' Database on this connection (made once). No plugins: no third-party code changes
        the store's connections, and the first plugin run scans every installed package's entry points."""
        if self._utils is None:
            from sqlite_utils import Database

            self._utils = Database(self.conn, execute_plugins=False)
        return self._utils

    def __getitem__(self, name: str):
        return self.utils[name]

    def __getattr__(self, name: str):  # anything else sqlite-utils' Database has
        if name.startswith("__") or name == "_utils":  # copy, pickle and a half-made Db: not the Database's
            raise AttributeError(name)
        return getattr(self.utils, name)
