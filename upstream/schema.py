"""Every table of the hub, declared once (SQLAlchemy Core) for SQLite and PostgreSQL alike.

Timestamps are text in one form, `moderator.clock.iso` (UTC, milliseconds, `Z`), as on the desk: they
compare and sort as text in both databases, so lease expiry and review order are plain comparisons.
Whoever writes a timestamp here normalises it with `iso(parse_iso(...))` first.
Migration 0001 (upstream/db.py) creates these tables; a later change to a table is a new numbered
migration there that alters it, and the column is added here too.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ROLES = ("moderator", "qa", "lead", "admin")
ITEM_STATUSES = ("pending", "decided", "escalated")
LEASE_END_REASONS = ("decided", "returned", "expired")
DECISION_STATUSES = ("accepted", "conflict")
BANK_KINDS = ("block", "allow")
BANK_ACTIONS = ("escalate", "remove", "allow", "flag")
QA_TASK_STATES = ("pending", "judged")
QA_LEASE_END_REASONS = ("judged", "expired")


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})")


schema_migrations = Table(
    "schema_migrations", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("applied_at", Text, nullable=False),
)

users = Table(
    "users", metadata,
    Column("name", Text, primary_key=True),
    Column("role", Text, _one_of("role", ROLES), nullable=False),
    Column("team", Text),  # the site or vendor (in-house, a BPO) the user works for
    Column("token_hash", Text, nullable=False, unique=True),  # sha256 hex of the bearer token
    Column("created_at", Text, nullable=False),
    Column("revoked_at", Text),
)

media = Table(
    "media", metadata,
    Column("sha256", Text, primary_key=True),
    Column("path", Text, nullable=False),  # relative to the hub's data dir
    Column("mime", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("duration_s", Float),
    Column("bytes", Integer, nullable=False),
    Column("added_at", Text, nullable=False),
)

items = Table(
    "items", metadata,
    Column("id", Text, primary_key=True),  # uuid4
    Column("sha256", Text, ForeignKey("media.sha256"), nullable=False),
    Column("external_id", Text, unique=True),  # the reporter's id; several NULLs are allowed
    Column("source_name", Text),
    Column("category", Text),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("reason", Text),
    Column("report_count", Integer, nullable=False, server_default="1"),
    Column("reported_at", Text),
    Column("sla_due_at", Text),
    Column("imported_at", Text, nullable=False),
    Column("status", Text, _one_of("status", ITEM_STATUSES), nullable=False, server_default="pending"),
    Column("suggested_label", Text),
    # The report's context (migration 0004_report_context; desk: moderator.manifest_context).
    Column("reporter", Text),
    Column("reported_account", Text),
    Column("post_text", Text),
    Column("source_url", Text),
    Column("original_name", Text),
    # The item's current lease, kept on the row itself: leasing locks and re-checks item rows
    # (FOR UPDATE SKIP LOCKED re-evaluates only the locked row's own columns), so "held until" must
    # live here, not only in `leases`.
    Column("lease_id", Text),
    Column("lease_expires_at", Text),
)
Index("items_queue", items.c.status, items.c.priority.desc(), items.c.sla_due_at, items.c.imported_at)
Index("items_sha256", items.c.sha256)

item_hashes = Table(
    "item_hashes", metadata,
    Column("item_id", Text, ForeignKey("items.id"), nullable=False),
    Column("sha256", Text, nullable=False),
    Column("signal_type", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("quality", Integer),
    Column("frame_index", Integer),
    Column("variant", Text),
    UniqueConstraint("item_id", "signal_type", "value", name="item_hashes_unique"),
)

banks = Table(
    "banks", metadata,
    Column("name", Text, primary_key=True),
    Column("kind", Text, _one_of("kind", BANK_KINDS), nullable=False),
    Column("signal_type", Text, nullable=False),
    Column("threshold", Integer, CheckConstraint("threshold >= 0"), nullable=False),
    Column("action", Text, _one_of("action", BANK_ACTIONS), nullable=False),
    Column("description", Text),
    Column("created_at", Text, nullable=False),
)

bank_entries = Table(
    "bank_entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bank", Text, ForeignKey("banks.name"), nullable=False),
    Column("signal_type", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Column("label", Text, nullable=False, server_default=""),
    Column("source", Text, nullable=False, server_default=""),
    Column("category", Text, nullable=False, server_default=""),
    Column("added_at", Text, nullable=False),
    Column("added_by", Text, nullable=False),
    Column("removed_at", Text),
    Column("version", Integer, nullable=False),  # the bank_changes version that added it
    sqlite_autoincrement=True,
)
# One live entry per (bank, signal, hash); a removed one may be added again later.
Index("bank_entries_live", bank_entries.c.bank, bank_entries.c.signal_type, bank_entries.c.hash,
      unique=True, sqlite_where=bank_entries.c.removed_at.is_(None),
      postgresql_where=bank_entries.c.removed_at.is_(None))

# The bank change log: one row per entry added or removed. `version` only grows (AUTOINCREMENT on
# SQLite; bank writes take a lock on PostgreSQL so versions commit in order), so
# GET /v1/banks/changes?since=V never misses a change.
bank_changes = Table(
    "bank_changes", metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("entry_id", Integer, ForeignKey("bank_entries.id"), nullable=False),
    Column("bank", Text, nullable=False),
    Column("op", Text, _one_of("op", ("add", "remove")), nullable=False),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    sqlite_autoincrement=True,
)

matches = Table(
    "matches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Text, ForeignKey("items.id"), nullable=False),
    Column("bank", Text, ForeignKey("banks.name"), nullable=False),
    Column("entry_id", Integer, ForeignKey("bank_entries.id"), nullable=False),
    Column("distance", Integer, nullable=False),
    Column("signal_type", Text, nullable=False),
    Column("label", Text, nullable=False, server_default=""),
    Column("query_hash", Text),
    Column("variant", Text),
    Column("matched_at", Text, nullable=False),
    UniqueConstraint("item_id", "entry_id", name="matches_unique"),
)
Index("matches_item", matches.c.item_id)

# Every lease ever handed out. `actor` is the user's name ("user" is a reserved word in PostgreSQL).
leases = Table(
    "leases", metadata,
    Column("lease_id", Text, primary_key=True),
    Column("item_id", Text, ForeignKey("items.id"), nullable=False),
    Column("actor", Text, nullable=False),
    Column("desk", Text, nullable=False),
    Column("acquired_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("ended_at", Text),
    Column("end_reason", Text, _one_of("end_reason", LEASE_END_REASONS)),
)
Index("leases_desk_live", leases.c.desk, leases.c.ended_at, leases.c.expires_at)
Index("leases_item", leases.c.item_id)

# Every decision the hub received and kept: `accepted` rows make up the log the replay reads
# (moderator.decision_log); `conflict` rows are evidence only and never stand.
decisions = Table(
    "decisions", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("uuid", Text, nullable=False, unique=True),
    Column("item_id", Text, ForeignKey("items.id"), nullable=False),
    Column("lease_id", Text),
    Column("actor", Text, nullable=False),
    Column("team", Text),
    Column("desk", Text, nullable=False),
    Column("labels", Text, nullable=False),  # a JSON list
    Column("action", Text, nullable=False),
    Column("decided_at", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("handle_ms", Integer, nullable=False, server_default="0"),
    Column("exposure_ms", Integer, nullable=False, server_default="0"),
    Column("batch_id", Text),
    Column("supersedes", Text),
    Column("qa_of", Text),
    Column("policy_version", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("note", Text),
    Column("status", Text, _one_of("status", DECISION_STATUSES), nullable=False),
    Column("reason", Text),  # why a conflict is one
    Column("escalation_target", Text),  # migration 0004_report_context: an escalation's policy target
    Column("escalation_reason", Text),
    sqlite_autoincrement=True,
)
Index("decisions_item", decisions.c.item_id, decisions.c.seq)
Index("decisions_actor", decisions.c.actor, decisions.c.seq)

# Every audit head a desk pushed (hash and count of its audit log), kept, so a desk whose log was
# cut short or rewritten shows up as a head that does not extend the previous one.
desk_heads = Table(
    "desk_heads", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("desk", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("audit_hash", Text, nullable=False),
    Column("audit_count", Integer, nullable=False),
    Column("received_at", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index("desk_heads_desk", desk_heads.c.desk, desk_heads.c.id)

policy = Table(
    "policy", metadata,
    Column("version", Text, primary_key=True),
    Column("text", Text, nullable=False),  # the policy TOML as the team wrote it
    Column("set_at", Text, nullable=False),
    Column("set_by", Text, nullable=False),
)


# QA on the hub (migration 0002_qa): batches of sampled decisions, one task per decision to re-review,
# and the leases that hand tasks to `qa` users. A task keeps its live lease on its own row, as items do,
# so leasing locks and re-checks task rows alone.
qa_batches = Table(
    "qa_batches", metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("analyst", Text),  # the qa user the batch is for; NULL: any qa user
    Column("strategy", Text, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("params", Text, nullable=False),  # JSON
)

qa_tasks = Table(
    "qa_tasks", metadata,
    Column("id", Text, primary_key=True),
    Column("batch_id", Text, ForeignKey("qa_batches.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("decision_uuid", Text, nullable=False),
    Column("analyst", Text),
    Column("stratum", Text),
    Column("state", Text, _one_of("state", QA_TASK_STATES), nullable=False, server_default="pending"),
    Column("lease_id", Text),
    Column("lease_expires_at", Text),
    Column("qa_uuid", Text),  # the accepted QA row that judged it
    Column("judged_at", Text),
)
Index("qa_tasks_open", qa_tasks.c.state, qa_tasks.c.batch_id, qa_tasks.c.position)
Index("qa_tasks_decision", qa_tasks.c.decision_uuid)

qa_leases = Table(
    "qa_leases", metadata,
    Column("lease_id", Text, primary_key=True),
    Column("task_id", Text, ForeignKey("qa_tasks.id"), nullable=False),
    Column("actor", Text, nullable=False),
    Column("desk", Text, nullable=False),
    Column("acquired_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("ended_at", Text),
    Column("end_reason", Text, _one_of("end_reason", QA_LEASE_END_REASONS)),
)
Index("qa_leases_task", qa_leases.c.task_id)
QA_TABLES = (qa_batches, qa_tasks, qa_leases)

# Golden items on the hub (migration 0003_golden): items with a known answer, imported by
# `moderator hub qa golden import`; in the queue like any other item, nothing on the wire says which.
golden_items = Table(
    "golden_items", metadata,
    Column("item_id", Text, ForeignKey("items.id"), primary_key=True),
    Column("labels", Text, nullable=False),  # the known answer, a JSON list
    Column("imported_at", Text, nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("origin", Text),  # the file or manifest row
)
GOLDEN_TABLES = (golden_items,)
