"""`moderator login --hub URL` and `moderator sync` as a person runs them: the token kept (keyring, or a
0600 file when there is none) and used; every wrong URL or token is one error line and keeps nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.hub_fixtures import hub_factory, pg_server  # noqa: F401
from tests.sync_fixtures import free_port

NO_KEYRING = "keyring.backends.fail.Keyring"


@pytest.fixture(scope="module")
def sqlite_hub(hub_factory):  # noqa: F811
    return hub_factory("sqlite")


def _run(args: list[str], config, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MODERATOR_HUB_")}
    full.update({"MODERATOR_CONFIG_DIR": str(config), "PYTHON_KEYRING_BACKEND": NO_KEYRING, **env})
    return subprocess.run([sys.executable, "-m", "moderator", *args], input=stdin, env=full,
                          capture_output=True, text=True, timeout=120)


def _one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moderator: error: "), done.stderr
    return lines[0]


def test_login_keeps_the_token_in_a_private_file_without_a_keyring_and_sync_uses_it(tmp_path, sqlite_hub):
    config = tmp_path / "config"
    done = _run(["login", "--hub", sqlite_hub.url + "/"], config, sqlite_hub.tokens["moderator"] + "\n")
    assert done.returncode == 0, done.stderr
    assert "no usable OS keyring" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    token_file = config / "hub-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert sqlite_hub.tokens["moderator"] in token_file.read_text()
    assert f'url = "{sqlite_hub.url}"' in (config / "hub.toml").read_text()
    synced = _run(["sync", "--once", "--keep", "0", "--data-dir", str(tmp_path / "desk")], config)
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.startswith("sync: online")


@pytest.mark.parametrize("url, token, expected, code", [
    ("ftp://hub.example", "t", "must look like http://HOST:PORT", 2),
    ("http://127.0.0.1:notaport", "t", "port that is not a number", 2),
    ("http://127.0.0.1:{closed}", "t", "unreachable", 1),
    ("{hub}/not-a-hub", "{token}", "cannot log in", 1),
    ("{hub}", "wrong-token", "refused the token", 1),
    ("{hub}", "", "no token given", 2),
])
def test_login_errors_are_one_line_and_keep_nothing(tmp_path, sqlite_hub, url, token, expected, code):
    config = tmp_path / "config"
    url = url.format(closed=free_port(), hub=sqlite_hub.url)
    done = _run(["login", "--hub", url], config, token.format(token=sqlite_hub.tokens["moderator"]) + "\n")
    assert done.returncode == code, done.stderr
    assert expected in _one_error_line(done)
    assert not config.exists() or not any(config.iterdir())


def test_sync_without_a_hub_is_one_clear_line(tmp_path):
    done = _run(["sync", "--once", "--data-dir", str(tmp_path / "desk")], tmp_path / "config")
    assert done.returncode == 2
    assert "no hub configured: run `moderator login --hub URL`" in _one_error_line(done)


def test_sync_with_the_hub_away_says_offline_and_fails(tmp_path):
    env = {"MODERATOR_HUB_URL": f"http://127.0.0.1:{free_port()}", "MODERATOR_HUB_TOKEN": "t"}
    done = _run(["sync", "--once", "--data-dir", str(tmp_path / "desk")], tmp_path / "config", **env)
    assert done.returncode == 1
    assert done.stdout.startswith("sync: offline")
    assert "unreachable" in _one_error_line(done)
