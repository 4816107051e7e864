"""Hub users and their bearer tokens: random (256 bits), shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from moderator.clock import now_iso
from upstream.schema import ROLES, users

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
LEADS = frozenset({"lead", "admin"})


class UserError(ValueError):
    """A user command that cannot be done; one line."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    team: str | None
    created_at: str
    revoked_at: str | None = None

    @property
    def is_lead(self) -> bool:
        return self.role in LEADS


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(conn: Connection, name: str, role: str, team: str | None = None) -> str:
    """Create user `name` and return their new token (the only time it exists in clear)."""
    if not NAME.fullmatch(name):
        raise UserError(f"user name {name!r} must be 1-64 letters, digits or . _ @ - (starting with a "
                        "letter or digit)")
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    team = team.strip() if team and team.strip() else None
    token = secrets.token_urlsafe(32)
    try:
        with conn.begin_nested():
            conn.execute(users.insert().values(name=name, role=role, team=team, token_hash=token_hash(token),
                                               created_at=now_iso()))
    except IntegrityError:
        raise UserError(f"user {name!r} already exists") from None
    return token


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(select(users).order_by(users.c.name)).mappings()
    return [_user(r) for r in rows]


def revoke_user(conn: Connection, name: str) -> User:
    """Revoke `name`'s token at once (their next request is 401); a revoked user stays listed."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    if row is None:
        raise UserError(f"no user {name!r}")
    if row["revoked_at"] is not None:
        raise UserError(f"user {name!r} was already revoked at {row['revoked_at']}")
    at = now_iso()
    conn.execute(update(users).where(users.c.name == name).values(revoked_at=at))
    return _user({**row, "revoked_at": at})


def user_for_token(conn: Connection, token: str) -> User | None:
    """The live user holding `token`, or None (unknown or revoked)."""
    row = conn.execute(select(users).where(users.c.token_hash == token_hash(token))).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    return _user(row)


def _user(row) -> User:
    return User(name=row["name"], role=row["role"], team=row["team"], created_at=row["created_at"],
                revoked_at=row["revoked_at"])
