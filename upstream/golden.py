"""Golden accuracy on the hub: each moderator's decisions on golden items (upstream.schema.golden_items)
scored against the known answer, with the rules and the keys of the desk's report (storage.qa.golden_scores,
moderator.report `qa.golden`, docs/REPORT.md): per actor and golden item, their latest accepted
moderation decision (manual or batch: a bank is no moderator; never a QA row, an undo, or a row an undo
superseded), whenever it was made; it is correct when its labels are the answer's labels.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from moderator.domain import Action, DecisionSource
from upstream.schema import decisions, golden_items

MODERATION = (DecisionSource.MANUAL.value, DecisionSource.BATCH.value)


def golden_scores(conn: Connection) -> dict:
    """{"overall": {"n", "correct", "accuracy"}, "by_moderator": {actor: {"n", "correct", "accuracy"}}};
    accuracy is a fraction, None when nothing was scored."""
    undone = (select(decisions.c.supersedes).where(decisions.c.action == Action.UNDO.value,
                                                   decisions.c.status == "accepted",
                                                   decisions.c.supersedes.is_not(None)))
    rows = conn.execute(
        select(decisions.c.item_id, decisions.c.actor, decisions.c.labels, golden_items.c.labels.label("answer"))
        .join(golden_items, golden_items.c.item_id == decisions.c.item_id)
        .where(decisions.c.status == "accepted", decisions.c.source.in_(MODERATION),
               decisions.c.action != Action.UNDO.value, decisions.c.uuid.not_in(undone))
        .order_by(decisions.c.seq))
    latest: dict[tuple[str, str], bool] = {}
    for r in rows:
        latest[(r.actor, r.item_id)] = sorted(json.loads(r.labels)) == sorted(json.loads(r.answer))
    per: dict[str, list[int]] = {}
    for (actor, _item), correct in latest.items():
        n_correct = per.setdefault(actor, [0, 0])
        n_correct[0] += 1
        n_correct[1] += correct
    by_moderator = {actor: _score(n, c) for actor, (n, c) in sorted(per.items())}
    return {"overall": _score(sum(v[0] for v in per.values()), sum(v[1] for v in per.values())),
            "by_moderator": by_moderator}


def _score(n: int, correct: int) -> dict:
    return {"n": n, "correct": correct, "accuracy": correct / n if n else None}
