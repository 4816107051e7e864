"""Fixtures for the hub tests: a real hub process on 127.0.0.1 over SQLite or a throwaway PostgreSQL.

- `pg_server` (session): initdb + pg_ctl from Debian's `postgresql` binaries, run as the `postgres`
  (or `nobody`) OS user when the tests run as root, since PostgreSQL refuses to run as root. Absent
  pg_ctl, PostgreSQL params skip with one reason naming the package; MODERATOR_REQUIRE_POSTGRES=1
  turns that skip into a failure (CI).
- `hub_factory` (session): starts `python -m moderator hub serve --port 0 …` subprocesses on a new
  database each, with users made by `moderator hub user add`; every hub is stopped at the end.
- `hub` (module, params sqlite/postgresql): one default hub per test module and database.
"""

from __future__ import annotations

import io
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

DATABASES = ("sqlite", "postgresql")
ROLES = ("moderator", "qa", "lead", "admin")
START_TIMEOUT_S = 60
PG_PACKAGE_REASON = "PostgreSQL hub tests need pg_ctl and initdb: install the Debian package postgresql"
_numbers = itertools.count(1)


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return versions[0].parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """A PostgreSQL cluster in a temp dir, owned by `owner` (an OS user PostgreSQL runs as)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="moderator-pg-"))
        self.run_as = _pg_os_user()
        if self.run_as is not None:
            os.chown(self.root, self.run_as.pw_uid, self.run_as.pw_gid)
        self.port = free_port()
        self.data = self.root / "data"

    def _run(self, *argv: str) -> None:
        kwargs = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid} if self.run_as else {}
        done = subprocess.run([str(self.bin_dir / argv[0]), *argv[1:]], capture_output=True, text=True,
                              cwd=self.root, timeout=120, **kwargs)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=300 -c shared_buffers=32MB")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        import psycopg

        name = f"hub_{os.getpid()}_{next(_numbers)}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


def _pg_os_user():
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as")


@pytest.fixture(scope="session")
def pg_server():
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("MODERATOR_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"MODERATOR_REQUIRE_POSTGRES=1 but pg_ctl is missing. {PG_PACKAGE_REASON}")
        pytest.skip(PG_PACKAGE_REASON)
    server = PgServer(bin_dir)
    server.start()
    yield server
    server.stop()


@dataclass
class HubProcess:
    """A running `moderator hub serve` and what a test needs to talk to it."""

    db_url: str
    data_dir: Path
    options: tuple[str, ...]
    url: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        argv = [sys.executable, "-m", "moderator", "hub", "serve", "--port", "0", "--data-dir", str(self.data_dir),
                "--db", self.db_url, *self.options]
        log = open(self.data_dir.parent / "hub.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        log.close()
        line = _read_line(self.proc, START_TIMEOUT_S)
        if not line.startswith("hub listening on "):
            self.kill()
            raise RuntimeError(f"hub did not start: {line!r}; see {self.data_dir.parent / 'hub.log'}")
        self.url = line.removeprefix("hub listening on ").strip()

    def kill(self) -> None:
        """kill -9 the hub and its workers (its own process group)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def restart(self) -> None:
        """kill -9, then serve again on the same database and data dir (a new port)."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "moderator", "hub", *args, "--data-dir", str(self.data_dir), "--db", self.db_url]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    def add_user_cli(self, name: str, role: str, team: str | None = None) -> str:
        done = self.cli("user", "add", name, "--role", role, "--json", *(("--team", team) if team else ()))
        assert done.returncode == 0, done.stderr
        import json

        return json.loads(done.stdout)["token"]

    def engine(self):
        from upstream.db import open_hub

        return open_hub(self.db_url)

    def add_users(self, names_roles: list[tuple[str, str]]) -> dict[str, str]:
        """Many users at once (through upstream.auth, as the CLI does): name -> token."""
        from upstream.auth import add_user
        from upstream.db import write_tx

        engine = self.engine()
        try:
            with write_tx(engine) as conn:
                return {name: add_user(conn, name, role, "tests") for name, role in names_roles}
        finally:
            engine.dispose()

    def client(self, role_or_token: str, desk: str | None = None) -> httpx.Client:
        token = self.tokens.get(role_or_token, role_or_token)
        headers = {"Authorization": f"Bearer {token}", "X-Moderator-Desk": desk or str(uuid.uuid4())}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    found: list[bytes] = []
    reader = threading.Thread(target=lambda: found.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0].decode() if found else ""


def start_hub(tmp_root: Path, db_url: str | None, *options: str, users: bool = True) -> HubProcess:
    data_dir = tmp_root / "hub-data"
    hub = HubProcess(db_url or f"sqlite:///{data_dir / 'hub.sqlite3'}", data_dir, tuple(options))
    if users:
        hub.tokens["moderator"] = hub.add_user_cli("moderator-1", "moderator", team="in-house")  # creates the db
        with ThreadPoolExecutor(3) as pool:
            found = pool.map(lambda r: (r, hub.add_user_cli(f"{r}-1", r, team="in-house")), ROLES[1:])
            hub.tokens.update(found)
    hub.start()
    return hub


class HubFactory:
    def __init__(self, tmp_path_factory, request) -> None:
        self._tmp, self._request, self.started = tmp_path_factory, request, []

    def __call__(self, db: str, *options: str) -> HubProcess:
        db_url = self._request.getfixturevalue("pg_server").new_database() if db == "postgresql" else None
        hub = start_hub(self._tmp.mktemp(f"hub-{db}"), db_url, *options)
        self.started.append(hub)
        return hub


@pytest.fixture(scope="session")
def hub_factory(tmp_path_factory, request):
    factory = HubFactory(tmp_path_factory, request)
    yield factory
    for hub in factory.started:
        hub.stop()


@pytest.fixture(scope="module", params=DATABASES)
def hub(request, hub_factory) -> HubProcess:
    """A hub with the default settings, one per test module and database."""
    return hub_factory(request.param)


# -- putting work into a hub (until `hub import` exists; it writes through the same upstream.items) -----
def png_bytes(seed: int, side: int = 32) -> bytes:
    rgb = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def add_items(hub: HubProcess, specs: list[dict] | int, *, shared_media: bool = False) -> list[str]:
    """Items (each with a real PNG, or all on one when shared_media) in the hub; their ids in order.
    `specs`: a count, or one dict of upstream.items.add_item keywords per item."""
    from upstream.db import write_tx
    from upstream.items import MediaInfo, add_item, add_media

    specs = [{} for _ in range(specs)] if isinstance(specs, int) else specs
    info = MediaInfo(mime="image/png", kind="image", width=32, height=32)
    engine = hub.engine()
    try:
        with write_tx(engine) as conn:
            seed = time.monotonic_ns()
            shared = add_media(conn, hub.data_dir, png_bytes(seed), info) if shared_media else None
            return [add_item(conn, shared or add_media(conn, hub.data_dir, png_bytes(seed + i), info), **spec)
                    for i, spec in enumerate(specs)]
    finally:
        engine.dispose()


def clear_queue(hub: HubProcess) -> None:
    """Take every pending item out of the queue (escalated), so a test sees only its own items."""
    from sqlalchemy import update

    from upstream.db import write_tx
    from upstream.schema import items

    engine = hub.engine()
    try:
        with write_tx(engine) as conn:
            conn.execute(update(items).where(items.c.status == "pending").values(status="escalated"))
    finally:
        engine.dispose()


def decision(item_id: str, lease_id: str | None, **overrides) -> dict:
    """A wire decision (docs/HUB.md: exactly its keys) labelled spam unless overridden."""
    body = {"uuid": str(uuid.uuid4()), "item_id": item_id, "lease_id": lease_id, "labels": ["spam"],
            "action": "remove", "decided_at": "2026-11-02T09:30:00.123Z", "handle_ms": 1200, "exposure_ms": 0,
            "batch_id": None, "supersedes": None, "policy_version": "2026-11-01", "source": "manual", "note": None}
    body.update(overrides)
    return body


def poll(check, timeout: float = 30.0, interval: float = 0.05):
    """check() until it returns something truthy; its value. Fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(interval)
