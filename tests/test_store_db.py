"""The store's connection (storage/db.py): SQL through execute() as sqlite-utils' Database ran it, its
table API when asked for, the same PRAGMA either way; the migrations read as pending without
sqlite-utils are the ones sqlite-utils' Migrations finds pending. Real SQLite files."""

from __future__ import annotations

import copy
import sqlite3
import weakref

import pytest
from sqlite_utils import Database

from storage import schema
from storage.db import Db
from storage.store import Store, connect


def test_execute_and_the_table_api_share_one_connection(tmp_path):
    db = connect(tmp_path / "s.sqlite3")
    assert isinstance(db, Db) and db._utils is None
    assert db.execute("PRAGMA recursive_triggers").fetchone()[0] == 1  # as Database() sets it
    db.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    db.execute("INSERT INTO t VALUES (?, ?)", (1, "x"))
    db["t"].insert({"a": 2, "b": "y"})  # sqlite-utils' table API, made now on the same connection
    assert isinstance(db.utils, Database) and db.utils.conn is db.conn
    assert [tuple(r) for r in db.execute("SELECT a, b FROM t ORDER BY a")] == [(1, "x"), (2, "y")]
    assert db.table_names() == ["t"]  # any other attribute of the Database
    assert db.execute("PRAGMA recursive_triggers").fetchone()[0] == 1
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        db.execute("SELECT 1")


def test_a_bad_statement_raises_and_leaves_no_transaction_open(tmp_path):
    db = connect(tmp_path / "s.sqlite3")
    with pytest.raises(sqlite3.OperationalError):
        db.execute("INSERT INTO missing VALUES (1)")
    assert not db.conn.in_transaction
    db.close()


def test_it_can_be_held_weakly_and_dunders_do_not_make_the_database(tmp_path):
    db = connect(tmp_path / "s.sqlite3")
    assert weakref.ref(db)() is db  # audit's pending anchors, the matchers' cache
    assert not hasattr(db, "__deepcopy__") and not hasattr(db, "__array__")  # asked by copy, numpy, ...
    assert copy.copy(db).conn is db.conn
    assert db._utils is None  # none of that imported sqlite-utils for an answer
    db.close()


def test_pending_is_what_sqlite_utils_finds_pending(tmp_path):
    names = [name for name, _fn in schema._MIGRATIONS]
    fresh = Database(memory=True)
    assert schema.pending(fresh) == names == [m.name for m in schema.migrations.pending(fresh)]
    half = Database(memory=True)
    schema.migrations.apply(half, stop_before="0006_decision_qa_of")
    assert schema.pending(half) == [m.name for m in schema.migrations.pending(half)] == names[5:]
    with Store(tmp_path / "d") as store:  # a new store: applied through sqlite-utils (the subprocess test
        assert schema.pending(store.db) == []  # in test_startup.py: an up-to-date one never imports it)


def test_a_migration_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        schema.migration(schema._MIGRATIONS[0][0])(lambda db: None)
