"""The outbox message: what a desk sends the hub for each decision (docs/OUTBOX.md), built and read
here and nowhere else. Pure (no SQLite, no Qt), so the hub imports the same two functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moderator.clock import parse_iso
from moderator.domain import Action, Decision, DecisionSource

TYPE = "decision"
VERSION = 1  # additive fields keep it; any other change bumps it (docs/OUTBOX.md)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEXT = ("uuid", "item_id", "actor", "decided_at", "policy_version")
_NULLABLE = ("batch_id", "supersedes", "qa_of", "note")
_COUNTS = ("handle_ms", "exposure_ms")


class MessageError(ValueError):
    """Not a decision message this reader accepts; the text says why, in one line."""


@dataclass(frozen=True)
class DecisionMessage:
    """A parsed message: the decision and what identifies the media it judged."""

    decision: Decision
    sha256: str
    external_id: str | None = None
    version: int = VERSION


def decision_message(d: Decision, *, sha256: str, external_id: str | None = None) -> dict[str, Any]:
    """The version-1 message of a decision on an item with media `sha256` (and the reporter's id)."""
    message: dict[str, Any] = {
        "type": TYPE, "version": VERSION, "uuid": d.uuid, "item_id": d.item_id, "sha256": sha256,
        "labels": list(d.labels), "action": d.action.value, "actor": d.actor, "decided_at": d.decided_at,
        "handle_ms": d.handle_ms, "exposure_ms": d.exposure_ms, "batch_id": d.batch_id,
        "supersedes": d.supersedes, "qa_of": d.qa_of, "policy_version": d.policy_version,
        "source": d.source.value, "note": d.note,
    }
    if external_id is not None:
        message["external_id"] = external_id
    # Additive (version 1 still): only an escalation to a policy target carries them, so every other
    # message is byte for byte what it was, and a reader that ignores them still reads the decision.
    if d.escalation_target is not None:
        message["escalation_target"] = d.escalation_target
        message["escalation_reason"] = d.escalation_reason
    return message


def encode(message: Mapping[str, Any]) -> str:
    """The stored text of a message: canonical JSON (sorted keys, no spaces, UTF-8 as is)."""
    return json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_message(data: str | bytes | Mapping[str, Any]) -> DecisionMessage:
    """Read and check a message (JSON text or an already decoded object); MessageError if it is not a
    decision message of a version this reader knows. Unknown fields are ignored: they are additive."""
    obj = _decoded(data)
    if obj.get("type") != TYPE:
        raise MessageError(f"type is {obj.get('type')!r}, not {TYPE!r}")
    version = obj.get("version")
    if not _is_int(version) or version < 1:
        raise MessageError(f"version {version!r} is not a positive integer")
    if version > VERSION:
        raise MessageError(f"version {version} is newer than this reader understands ({VERSION})")
    decision = Decision(
        uuid=_text(obj, "uuid"), item_id=_text(obj, "item_id"), labels=_labels(obj),
        action=_choice(obj, "action", Action), actor=_text(obj, "actor"), decided_at=_timestamp(obj),
        policy_version=_text(obj, "policy_version"), source=_choice(obj, "source", DecisionSource),
        handle_ms=_count(obj, "handle_ms"), exposure_ms=_count(obj, "exposure_ms"),
        batch_id=_nullable(obj, "batch_id"), supersedes=_nullable(obj, "supersedes"),
        note=_nullable(obj, "note"), qa_of=_nullable(obj, "qa_of"),
        escalation_target=_nullable(obj, "escalation_target", required=False),
        escalation_reason=_nullable(obj, "escalation_reason", required=False),
    )
    _consistent(decision)
    sha256 = obj.get("sha256")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise MessageError(f"sha256 {sha256!r} is not 64 lowercase hex digits")
    return DecisionMessage(decision, sha256, _nullable(obj, "external_id", required=False), version)


def _decoded(data: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MessageError(f"not JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise MessageError(f"a message is a JSON object, not {type(data).__name__}")
    return data


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field(obj: Mapping[str, Any], name: str) -> Any:
    if name not in obj:
        raise MessageError(f"{name} is missing")
    return obj[name]


def _text(obj: Mapping[str, Any], name: str) -> str:
    value = _field(obj, name)
    if not isinstance(value, str) or not value.strip():
        raise MessageError(f"{name} must be a non-empty string, not {value!r}")
    return value


def _nullable(obj: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = _field(obj, name) if required else obj.get(name)
    if value is not None and not isinstance(value, str):
        raise MessageError(f"{name} must be a string or null, not {value!r}")
    return value


def _count(obj: Mapping[str, Any], name: str) -> int:
    value = _field(obj, name)
    if not _is_int(value) or value < 0:
        raise MessageError(f"{name} must be a non-negative integer, not {value!r}")
    return value


def _labels(obj: Mapping[str, Any]) -> tuple[str, ...]:
    value = _field(obj, "labels")
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise MessageError(f"labels must be a list of non-empty strings, not {value!r}")
    return tuple(value)


def _choice(obj: Mapping[str, Any], name: str, kind: type[Action] | type[DecisionSource]) -> Any:
    value = _field(obj, name)
    try:
        return kind(value)
    except ValueError:
        raise MessageError(f"{name} {value!r} is not one of {', '.join(k.value for k in kind)}") from None


def _timestamp(obj: Mapping[str, Any]) -> str:
    value = _text(obj, "decided_at")
    try:
        parse_iso(value)
    except ValueError:
        raise MessageError(f"decided_at {value!r} is not an ISO 8601 timestamp") from None
    return value


def _consistent(d: Decision) -> None:
    if d.action is Action.UNDO and d.supersedes is None:
        raise MessageError("an undo must name the decision it supersedes")
    if (d.source is DecisionSource.QA) != (d.qa_of is not None):
        raise MessageError("qa_of is set exactly when source is 'qa'")
    if d.escalation_target is not None and d.action is not Action.ESCALATE:
        raise MessageError("escalation_target is set only on an escalation")
