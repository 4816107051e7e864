"""Which hub this desk syncs with and its bearer token: `moderator login` keeps them, sync reads them.

The URL lives in `hub.toml` in the config dir. The token goes to the OS keyring when a usable keyring
backend exists, otherwise to `hub-token` (0600) in the config dir. $MODERATOR_HUB_URL and
$MODERATOR_HUB_TOKEN override both (for scripts and tests).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from moderator.paths import config_dir
from storage.files import write_file

URL_FILE, TOKEN_FILE = "hub.toml", "hub-token"
URL_ENV, TOKEN_ENV = "MODERATOR_HUB_URL", "MODERATOR_HUB_TOKEN"
KEYRING_SERVICE = "moderator-desk-hub"


class HubConfigError(ValueError):
    """No hub configured, or its URL is unusable: one line."""


@dataclass(frozen=True)
class HubConfig:
    url: str
    token: str
    token_from: str  # "env", "keyring" or "file"


def normalise_url(raw: str) -> str:
    """The hub's base URL (scheme and host, no trailing slash); HubConfigError for anything else."""
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubConfigError(f"hub URL {raw!r} must look like http://HOST:PORT or https://HOST")
    if parts.query or parts.fragment:
        raise HubConfigError(f"hub URL {raw!r} must not carry a query or fragment")
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise HubConfigError(f"hub URL {raw!r} has a port that is not a number") from None
    return url


def load_hub_config() -> HubConfig | None:
    """The configured hub, None when there is none (environment first, then what login kept)."""
    url = os.environ.get(URL_ENV, "").strip() or _kept_url()
    if not url:
        return None
    url = normalise_url(url)
    env_token = os.environ.get(TOKEN_ENV, "").strip()
    if env_token:
        return HubConfig(url, env_token, "env")
    token = _keyring_get(url)
    if token:
        return HubConfig(url, token, "keyring")
    path = config_dir() / TOKEN_FILE
    if path.is_file():
        data = _read_token_file(path)
        if data.get("url") == url and data.get("token"):
            return HubConfig(url, data["token"], "file")
    raise HubConfigError(f"no token kept for hub {url}: run `moderator login --hub {url}`")


def save_login(url: str, token: str) -> str:
    """Keep the URL and token; returns where the token went ("keyring" or "file")."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    where = "keyring" if _keyring_set(url, token) else "file"
    if where == "file":
        _write_private(folder / TOKEN_FILE, json.dumps({"url": url, "token": token}) + "\n")
    else:
        (folder / TOKEN_FILE).unlink(missing_ok=True)  # an older file copy must not outlive the new token
    _write_private(folder / URL_FILE, f"url = {json.dumps(url)}\n")
    return where


def token_file() -> Path:
    return config_dir() / TOKEN_FILE


def _kept_url() -> str | None:
    path = config_dir() / URL_FILE
    if not path.is_file():
        return None
    try:
        url = tomllib.loads(path.read_text(encoding="utf-8")).get("url")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise HubConfigError(f"{path}: cannot read the hub URL: {exc}") from None
    if not isinstance(url, str):
        raise HubConfigError(f"{path}: url must be a string")
    return url


def _read_token_file(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HubConfigError(f"{path}: cannot read the hub token: {exc}") from None
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with a file only the user can read (0600 from its creation)."""
    write_file(path, text)


# -- the OS keyring -------------------------------------------------------------------------------
def _backend():
    """The keyring backend, or None when none is usable (keyring's fail/null backends, priority <= 0)."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        usable = getattr(backend, "priority", 0) > 0 and type(backend).__module__ not in (
            "keyring.backends.fail", "keyring.backends.null")
    except (KeyringError, RuntimeError, ValueError):
        return None
    return backend if usable else None


def _keyring_set(url: str, token: str) -> bool:
    backend = _backend()
    if backend is None:
        return False
    try:
        backend.set_password(KEYRING_SERVICE, url, token)
    except Exception:  # noqa: BLE001 - any backend failure (locked, no D-Bus) falls back to the file
        return False
    return True


def _keyring_get(url: str) -> str | None:
    backend = _backend()
    if backend is None:
        return None
    try:
        return backend.get_password(KEYRING_SERVICE, url)
    except Exception:  # noqa: BLE001 - an unusable keyring reads as "nothing kept there"
        return None
