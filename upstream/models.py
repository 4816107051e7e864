"""The request bodies of the v1 API (docs/HUB.md), strict: an unknown field or a wrong type is a 422."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from moderator.clock import parse_iso
from moderator.domain import Action, DecisionSource
from upstream.decisions import MAX_PER_PUSH
from upstream.leases import MAX_PER_CALL
from upstream.schema import BANK_ACTIONS, BANK_KINDS

Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=10_000)]
Count = Annotated[int, Field(ge=0, strict=True)]


def _timestamp(value: str) -> str:
    try:
        parse_iso(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    return value


Timestamp = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_timestamp)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LeaseRequest(Strict):
    count: Annotated[int, Field(ge=1, le=MAX_PER_CALL, strict=True)]


class DecisionIn(Strict):
    uuid: Text
    item_id: Text
    lease_id: Text | None
    labels: Annotated[list[Text], Field(max_length=50)]
    action: Action
    decided_at: Timestamp
    handle_ms: Count
    exposure_ms: Count
    batch_id: Text | None
    supersedes: Text | None
    policy_version: Text
    source: DecisionSource
    note: LongText | None
    qa_of: Text | None = None
    # An escalation's policy target and reason (hub migration 0004); only on escalations (docs/HUB.md).
    escalation_target: Text | None = None
    escalation_reason: Text | None = None


class AuditHead(Strict):
    hash: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{1,128}$")]
    count: Count


class DecisionPush(Strict):
    decisions: Annotated[list[DecisionIn], Field(min_length=1, max_length=MAX_PER_PUSH)]
    audit_head: AuditHead | None = None


class BankSpec(Strict):
    kind: Annotated[str, Field(pattern=f"^({'|'.join(BANK_KINDS)})$")]
    signal_type: Text
    threshold: Annotated[int, Field(ge=0, le=256, strict=True)]
    action: Annotated[str, Field(pattern=f"^({'|'.join(BANK_ACTIONS)})$")]
    description: LongText | None = None


class BankEntryIn(Strict):
    hash: Annotated[str, Field(min_length=1, max_length=128)]
    label: Annotated[str, Field(max_length=200)] = ""
    source: Annotated[str, Field(max_length=200)] = ""
    category: Annotated[str, Field(max_length=200)] = ""


class BankEntriesPush(Strict):
    bank: BankSpec | None = None
    entries: Annotated[list[BankEntryIn], Field(max_length=100_000)]
    remove: Annotated[list[Annotated[str, Field(min_length=1, max_length=128)]], Field(max_length=100_000)] = []
