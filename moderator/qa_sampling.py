"""Which decisions a QA batch re-reviews: pure functions of the decision log, the filters and a seed
(no SQLite, no Qt), so the same seed over the same history draws the same sample.

Only standing moderation decisions are drawn (manual, batch, bank: never a QA row, an undo, or a row
something later replaced or undid), never one the analyst made, never one a QA row already re-reviewed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from moderator import decision_log
from moderator.clock import parse_iso
from moderator.domain import Action, Decision, DecisionSource

STRATEGIES = ("random", "stratified", "targeted")
MODERATION = frozenset({DecisionSource.MANUAL, DecisionSource.BATCH, DecisionSource.BANK})
SHORT_HANDLE_MS = 2000  # a person's decision faster than this is "very short" (targeted)
# Targeted kinds, rarest first: a decision with several reasons counts for the first of them.
UNDONE, ESCALATION, BANK, SHORT = "undone", "escalation", "bank", "short"
KINDS = (UNDONE, ESCALATION, BANK, SHORT)


class SampleError(ValueError):
    """A sample that cannot be drawn as asked (one line; nothing is stored)."""


@dataclass(frozen=True)
class Filters:
    moderator: str | None = None
    label: str | None = None
    since: datetime | None = None  # decided at or after
    until: datetime | None = None  # decided before


@dataclass(frozen=True)
class Candidate:
    decision: Decision
    kinds: tuple[str, ...]  # why targeted sampling wants it (KINDS), in KINDS order; () for none


@dataclass(frozen=True)
class Pick:
    decision: Decision
    stratum: str | None  # "actor / label" (stratified), the kind (targeted), None (random)


def label_of(d: Decision) -> str:
    """A decision's label for strata and agreement: its first label, or its action when it has none
    (an escalation)."""
    return d.labels[0] if d.labels else d.action.value


def candidates(history: Sequence[Decision], analyst: str, filters: Filters = Filters()) -> list[Candidate]:
    """The decisions a batch may draw from `history` (every row, in log order), in log order."""
    reviewed = {d.qa_of for d in history if d.qa_of}
    standing = {d.uuid for d in decision_log.standing_by_item(history).values()}
    seen_on_item: dict[str, list[Decision]] = {}
    out = []
    for d in history:
        before = seen_on_item.setdefault(d.item_id, [])
        if (d.uuid in standing and d.source in MODERATION and d.actor != analyst and d.uuid not in reviewed
                and _wanted(d, filters)):
            out.append(Candidate(d, _kinds(d, before)))
        before.append(d)
    return out


def _wanted(d: Decision, f: Filters) -> bool:
    if f.moderator is not None and d.actor != f.moderator:
        return False
    if f.label is not None and f.label not in d.labels and not (not d.labels and d.action.value == f.label):
        return False
    if f.since is None and f.until is None:
        return True
    try:
        when = parse_iso(d.decided_at)
    except ValueError:
        return False  # an imported row whose time cannot be placed is outside every range
    return (f.since is None or when >= f.since) and (f.until is None or when < f.until)


def _kinds(d: Decision, before: Iterable[Decision]) -> tuple[str, ...]:
    earlier = list(before)
    found = {
        UNDONE: any(r.action is Action.UNDO for r in earlier),
        ESCALATION: d.action is Action.ESCALATE or any(r.action is Action.ESCALATE for r in earlier),
        BANK: d.source is DecisionSource.BANK,
        SHORT: d.source is not DecisionSource.BANK and d.handle_ms < SHORT_HANDLE_MS,
    }
    return tuple(k for k in KINDS if found[k])


def count_for(pool: int, *, count: int | None = None, percent: float | None = None) -> int:
    """How many to draw: `count`, or `percent` of the pool rounded up (a positive share of a non-empty
    pool draws at least one)."""
    if (count is None) == (percent is None):
        raise SampleError("give either --count or --percent")
    if count is not None:
        if count < 1:
            raise SampleError(f"--count must be at least 1, got {count}")
        return count
    if not (0 < percent <= 100) or not math.isfinite(percent):
        raise SampleError(f"--percent must be over 0 and at most 100, got {percent:g}")
    return math.ceil(pool * percent / 100 - 1e-9)


def sample(pool: Sequence[Candidate], n: int, strategy: str, seed: int) -> list[Pick]:
    """Draw up to n of `pool` (in log order) with `strategy`, in review order (shuffled by the seed)."""
    rng = random.Random(seed)
    if strategy == "random":
        picks = [Pick(c.decision, None) for c in rng.sample(list(pool), min(n, len(pool)))]
    elif strategy == "stratified":
        picks = _allocate(_groups(pool, lambda c: f"{c.decision.actor} / {label_of(c.decision)}"), n, rng)
    elif strategy == "targeted":
        picks = _allocate(_groups([c for c in pool if c.kinds], lambda c: c.kinds[0]), n, rng)
    else:
        raise SampleError(f"unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    rng.shuffle(picks)
    return picks


def _groups(pool: Iterable[Candidate], key) -> dict[str, list[Candidate]]:
    groups: dict[str, list[Candidate]] = {}
    for c in pool:
        groups.setdefault(key(c), []).append(c)
    return groups


def _allocate(groups: dict[str, list[Candidate]], n: int, rng: random.Random) -> list[Pick]:
    """Every group gets floor(n / groups), or all it has when it has fewer; what is left of n goes one
    at a time to the groups in a seeded order, to those with decisions left, so no group gets more than
    one over another that still had some to give."""
    if not groups:
        return []
    keys = sorted(groups)
    base = n // len(keys)
    take = {k: min(base, len(groups[k])) for k in keys}
    left = min(n, sum(len(g) for g in groups.values())) - sum(take.values())
    order = list(keys)
    rng.shuffle(order)
    while left > 0:
        for k in order:
            if left and take[k] < len(groups[k]):
                take[k] += 1
                left -= 1
    return [Pick(c.decision, k) for k in keys for c in rng.sample(groups[k], take[k])]
