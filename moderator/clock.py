"""Timestamps as stored everywhere: ISO 8601 in UTC with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(utc_now())


def parse_iso(text: str) -> datetime:
    """Parse an ISO timestamp; a naive one is taken as UTC."""
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def plus_minutes(text: str, minutes: float) -> str:
    return iso(parse_iso(text) + timedelta(minutes=minutes))
