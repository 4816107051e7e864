"""The team's policy on the hub: the TOML text a desk pulls, seeded from the shipped policy when the
hub has none. The newest row is the policy; its labels are what pushed decisions may use."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, select

from moderator.clock import now_iso
from moderator.policy import default_policy_path, load_policy, parse_policy
from upstream.db import advisory_lock
from upstream.schema import policy


def ensure_policy(conn: Connection, path: Path | None = None, actor: str = "hub") -> None:
    """Store the policy file at `path` (default: the shipped one) when the hub has no policy yet."""
    advisory_lock(conn, "moderator-hub-policy")
    if conn.execute(select(policy.c.version).limit(1)).first() is not None:
        return
    path = Path(path) if path else default_policy_path()
    version = load_policy(path).version  # refuses a file below the safety floors
    conn.execute(policy.insert().values(version=version, text=path.read_text(encoding="utf-8"),
                                        set_at=now_iso(), set_by=actor))


def current_policy(conn: Connection) -> dict:
    row = conn.execute(select(policy.c.version, policy.c.text)
                       .order_by(policy.c.set_at.desc(), policy.c.version.desc()).limit(1)).first()
    if row is None:
        raise LookupError("the hub has no policy")
    return {"version": row.version, "text": row.text}


def policy_labels(conn: Connection) -> frozenset[str]:
    """The label names of the hub's current policy."""
    current = current_policy(conn)
    return _labels(current["version"], current["text"])


@lru_cache(maxsize=8)
def _labels(_version: str, text: str) -> frozenset[str]:
    return frozenset(label.name for label in parse_policy(tomllib.loads(text)).labels)
