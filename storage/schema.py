"""Numbered migrations of the store, applied at start (sqlite-utils Migrations).

A store already up to date (every open but the first after an upgrade) is told so by one read of
`_sqlite_migrations`, without importing sqlite-utils (~50 ms of the desk's start-up: storage/db.py);
anything pending is applied by sqlite-utils' Migrations, made from the list below then."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from storage import audit
from storage.db import Db

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

SET = "moderator"  # the migration set's name in _sqlite_migrations
_MIGRATIONS: list[tuple[str, Callable[[Db], None]]] = []  # (name, function), in order


def migration(name: str):
    """Register the decorated function as the migration `name`, after those registered before it."""
    def add(fn: Callable[[Db], None]) -> Callable[[Db], None]:
        if any(known == name for known, _fn in _MIGRATIONS):
            raise ValueError(f"migration {name} is registered twice")
        _MIGRATIONS.append((name, fn))
        return fn
    return add


def migration_set(db: Db | None = None) -> Migrations:
    """sqlite-utils' Migrations of every migration here. With db, each migration is given db itself,
    not the Database that sqlite-utils applies them on: what a migration leaves for after the commit
    (audit.append's anchor) is then found on the connection the store commits. Without db, the set
    as sqlite-utils has it, for tools and tests that apply or inspect it on a Database."""
    from sqlite_utils.migrations import Migrations

    made = Migrations(SET)
    for name, fn in _MIGRATIONS:
        made(name=name)(fn if db is None else _given(db, fn))
    return made


def _given(db: Db, fn: Callable[[Db], None]) -> Callable[[Database], None]:
    def run(_database: Database) -> None:
        fn(db)

    run.__name__ = fn.__name__
    return run


def __getattr__(name: str):
    if name == "migrations":  # storage.schema.migrations: the set, as sqlite-utils has it
        return migration_set()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

APPEND_ONLY = ("decisions", "audit_log")


@migration("0001_core")
def _core(db: Db) -> None:
    _script(db,
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


@migration("0002_banks")
def _banks(db: Db) -> None:
    """Hash banks, their entries, every item's hashes and the matches found, as evidence for routing.

    Entries are unique per (bank, signal_type, hash) rather than (bank, hash): a SHA-256 and a PDQ hash
    are both 64 hex chars and must not collide. Entry ids are rowids, so the per-bank index is
    also the order entries were added, which keeps in-memory indexes incremental.
    """
    _script(db,
        """
        CREATE TABLE banks (
            name TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('block', 'allow')),
            signal_type TEXT NOT NULL, threshold INTEGER NOT NULL CHECK (threshold >= 0),
            action TEXT NOT NULL CHECK (action IN ('escalate', 'remove', 'allow', 'flag')),
            created_at TEXT NOT NULL, description TEXT
        );
        CREATE TABLE bank_entries (
            id INTEGER PRIMARY KEY, bank TEXT NOT NULL REFERENCES banks(name), signal_type TEXT NOT NULL,
            hash TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL DEFAULT '', added_at TEXT NOT NULL, added_by TEXT NOT NULL,
            UNIQUE (bank, signal_type, hash)
        );
        CREATE INDEX bank_entries_order ON bank_entries(bank, signal_type, id);
        CREATE TABLE hashes (
            item_id TEXT NOT NULL REFERENCES items(id), signal_type TEXT NOT NULL, value TEXT NOT NULL,
            quality INTEGER, computed_at TEXT NOT NULL, frame_index INTEGER, time_s REAL,
            PRIMARY KEY (item_id, signal_type, value)
        );
        CREATE TABLE matches (
            id INTEGER PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id),
            bank TEXT NOT NULL REFERENCES banks(name), entry_id INTEGER NOT NULL REFERENCES bank_entries(id),
            signal_type TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', distance INTEGER NOT NULL,
            query_hash TEXT NOT NULL, variant TEXT, time_s REAL, matched_at TEXT NOT NULL,
            UNIQUE (item_id, entry_id)
        );
        CREATE INDEX matches_bank ON matches(bank, matched_at);
        ALTER TABLE items ADD COLUMN hashed_at TEXT;
        ALTER TABLE items ADD COLUMN suggested_label TEXT;
        CREATE INDEX items_unhashed ON items(imported_at, id) WHERE hashed_at IS NULL;
        """
    )


@migration("0003_audit_rows")
def _audit_rows(db: Db) -> None:
    """Audit entries carry the hashes of the rows they record (`records`) and say how their own hash was
    made (`mac`: v1 for the entries before this migration, sha256, or hmac-sha256 with the audit key).
    A store that already holds rows gets one "audit_baseline" entry recording all of them, so that
    verify can check them from here on (docs/AUDIT.md)."""
    _script(db,
        f"""
        ALTER TABLE audit_log ADD COLUMN records TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE audit_log ADD COLUMN mac TEXT NOT NULL DEFAULT '{audit.LEGACY}';
        """
    )
    records = audit.baseline_records(db)
    if any(records):
        audit.append(db, "moderator", "audit_baseline", None, {"migration": "0003_audit_rows"}, records)


@migration("0004_relative_media")
def _relative_media(db: Db) -> None:
    """Media paths relative to the data dir (queries resolve them with media_file()), so a moved
    data dir or one given as a relative path keeps finding its files."""
    main = next(r for r in db.execute("PRAGMA database_list") if r[1] == "main")[2]
    if not main:
        return  # an in-memory database has no data dir
    prefix = str(Path(main).parent) + os.sep
    db.execute("UPDATE media SET path = substr(path, ?) WHERE substr(path, 1, ?) = ?",
               (len(prefix) + 1, len(prefix), prefix))


@migration("0005_items_share_media")
def _items_share_media(db: Db) -> None:
    """Items are reports, media is content: the same image reported twice is two items sharing one
    media row, so `items.sha256` loses its UNIQUE. SQLite cannot drop a constraint, so the table is
    rebuilt with every row, rowid and value as it was (the audit log's item views stay valid), and
    its indexes are recreated. `PRAGMA foreign_keys` cannot be switched off inside the migration's
    transaction: the checks are deferred instead, and every child row (decisions, exposure events,
    hashes, matches) finds its item again before the commit.

    `media_hashes` holds what was computed from a media file's content (digests, PDQ with its 8
    dihedral variants, pHash, frame PDQs), so an item sharing the file is matched without decoding it
    again; `hashes` stays the per-item record of what each item was matched with."""
    deferred = db.execute("PRAGMA defer_foreign_keys").fetchone()[0]
    db.execute("PRAGMA defer_foreign_keys = ON")
    columns = [r[1] for r in db.execute("PRAGMA table_info(items)")]
    names = ", ".join(columns)
    db.execute(f"CREATE TABLE _items_0005 AS SELECT rowid AS _rowid, {names} FROM items")
    db.execute("DROP TABLE items")
    _script(db,
        """
        CREATE TABLE items (
            id TEXT PRIMARY KEY, sha256 TEXT NOT NULL REFERENCES media(sha256),
            external_id TEXT, source_name TEXT, category TEXT, priority INTEGER NOT NULL DEFAULT 0,
            reason TEXT, report_count INTEGER NOT NULL DEFAULT 1, reported_at TEXT,
            sla_minutes REAL, sla_due_at TEXT, imported_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending', hashed_at TEXT, suggested_label TEXT
        );
        CREATE INDEX items_queue ON items(status, priority DESC, sla_due_at, imported_at);
        CREATE UNIQUE INDEX items_external ON items(external_id) WHERE external_id IS NOT NULL;
        CREATE INDEX items_unhashed ON items(imported_at, id) WHERE hashed_at IS NULL;
        CREATE INDEX items_media ON items(sha256);
        CREATE TABLE media_hashes (
            sha256 TEXT NOT NULL REFERENCES media(sha256), signal_type TEXT NOT NULL, value TEXT NOT NULL,
            quality INTEGER, frame_index INTEGER, time_s REAL, variant TEXT, computed_at TEXT NOT NULL
        );
        CREATE INDEX media_hashes_sha ON media_hashes(sha256);
        """
    )
    db.execute(f"INSERT INTO items (rowid, {names}) SELECT _rowid, {names} FROM _items_0005 ORDER BY _rowid")
    db.execute("DROP TABLE _items_0005")
    db.execute(f"PRAGMA defer_foreign_keys = {int(deferred)}")


def _script(db: Db, sql: str) -> None:
    """Run a script's statements one by one: `executescript` would COMMIT first and then run
    outside the migration's transaction, so a failure half-way would leave half a schema."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def pending(db: Db | Database) -> list[str]:
    """The migrations not applied to db yet, in order (a read: no sqlite-utils needed)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'").fetchone():
        applied = {r[0] for r in db.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [SET])}
    else:
        applied = set()
    return [name for name, _fn in _MIGRATIONS if name not in applied]


def apply_migrations(db: Db | Database) -> None:
    """Apply what is pending (sqlite-utils' Migrations.apply, on its Database of this connection)."""
    if pending(db):
        if isinstance(db, Db):  # a store's connection: sqlite-utils applies them on its Database, given db
            migration_set(db).apply(db.utils)
        else:
            migration_set().apply(db)


@migration("0006_decision_qa_of")
def _decision_qa_of(db: Db) -> None:
    """A QA row names the decision it re-reviews (`qa_of`; docs/DECISIONS.md), audited by a view of its
    own (`decision_qa`) so that the records of earlier decisions keep their hash. Indexes for the
    replay's look-ups: undo rows by the row they supersede, batch members, QA rows by their target."""
    _script(db,
        """
        ALTER TABLE decisions ADD COLUMN qa_of TEXT;
        CREATE INDEX decisions_supersedes ON decisions(supersedes);
        CREATE INDEX decisions_batch ON decisions(batch_id);
        CREATE INDEX decisions_qa_of ON decisions(qa_of);
        """
    )


@migration("0007_hub_sync")
def _hub_sync(db: Db) -> None:
    """What the desk's sync with a team hub keeps (docs/HUB.md, "The desk's sync client"): where an item
    came from (`origin`: local import or a hub lease, whose item id is the hub's), every lease received
    and what became of it (`hub_leases`: fetching its media, held, returned, expired, decided, refused),
    decisions the hub refused for good (`outbox.rejected_at`; `last_error` says why) or found decided
    elsewhere (`sync_conflicts`), and bank entries the hub removed (`hub_bank_removals`: local entries
    are append-only, so a removal is recorded, not applied). The desk's id is made in `sync_state`
    the first time the desk syncs (storage.sync.ensure_desk_id), not here."""
    _script(db,
        """
        ALTER TABLE items ADD COLUMN origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'hub'));
        ALTER TABLE outbox ADD COLUMN rejected_at TEXT;
        CREATE INDEX outbox_pending ON outbox(seq) WHERE sent_at IS NULL AND rejected_at IS NULL;
        CREATE TABLE hub_leases (
            lease_id TEXT PRIMARY KEY, item_id TEXT NOT NULL, sha256 TEXT NOT NULL, expires_at TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('fetching', 'held', 'returned', 'expired', 'decided', 'refused')),
            leased_at TEXT NOT NULL, changed_at TEXT NOT NULL, item TEXT NOT NULL, reason TEXT
        );
        CREATE INDEX hub_leases_item ON hub_leases(item_id, leased_at);
        CREATE INDEX hub_leases_state ON hub_leases(state, leased_at);
        CREATE TABLE sync_conflicts (
            id INTEGER PRIMARY KEY, decision_uuid TEXT NOT NULL UNIQUE, item_id TEXT NOT NULL,
            reason TEXT NOT NULL, at TEXT NOT NULL
        );
        CREATE TABLE hub_bank_removals (
            id INTEGER PRIMARY KEY, bank TEXT NOT NULL, signal_type TEXT NOT NULL, hash TEXT NOT NULL,
            version INTEGER NOT NULL, at TEXT NOT NULL, UNIQUE (bank, signal_type, hash, version)
        );
        """
    )


@migration("0008_qa")
def _qa(db: Db) -> None:
    """QA (docs/QA.md): a batch of sampled decisions to re-review (`qa_batches`: who drew it, how, with
    which seed and filters) and one task per sampled decision (`qa_tasks`: whose it is and what became
    of it: pending, agreed, disagreed, resolved, left for the lead; `qa_uuid` is the QA row the judgement
    wrote, `resolution_uuid` the one a resolution wrote). `golden_items`: items with a known answer,
    held out of the queue until mixed in (`position`: the seeded order they are mixed in). `decision_teams`:
    the team an imported decision names (in-house site or vendor), kept beside the append-only row."""
    _script(db,
        """
        CREATE TABLE qa_batches (
            id TEXT PRIMARY KEY, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
            strategy TEXT NOT NULL CHECK (strategy IN ('random', 'stratified', 'targeted')),
            seed INTEGER NOT NULL, params TEXT NOT NULL
        );
        CREATE TABLE qa_tasks (
            id TEXT PRIMARY KEY, batch_id TEXT NOT NULL REFERENCES qa_batches(id), position INTEGER NOT NULL,
            decision_uuid TEXT NOT NULL REFERENCES decisions(uuid), analyst TEXT NOT NULL, reason TEXT,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'agreed', 'disagreed', 'resolved', 'left_for_lead')),
            qa_uuid TEXT, resolution_uuid TEXT, note TEXT, changed_at TEXT NOT NULL,
            UNIQUE (batch_id, position)
        );
        CREATE INDEX qa_tasks_open ON qa_tasks(analyst, state);
        CREATE INDEX qa_tasks_decision ON qa_tasks(decision_uuid);
        CREATE TABLE golden_items (
            item_id TEXT PRIMARY KEY REFERENCES items(id), labels TEXT NOT NULL, position INTEGER NOT NULL,
            imported_at TEXT NOT NULL, imported_by TEXT NOT NULL, origin TEXT
        );
        CREATE INDEX golden_items_position ON golden_items(position);
        CREATE TABLE decision_teams (
            uuid TEXT PRIMARY KEY REFERENCES decisions(uuid), team TEXT NOT NULL
        );
        """
    )


@migration("0009_skip_until")
def _skip_until(db: Db) -> None:
    """A skipped item is hidden from this desk's queue until `skip_until` (ISO UTC; the skip's own
    time plus the skip_hide_minutes setting, or the item's SLA due time when that comes first). NULL:
    not hidden (never skipped, or skipped before this migration). The skip's audit entry records it."""
    _script(db, "ALTER TABLE items ADD COLUMN skip_until TEXT")


@migration("0010_report_context")
def _report_context(db: Db) -> None:
    """What the report said besides its reason (README, manifest fields; docs/HUB.md, the lease
    payload): who reported, which account was reported, the post's text or caption, where it was
    posted and the file's name there. An escalation's target and reason (resources/policy.toml,
    `[escalation]`) are kept on its decision row; earlier rows have NULL (not an escalation to anywhere
    in particular). The `decision` audit view is unchanged, so earlier records keep their hash; the new
    values are audited through the decision's outbox message, which carries them (docs/HUB.md)."""
    _script(db,
        """
        ALTER TABLE items ADD COLUMN reporter TEXT;
        ALTER TABLE items ADD COLUMN reported_account TEXT;
        ALTER TABLE items ADD COLUMN post_text TEXT;
        ALTER TABLE items ADD COLUMN source_url TEXT;
        ALTER TABLE items ADD COLUMN original_name TEXT;
        CREATE INDEX items_reported_account ON items(reported_account) WHERE reported_account IS NOT NULL;
        ALTER TABLE decisions ADD COLUMN escalation_target TEXT;
        ALTER TABLE decisions ADD COLUMN escalation_reason TEXT;
        """
    )


@migration("0011_bank_entry_counts")
def _bank_entry_counts(db: Db) -> None:
    """How many entries each (bank, signal type) holds, kept by storage.banks.add_entries in the same
    transaction as the rows (the one path that writes bank_entries; entries are never deleted): a new
    process checks a saved bank index against it instead of counting millions of rows (COUNT(*) over
    10M entries: 0.5-0.8 s on a 2-core VM). A trigger would keep it too, and made a 1M-row import 1.7x
    slower. Filled here from the rows a store already holds."""
    _script(db,
        """
        CREATE TABLE bank_entry_counts (
            bank TEXT NOT NULL REFERENCES banks(name), signal_type TEXT NOT NULL,
            entries INTEGER NOT NULL CHECK (entries >= 0), PRIMARY KEY (bank, signal_type)
        ) WITHOUT ROWID;
        INSERT INTO bank_entry_counts (bank, signal_type, entries)
            SELECT bank, signal_type, COUNT(*) FROM bank_entries GROUP BY bank, signal_type;
        """
    )
