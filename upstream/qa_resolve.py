"""QA resolutions on the hub: an analyst who judged a task settles the disagreement with a final label
and a note, as the local QA mode does (moderator.review.ReviewService.qa_review(resolve=True)).

The resolution is a decision row like any other: source `qa`, `qa_of` the decision re-reviewed, and
`supersedes` the item's standing decision, so the hub's replay (moderator.decision_log.plan, the one
upstream.decisions uses) makes it the item's standing decision and sets the item's status. The row in
the append-only `decisions` log (actor, desk, team, received_at, note) is its audit record. A decision
is resolved once: a second resolution of the same re-reviewed decision is refused (409), nothing
written. Only the analyst whose judgement the task holds may resolve it (403 otherwise).
"""

from __future__ import annotations

import json
import tomllib
from typing import Annotated

from pydantic import Field
from sqlalchemy import Connection, select, update

from moderator.clock import now_iso
from moderator.decision_log import DecisionLogError, is_resolution, plan, standing
from moderator.domain import Decision, DecisionSource, ItemStatus
from moderator.policy import parse_policy
from upstream.auth import User
from upstream.decisions import stored_decision
from upstream.models import LongText, Strict, Text
from upstream.policy_store import current_policy
from upstream.qa import QaError
from upstream.schema import decisions, items, qa_tasks


class Resolution(Strict):
    """POST /v1/qa/tasks/{task_id}/resolve: the desk names the row's uuid (a retry is then refused as
    resolved already, never written twice) and when the analyst gave it."""

    uuid: Text
    label: Text
    note: LongText | None = None
    decided_at: Text
    handle_ms: Annotated[int, Field(ge=0, le=86_400_000, strict=True)] = 0


def resolve(conn: Connection, user: User, desk: str, task_id: str, body: Resolution) -> dict:
    """Write `body` as the resolution of task `task_id`'s decision. QaError: 404 no task, 409 not judged
    yet / resolved already / nothing stands, 403 judged by someone else, 422 a label the policy lacks."""
    task = conn.execute(select(qa_tasks).where(qa_tasks.c.id == task_id)).mappings().first()
    if task is None:
        raise QaError(404, f"no QA task {task_id}")
    reviewed = conn.execute(select(decisions).where(decisions.c.uuid == task["decision_uuid"])).mappings().one()
    item_id = reviewed["item_id"]
    # Lock the item as a push does (upstream.decisions._load), so a resolution and a push, or two
    # resolutions, of one item are taken one after the other and the second sees the first.
    status = conn.execute(select(items.c.status).where(items.c.id == item_id).with_for_update()).scalar_one()
    if task["state"] != "judged":
        raise QaError(409, f"QA task {task_id} is not judged yet: give the QA label first")
    judge = conn.execute(select(decisions.c.actor).where(decisions.c.uuid == task["qa_uuid"])).scalar_one()
    if judge != user.name:
        raise QaError(403, f"QA task {task_id} was judged by another analyst")
    history = [stored_decision(r) for r in conn.execute(
        select(decisions).where(decisions.c.item_id == item_id, decisions.c.status == "accepted")
        .order_by(decisions.c.seq)).mappings()]
    done = next((d for d in history if d.qa_of == task["decision_uuid"] and is_resolution(d)), None)
    if done is not None:
        raise QaError(409, f"decision {task['decision_uuid']} is resolved already ({done.uuid} by {done.actor})")
    if conn.execute(select(decisions.c.uuid).where(decisions.c.uuid == body.uuid)).first() is not None:
        raise QaError(409, f"decision {body.uuid} is on the hub already")
    current = standing(history)
    if current is None:
        raise QaError(409, f"nothing stands on item {item_id} for a QA resolution to replace")
    version, label = _label(conn, body.label)
    d = Decision(uuid=body.uuid, item_id=item_id, labels=(label.name,), action=label.action, actor=user.name,
                 decided_at=body.decided_at, policy_version=version, source=DecisionSource.QA,
                 handle_ms=body.handle_ms, exposure_ms=0, batch_id=None, supersedes=current.uuid, note=body.note,
                 qa_of=task["decision_uuid"])
    try:
        planned = plan(history, [d], {item_id: ItemStatus(status)})
    except DecisionLogError as exc:
        raise QaError(409, str(exc)) from None
    _write(conn, user, desk, planned.rows[0])
    new_status = planned.statuses.get(item_id, ItemStatus(status))
    if new_status.value != status:
        conn.execute(update(items).where(items.c.id == item_id).values(status=new_status.value))
    return {"uuid": d.uuid, "status": "accepted", "item_id": item_id, "qa_of": d.qa_of, "supersedes": current.uuid,
            "labels": [label.name], "action": label.action.value, "item_status": new_status.value}


def _label(conn: Connection, name: str):
    policy = current_policy(conn)
    try:
        return policy["version"], parse_policy(tomllib.loads(policy["text"])).label(name)
    except KeyError:
        raise QaError(422, f"label {name!r} is not in the hub's policy") from None


def _write(conn: Connection, user: User, desk: str, d: Decision) -> None:
    conn.execute(decisions.insert().values(
        uuid=d.uuid, item_id=d.item_id, lease_id=None, actor=d.actor, team=user.team, desk=desk,
        labels=json.dumps(list(d.labels)), action=d.action.value,
        decided_at=d.decided_at, received_at=now_iso(), handle_ms=d.handle_ms, exposure_ms=0, batch_id=None,
        supersedes=d.supersedes, qa_of=d.qa_of, policy_version=d.policy_version, source=d.source.value,
        note=d.note, status="accepted", reason=None, escalation_target=None, escalation_reason=None))
