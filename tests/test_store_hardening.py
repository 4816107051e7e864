"""The store keeps its promises: pragmas on every connection, BEGIN IMMEDIATE writes, race-free
migrations, private files, read-only evidence copies, damaged files refused, relative media paths."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from moderator.cli import main
from moderator.ingest import import_paths
from moderator.policy import load_policy
from moderator.review import ReviewService
from storage.schema import migrations
from storage.store import Store, StoreError

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def filled_store(data: Path, folder: Path) -> Path:
    with Store(data) as store:
        import_paths(store, [folder], "tester", policy=load_policy())
        service = ReviewService(store, load_policy(), "tester")
        first = service.queue()[0]
        service.decide(first.id, "spam")
    return data


# -- pragmas ---------------------------------------------------------------------------------------
def test_every_connection_has_the_store_pragmas_and_readers_cannot_write(store):
    writer = store.write(lambda db: [db.execute(f"PRAGMA {p}").fetchone()[0]
                                     for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")])
    assert writer == ["wal", 2, 1, 30000]  # synchronous 2 = FULL: a returned write survives kill -9
    reader = [store.db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("journal_mode", "foreign_keys", "busy_timeout")]
    assert reader == ["wal", 1, 30000]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.db.execute("INSERT INTO sync_state (key, value) VALUES ('x', 'y')")


# -- BEGIN IMMEDIATE ---------------------------------------------------------------------------------
def test_a_write_that_reads_first_waits_for_another_writer_instead_of_failing(tmp_path):
    """Two stores on one file are two processes to SQLite. B reads, A commits, B writes: with a
    deferred BEGIN, B's snapshot is stale and its write fails at once with "database is locked"."""
    a, b = Store(tmp_path / "d"), Store(tmp_path / "d")
    a_holds, b_read = threading.Event(), threading.Event()

    def slow_a(db):
        a_holds.set()
        b_read.wait(timeout=1.0)  # with BEGIN IMMEDIATE, B cannot start until A commits
        db.execute("INSERT INTO sync_state (key, value) VALUES ('a', '1')")

    def b_reads_then_writes(db):
        n = db.execute("SELECT COUNT(*) FROM sync_state").fetchone()[0]
        b_read.set()
        db.execute("INSERT INTO sync_state (key, value) VALUES ('b', ?)", (str(n),))

    try:
        fa = a.submit(slow_a)
        assert a_holds.wait(timeout=10)
        b.write(b_reads_then_writes)
        fa.result(timeout=30)
        rows = dict(a.db.execute("SELECT key, value FROM sync_state").fetchall())
    finally:
        a.close()
        b.close()
    assert rows == {"a": "1", "b": "1"}  # B ran after A, and saw A's row


