"""Opening the hub's database: SQLite (WAL, busy timeout, foreign keys, BEGIN IMMEDIATE writes) or
PostgreSQL (psycopg 3), and the numbered migrations, applied under a lock so several hub processes
starting together on a new database never race.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from moderator.clock import now_iso
from upstream import schema

BUSY_TIMEOUT_MS = 30_000


class HubDbError(ValueError):
    """A database URL or file the hub cannot use; one line."""


Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


def migration(version: int, name: str):
    """Register migration `version` (numbered from 1, applied in order, each once)."""
    def register(fn: Migration) -> Migration:
        MIGRATIONS.append((version, name, fn))
        MIGRATIONS.sort(key=lambda m: m[0])
        return fn
    return register


@migration(1, "0001_initial")
def _initial(conn: Connection) -> None:
    later = {"schema_migrations", *(t.name for t in schema.QA_TABLES + schema.GOLDEN_TABLES)}
    schema.metadata.create_all(conn, tables=[t for t in schema.metadata.sorted_tables if t.name not in later])


@migration(2, "0002_qa")
def _qa(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=list(schema.QA_TABLES))


@migration(3, "0003_golden")
def _golden(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=list(schema.GOLDEN_TABLES))


# Added by 0004 to tables 0001 made; a hub created after them gets them from 0001's create_all.
REPORT_CONTEXT_COLUMNS = {
    "items": ("reporter", "reported_account", "post_text", "source_url", "original_name"),
    "decisions": ("escalation_target", "escalation_reason"),
}


@migration(4, "0004_report_context")
def _report_context(conn: Connection) -> None:
    """The report's context on items and an escalation's target and reason on decisions (docs/HUB.md)."""
    for table, columns in REPORT_CONTEXT_COLUMNS.items():
        have = {c["name"] for c in inspect(conn).get_columns(table)}
        for column in columns:
            if column not in have:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} TEXT"))


def engine_url(url: str) -> str:
    """postgresql://… (the libpq form a team writes) as SQLAlchemy's psycopg 3 URL; sqlite:///… as is."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise HubDbError(f"not a database URL: {url!r} (postgresql://user@host:port/dbname or sqlite:///FILE)") \
            from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.drivername == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise HubDbError("the hub needs a SQLite file (sqlite:///FILE), not an in-memory database")
        return url
    raise HubDbError(f"unsupported database {parsed.drivername!r}: use postgresql://… or sqlite:///FILE")


def is_postgres(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "postgresql"


def open_hub(url: str, *, migrate: bool = True) -> Engine:
    """An engine on the hub database at `url`, migrated to the newest schema."""
    target = engine_url(url)
    if target.startswith("sqlite"):
        engine = _sqlite_engine(target)
    else:
        engine = create_engine(target, pool_size=10, max_overflow=30, pool_pre_ping=True)
    if migrate:
        apply_migrations(engine)
    return engine


def _sqlite_engine(url: str) -> Engine:
    path = Path(make_url(url).database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                           pool_size=10, max_overflow=30)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own is deferred, late)
        cur = dbapi_conn.cursor()
        for pragma in (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL", "synchronous = FULL",
                       "foreign_keys = ON"):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, so two writers never deadlock upgrading a read lock.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def write_tx(engine: Engine, lock: str | None = None) -> Iterator[Connection]:
    """One write transaction: BEGIN IMMEDIATE on SQLite (one writer at a time); on PostgreSQL, with
    `lock`, a transaction-scoped advisory lock on that name (writers of one kind serialise)."""
    with engine.connect() as conn:
        if not is_postgres(conn):
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if lock is not None:
                advisory_lock(conn, lock)
            yield conn


def advisory_lock(conn: Connection, name: str) -> None:
    """PostgreSQL: hold a transaction-scoped lock on `name` (no-op on SQLite, where BEGIN IMMEDIATE
    already serialises every writer)."""
    if is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(name.encode())})


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def apply_migrations(engine: Engine) -> list[int]:
    """Apply every migration not yet recorded in schema_migrations, in order; returns those applied."""
    with write_tx(engine, lock="moderator-hub-migrations") as conn:
        schema.schema_migrations.create(conn, checkfirst=True)
        done = set(conn.execute(select(schema.schema_migrations.c.version)).scalars())
        applied = []
        for version, name, fn in MIGRATIONS:
            if version in done:
                continue
            fn(conn)
            conn.execute(schema.schema_migrations.insert().values(version=version, name=name,
                                                                  applied_at=now_iso()))
            applied.append(version)
    return applied


def schema_version(engine: Engine) -> int:
    with read_tx(engine) as conn:
        if not inspect(conn).has_table("schema_migrations"):
            return 0
        return max(conn.execute(select(schema.schema_migrations.c.version)).scalars(), default=0)
