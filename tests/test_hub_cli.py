"""`moderator hub user …` and `hub serve` as a team runs them: tokens shown once and stored hashed,
one-line errors that change nothing, and a server that stops cleanly on SIGTERM."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import select

from tests.hub_fixtures import HubProcess


def hub_cli(data_dir, *args):
    return subprocess.run([sys.executable, "-m", "moderator", "hub", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=120)


def test_user_add_prints_a_token_once_and_stores_only_its_hash(tmp_path):
    done = hub_cli(tmp_path, "user", "add", "alice", "--role", "moderator", "--team", "vendor-a", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["name"] == "alice" and shown["role"] == "moderator" and len(shown["token"]) >= 43
    from upstream.db import open_hub
    from upstream.schema import users

    engine = open_hub(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    with engine.connect() as conn:
        row = conn.execute(select(users)).mappings().one()
    engine.dispose()
    assert row["token_hash"] == hashlib.sha256(shown["token"].encode()).hexdigest()
    assert shown["token"] not in json.dumps(dict(row))
    listed = json.loads(hub_cli(tmp_path, "user", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["team"], u["revoked_at"]) for u in listed] == \
        [("alice", "moderator", "vendor-a", None)]
    human = hub_cli(tmp_path, "user", "add", "bob", "--role", "qa")
    assert human.returncode == 0 and len(human.stdout.splitlines()) == 2


@pytest.mark.parametrize(("args", "message"), [
    (("user", "add", "alice", "--role", "lead"), "already exists"),
    (("user", "add", "bad name", "--role", "lead"), "user name"),
    (("user", "add", "carol", "--role", "boss"), "invalid choice"),
    (("user", "revoke", "nobody-here"), "no user"),
    (("serve", "--port", "70000"), "must be 0..65535"),
    (("serve", "--db", "mysql://x/y"), "unsupported database"),
])
def test_bad_user_commands_are_one_line_and_change_nothing(tmp_path, args, message):
    assert hub_cli(tmp_path, "user", "add", "alice", "--role", "moderator").returncode == 0
    before = hub_cli(tmp_path, "user", "list", "--json").stdout
    done = hub_cli(tmp_path, *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert hub_cli(tmp_path, "user", "list", "--json").stdout == before


def test_listing_a_hub_that_does_not_exist_creates_nothing(tmp_path):
    done = hub_cli(tmp_path / "none", "user", "list")
    assert done.returncode == 2 and "no hub database" in done.stderr
    assert not (tmp_path / "none").exists()


def test_revoke_twice_is_refused(tmp_path):
    hub_cli(tmp_path, "user", "add", "alice", "--role", "moderator")
    assert hub_cli(tmp_path, "user", "revoke", "alice").returncode == 0
    again = hub_cli(tmp_path, "user", "revoke", "alice")
    assert again.returncode == 2 and "already revoked" in again.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_announces_its_port_and_stops_on_sigterm(tmp_path, workers):
    hub = HubProcess(f"sqlite:///{tmp_path / 'hub' / 'hub.sqlite3'}", tmp_path / "hub", ("--workers", str(workers)))
    hub.start()
    try:
        assert hub.url.startswith("http://127.0.0.1:") and not hub.url.endswith(":0")
        assert httpx.get(f"{hub.url}/v1/health").json()["status"] == "ok"
        hub.proc.send_signal(signal.SIGTERM)
        assert hub.proc.wait(timeout=30) == 0
    finally:
        hub.kill()
        hub.proc.stdout.close()