def test_stores_opened_at_once_on_a_new_folder_apply_the_migrations_once(tmp_path):
    code = ("import sys; from storage.store import Store; s = Store(sys.argv[1]); s.close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "new")], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    with Store(tmp_path / "new", readonly=True) as store:
        applied = [r[0] for r in store.db.execute("SELECT name FROM _sqlite_migrations")]
    assert applied == [m.name for m in migrations.pending(__import__("sqlite_utils").Database(memory=True))]


def test_migrations_wait_for_a_writer_holding_the_lock(tmp_path):
    """A writer holds the lock while two threads open the new store: both wait, neither half-migrates."""
    folder = tmp_path / "new"
    folder.mkdir(mode=0o700)
    holder = sqlite3.connect(folder / Store.FILENAME, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    results: list[object] = []

    def open_it():
        try:
            Store(folder).close()
            results.append("ok")
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            results.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for t in threads:
        t.start()
    threading.Event().wait(0.3)  # let both reach the lock
    holder.execute("COMMIT")
    holder.close()
    for t in threads:
        t.join(timeout=60)
    assert results == ["ok", "ok"]


# -- permissions -----------------------------------------------------------------------------------
def test_demo_creates_every_folder_and_file_private(tmp_path, capsys):
    base = tmp_path / "fresh" / "data"
    code, _, err = run(capsys, "demo", "--data-dir", base)
    assert code == 0, err
    for folder in (tmp_path / "fresh", base, base / "demo", base / "demo" / "media"):
        assert mode(folder) == 0o700, folder
    store_files = [p for p in (base / "demo").iterdir() if p.name.startswith(Store.FILENAME)]
    assert store_files and all(mode(p) == 0o600 for p in store_files), [(p.name, oct(mode(p))) for p in store_files]
    media = [p for p in (base / "demo" / "media").rglob("*")]
    assert media and all(mode(p) == (0o700 if p.is_dir() else 0o600) for p in media)


@pytest.mark.parametrize("loose", [0o755, 0o777, 0o750])
def test_an_existing_data_dir_open_to_others_is_tightened(tmp_path, loose, capsys, good_folder):
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, loose)
    code, _, err = run(capsys, "import", good_folder, "--data-dir", data)
    assert code == 0, err
    assert mode(data) == 0o700
    assert all(mode(p) == 0o600 for p in data.iterdir() if p.is_file())


def test_a_data_dir_of_another_user_open_to_all_is_refused(tmp_path, capsys, good_folder):
    if os.geteuid() == 0:
        data = tmp_path / "theirs"
        data.mkdir()
        os.chown(data, 65534, 65534)
        os.chmod(data, 0o777)
    else:  # not root: /tmp is the folder of another user (root) that everyone can write
        data = Path("/tmp")
        assert data.stat().st_uid != os.geteuid() and mode(data) & 0o002
    before = mode(data)
    code, _, err = run(capsys, "import", good_folder, "--data-dir", data)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "open to other users" in err
    assert not (data / Store.FILENAME).exists() and mode(data) == before


# -- read-only evidence ----------------------------------------------------------------------------
READ_ONLY_COMMANDS = [
    ["queue"], ["queue", "--json"], ["audit", "verify"], ["decisions", "export", "--format", "csv"],
    ["exposure"], ["bank", "list"],
]


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    """A cleanly closed store copied onto a read-only file system (root can write through chmod)."""
    from tests.conftest import photo, write_image

    work = tmp_path_factory.mktemp("evidence")
    folder = work / "media-in"
    folder.mkdir()
    for name in ("astronaut", "coffee"):
        write_image(folder / f"{name}.jpg", photo(name))
    source = filled_store(work / "live", folder)
    mount = work / "ro"
    mount.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "none", str(mount)], capture_output=True).returncode == 0
    shutil.copytree(source, mount / "copy")
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    else:  # a user is held to chmod (root without mount rights is not: then only "nothing changed" holds)
        for p in [mount / "copy", *(mount / "copy").rglob("*")]:
            os.chmod(p, 0o555 if p.is_dir() else 0o444)
    yield mount / "copy"
    if mounted:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("argv", READ_ONLY_COMMANDS, ids=" ".join)
def test_read_only_commands_work_on_a_read_only_copy(evidence, argv, capsys):
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in evidence.iterdir() if p.is_file()}
    code, out, err = run(capsys, *argv, "--data-dir", evidence)
    assert code == 0, err
    assert "readonly" not in err
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in evidence.iterdir() if p.is_file()}
    assert after == before


def test_a_read_only_store_refuses_writes(evidence):
    with Store(evidence, readonly=True) as store:
        assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 1
        with pytest.raises(StoreError, match="read-only"):
            store.write(lambda db: None)


def test_read_only_commands_never_create_a_store(tmp_path, capsys):
    for argv in READ_ONLY_COMMANDS:
        code, _, err = run(capsys, *argv, "--data-dir", tmp_path / "none")
        assert code == 2 and "no store" in err
    assert not (tmp_path / "none").exists()


# -- damaged files ---------------------------------------------------------------------------------
def damage(path: Path) -> None:
    """Overwrite the middle of the file's second page (a b-tree page) with noise; the header stays."""
    raw = bytearray(path.read_bytes())
    page = int.from_bytes(raw[16:18], "big") or 65536
    raw[page + 8: page + 400] = bytes(range(256)) + bytes(136)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["garbage", "damaged"])
