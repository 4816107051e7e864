"""Numbered migrations of the store, applied at start (sqlite-utils Migrations)."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("moderator")

APPEND_ONLY = ("decisions", "audit_log")


@migrations(name="0001_core")
def _core(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE media (
            sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, mime TEXT NOT NULL, kind TEXT NOT NULL,
            width INTEGER NOT NULL, height INTEGER NOT NULL, duration_s REAL, bytes INTEGER NOT NULL,
            added_at TEXT NOT NULL
        );
        CREATE TABLE items (
            id TEXT PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE REFERENCES media(sha256),
            external_id TEXT, source_name TEXT, category TEXT, priority INTEGER NOT NULL DEFAULT 0,
            reason TEXT, report_count INTEGER NOT NULL DEFAULT 1, reported_at TEXT,
            sla_minutes REAL, sla_due_at TEXT, imported_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
        );
        CREATE INDEX items_queue ON items(status, priority DESC, sla_due_at, imported_at);
        CREATE UNIQUE INDEX items_external ON items(external_id) WHERE external_id IS NOT NULL;
        CREATE TABLE decisions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,
            item_id TEXT NOT NULL REFERENCES items(id), labels TEXT NOT NULL, action TEXT NOT NULL,
            actor TEXT NOT NULL, decided_at TEXT NOT NULL, handle_ms INTEGER NOT NULL DEFAULT 0,
            exposure_ms INTEGER NOT NULL DEFAULT 0, batch_id TEXT, supersedes TEXT,
            policy_version TEXT NOT NULL, source TEXT NOT NULL, note TEXT
        );
        CREATE INDEX decisions_item ON decisions(item_id, seq);
        CREATE INDEX decisions_actor ON decisions(actor, seq);
        CREATE TABLE exposure_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL REFERENCES items(id),
            actor TEXT NOT NULL, category TEXT, started_at TEXT NOT NULL, ms INTEGER NOT NULL,
            kind TEXT NOT NULL, fraction REAL NOT NULL DEFAULT 1.0, decision_uuid TEXT
        );
        CREATE INDEX exposure_item ON exposure_events(item_id, actor, decision_uuid);
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, ref TEXT NOT NULL,
            payload TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
        );
        CREATE INDEX outbox_unsent ON outbox(sent_at, seq);
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
            event TEXT NOT NULL, subject TEXT, payload TEXT NOT NULL,
            prev_hash TEXT NOT NULL, hash TEXT NOT NULL
        );
        CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT);
        """
    )
    for table in APPEND_ONLY:
        for op in ("UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def apply_migrations(db: Database) -> None:
    migrations.apply(db)
