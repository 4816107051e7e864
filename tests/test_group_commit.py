"""Group commit in the store's writer: writes queued while one runs commit together, each in its own
savepoint; a failing write undoes only itself; no caller hears "saved" before the commit and anchor."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import Future

import pytest

from moderator.cli import main
from storage import audit
from storage.audit_anchor import ANCHOR_NAME, read_anchor
from storage.store import GROUP_MAX, Store


def note(db, n: int) -> int:
    """A real audited write: one audit entry naming n."""
    audit.append(db, "tester", "note", f"n{n}", {"n": n})
    return n


def failing_note(db, n: int) -> int:
    note(db, n)
    raise ValueError(f"job {n} refused")


def notes(store: Store) -> list[str]:
    """The subjects of the audit entries, read on a connection of its own (what another process sees)."""
    conn = sqlite3.connect(store.path)
    try:
        return [r[0] for r in conn.execute("SELECT subject FROM audit_log WHERE event = 'note' ORDER BY seq")]
    finally:
        conn.close()


def held(store: Store) -> tuple[threading.Event, Future]:
    """Hold the writer inside a job until the event is set, so that what is submitted meanwhile queues."""
    release, started = threading.Event(), threading.Event()

    def hold(db) -> None:
        started.set()
        release.wait(30)

    future = store.submit(hold)
    assert started.wait(30)
    return release, future


def test_one_failing_job_of_a_group_keeps_the_others_and_loses_only_its_own_writes(store):
    release, first = held(store)
    futures = [store.submit(failing_note if n == 2 else note, n) for n in range(5)]
    release.set()
    first.result()
    assert [f.result() for i, f in enumerate(futures) if i != 2] == [0, 1, 3, 4]
    with pytest.raises(ValueError, match="job 2 refused"):
        futures[2].result()
    assert notes(store) == ["n0", "n1", "n3", "n4"]
    assert audit.verify(store.db) is None  # the chain has no hole where job 2's entry was


def test_a_future_resolves_only_once_its_group_is_committed_and_anchored(store):
    seen: dict[int, tuple[list[str], tuple]] = {}
    looked = [threading.Event() for _ in range(4)]

    def look(n: int):
        def on_done(_future: Future) -> None:  # runs on the writer thread, as the future resolves
            anchor = read_anchor(store.path.with_name(ANCHOR_NAME))
            seen[n] = (notes(store), (anchor.count, anchor.head))
            looked[n].set()
        return on_done

    release, first = held(store)
    futures = [store.submit(note, n) for n in range(4)]
    for n, f in enumerate(futures):
        f.add_done_callback(look(n))
    release.set()
    [f.result() for f in futures]
    assert all(e.wait(30) for e in looked)  # a waiter may wake before the callbacks have run
    head = audit.head(store.db)
    for n in range(4):  # every one saw the whole group committed (one commit), and the anchor at its head
        assert seen[n] == (["n0", "n1", "n2", "n3"], (head.count, head.head))


def test_a_failing_commit_fails_every_job_of_the_group_and_keeps_nothing(store):
    def dangling(db) -> None:  # a foreign key checked only at COMMIT
        db.execute("PRAGMA defer_foreign_keys = ON")
        db.execute("INSERT INTO items (id, sha256, imported_at, status) VALUES ('x', 'no-such-media', "
                   "'2026-01-01T00:00:00Z', 'pending')")

    release, first = held(store)
    futures = [store.submit(note, 0), store.submit(dangling), store.submit(note, 1)]
    release.set()
    first.result()
    for f in futures:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            f.result()
    assert notes(store) == []
    assert store.write(note, 7) == 7  # the writer goes on
    assert notes(store) == ["n7"]


def test_a_job_that_loses_the_whole_transaction_fails_alone_and_the_others_are_run_again(store):
    """The jobs run before it in the group lost their writes with it, not because of anything of
    theirs: they run again in a transaction of their own, as do those not run yet; a job that failed
    on its own keeps its own error."""
    def lose_it(db) -> None:
        db.execute("ROLLBACK")
        raise RuntimeError("transaction lost")

    release, first = held(store)
    futures = [store.submit(note, 0), store.submit(failing_note, 9), store.submit(lose_it),
               store.submit(note, 1), store.submit(note, 2)]
    release.set()
    first.result()
    with pytest.raises(ValueError, match="job 9 refused"):
        futures[1].result()
    with pytest.raises(RuntimeError, match="transaction lost"):
        futures[2].result()
    assert [futures[0].result(), futures[3].result(), futures[4].result()] == [0, 1, 2]
    assert notes(store) == ["n0", "n1", "n2"]
    assert store.write(note, 3) == 3  # the writer goes on


def test_more_than_a_group_queued_all_commit_in_order_and_close_commits_what_is_queued(tmp_path):
    store = Store(tmp_path / "data")
    release, first = held(store)
    futures = [store.submit(note, n) for n in range(GROUP_MAX * 2 + 5)]
    release.set()
    store.close()  # the stop is queued after them: every one is committed first
    assert [f.result() for f in futures] == list(range(len(futures)))
    with Store(tmp_path / "data") as again:
        assert notes(again) == [f"n{n}" for n in range(len(futures))]


def test_audit_verify_passes_after_grouped_writes(tmp_path, capsys):
    data = tmp_path / "data"
    with Store(data) as store:
        release, first = held(store)
        futures = [store.submit(failing_note if n % 3 == 0 else note, n) for n in range(20)]
        release.set()
        for f in futures:
            f.exception()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0, capsys.readouterr()