def test_a_bad_database_file_is_one_line_for_the_cli_and_the_desk(tmp_path, good_folder, how, capsys):
    data = tmp_path / "data"
    if how == "garbage":
        data.mkdir(mode=0o700)
        (data / Store.FILENAME).write_bytes(b"this is not a database, it is a note\n" * 200)
    else:
        filled_store(data, good_folder)
        damage(data / Store.FILENAME)
    code, _, err = run(capsys, "queue", "--data-dir", data)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "not a usable store" in err or "damaged" in err
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    desk = subprocess.run([sys.executable, "-m", "moderator", "desk", "--data-dir", str(data)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)
    assert desk.returncode != 0 and "Traceback" not in desk.stderr
    assert len(desk.stderr.strip().splitlines()) == 1 and str(data) in desk.stderr


# -- media paths -----------------------------------------------------------------------------------
def test_media_paths_are_relative_so_a_moved_data_dir_still_matches(tmp_path, good_folder, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "import", good_folder, "--data-dir", "rel")  # a relative --data-dir
    assert code == 0, err
    with Store(tmp_path / "rel", readonly=True) as store:
        paths = [r[0] for r in store.db.execute("SELECT path FROM media")]
    assert paths and all(not os.path.isabs(p) and p.startswith("media") for p in paths)
    shutil.move(tmp_path / "rel", tmp_path / "moved")
    monkeypatch.chdir(ROOT)
    code, _, err = run(capsys, "bank", "create", "b", "--kind", "block", "--data-dir", tmp_path / "moved")
    assert code == 0, err
    code, out, err = run(capsys, "match", "--pending", "--json", "--data-dir", tmp_path / "moved")
    assert code == 0 and '"failed": []' in out, (out, err)
    with Store(tmp_path / "moved", readonly=True) as store:
        assert store.db.execute("SELECT COUNT(*) FROM items WHERE hashed_at IS NULL").fetchone()[0] == 0


def test_the_migration_makes_old_absolute_paths_relative(tmp_path, good_folder):
    data = tmp_path / "data"
    filled_store(data, good_folder)
    raw = sqlite3.connect(data / Store.FILENAME, isolation_level=None)
    raw.execute("UPDATE media SET path = ? || '/' || path", (str(data),))  # as the old code stored them
    raw.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_relative_media'")
    raw.close()
    with Store(data) as store:
        paths = [r[0] for r in store.db.execute("SELECT path FROM media")]
        items = ReviewService(store, load_policy(), "t").queue()
    assert all(not os.path.isabs(p) for p in paths)
    assert items and all(Path(i.media_path).is_file() for i in items)


# -- failed commands leave nothing -------------------------------------------------------------------
def test_a_failed_bank_import_on_a_new_data_dir_leaves_no_store(tmp_path, capsys):
    bad = tmp_path / "bank.csv"
    bad.write_text("hash,label,source\nnot-a-hash,spam,x\n")
    code, _, err = run(capsys, "bank", "import", bad, "--name", "b", "--kind", "block", "--data-dir", tmp_path / "new")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("argv", [["decisions", "export", "--out", "{dir}"],
                                  ["bank", "export", "b", "--format", "csv", "--out", "{dir}"]])
def test_out_pointing_at_a_folder_is_a_usage_error(tmp_path, argv, capsys, good_folder):
    data = filled_store(tmp_path / "data", good_folder)
    run(capsys, "bank", "create", "b", "--kind", "block", "--data-dir", data)
    code, _, err = run(capsys, *[a.format(dir=tmp_path) for a in argv], "--data-dir", data)
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1


def test_a_file_name_with_a_newline_cannot_forge_output_lines(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x.jpg\nimported 99, skipped 0").write_text("not an image")
    code, out, err = run(capsys, "import", folder, "--data-dir", tmp_path / "d")
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "\\n" in err
    assert out.strip().splitlines() == ["imported 0, skipped 1"]


def test_a_closed_store_is_whole_in_its_one_file(tmp_path, good_folder):
    """The writer closes last and checkpoints: a copy of store.sqlite3 alone holds every decision."""
    data = filled_store(tmp_path / "data", good_folder)
    assert not (data / f"{Store.FILENAME}-wal").exists()
    (tmp_path / "copy").mkdir()
    shutil.copy(data / Store.FILENAME, tmp_path / "copy" / Store.FILENAME)
    with Store(tmp_path / "copy", readonly=True) as store:
        assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 1


def test_a_write_after_close_is_refused_at_once_never_left_waiting(tmp_path):
    store = Store(tmp_path / "d")
    queued = [store.submit(lambda db, n=n: db.execute("INSERT INTO sync_state VALUES (?, 'x')", (str(n),)))
              for n in range(50)]
    closer = threading.Thread(target=store.close)
    closer.start()
    refused = 0
    for n in range(50, 2000):  # races the close: each write either commits or is refused, none hangs
        try:
            queued.append(store.submit(lambda db, n=n: db.execute("INSERT INTO sync_state VALUES (?, 'x')", (str(n),))))
        except StoreError:
            refused += 1
    closer.join(timeout=30)
    assert not closer.is_alive()
    for f in queued:
        f.result(timeout=30)  # every accepted write was answered (committed)
    with Store(tmp_path / "d", readonly=True) as again:
        assert again.db.execute("SELECT COUNT(*) FROM sync_state").fetchone()[0] == len(queued)
    assert refused == 1950 - (len(queued) - 50)


def test_many_openers_creating_one_new_data_dir_at_once_all_succeed(tmp_path):
    """Folders are made by whoever comes first; the others must take them as found, not fail."""
    from storage.store import private_dir

    for round_ in range(40):
        target = tmp_path / f"r{round_}" / "a" / "b"
        start, errors = threading.Barrier(8), []

        def make(target=target, start=start, errors=errors):
            start.wait()
            try:
                private_dir(target)
            except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
                errors.append(exc)

        threads = [threading.Thread(target=make) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and stat.S_IMODE(target.stat().st_mode) == 0o700
