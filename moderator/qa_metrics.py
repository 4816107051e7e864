"""Agreement between moderators and QA analysts, pure (no SQLite, no Qt): percent agreement, Cohen's
kappa, the confusion matrix, overall and per moderator, label and team. storage.report_rows reads the
pairs; docs/REPORT.md defines every number."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QaPair:
    """One QA judgement next to the moderation decision it re-reviewed (`qa_of`)."""

    original_uuid: str
    moderator: str  # the reviewed decision's actor
    team: str  # the reviewed decision's team
    original: str  # decision_class of the reviewed decision
    qa: str  # decision_class of the QA judgement
    analyst: str


def decision_class(labels: Sequence[str], action: str) -> str:
    """What a decision said, as one class to compare: its labels (sorted, joined by "+"), or its action
    when it has none (an escalation with a note)."""
    return "+".join(sorted(labels)) if labels else action


def agreement(pairs: Sequence[QaPair]) -> float | None:
    """The share of pairs where the analyst said what the moderator said; None without pairs."""
    if not pairs:
        return None
    return sum(p.original == p.qa for p in pairs) / len(pairs)


def cohen_kappa(pairs: Sequence[QaPair]) -> float | None:
    """Cohen's kappa, (p_o - p_e) / (1 - p_e), in exact integer arithmetic until the one division.
    None without pairs, and when p_e = 1 (both sides used one and the same class: kappa is 0/0)."""
    n = len(pairs)
    if n == 0:
        return None
    agree = sum(p.original == p.qa for p in pairs)
    left, right = Counter(p.original for p in pairs), Counter(p.qa for p in pairs)
    chance = sum(count * right[cls] for cls, count in left.items())  # p_e * n^2
    if chance == n * n:
        return None
    return (agree * n - chance) / (n * n - chance)


def summary(pairs: Sequence[QaPair]) -> dict[str, Any]:
    return {"n": len(pairs), "agreement": agreement(pairs), "kappa": cohen_kappa(pairs)}


def confusion(pairs: Sequence[QaPair]) -> dict[str, Any]:
    """Counts of (moderator's class, analyst's class): `counts[i][j]` pairs where the moderator said
    `labels[i]` and the analyst `labels[j]`; labels sorted, every class either side used."""
    labels = sorted({p.original for p in pairs} | {p.qa for p in pairs})
    at = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for p in pairs:
        counts[at[p.original]][at[p.qa]] += 1
    return {"labels": labels, "counts": counts}


def _grouped(pairs: Iterable[QaPair], key) -> dict[str, list[QaPair]]:
    groups: dict[str, list[QaPair]] = {}
    for p in pairs:
        groups.setdefault(key(p), []).append(p)
    return groups


def by_moderator(pairs: Sequence[QaPair], decided: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Per reviewed moderator: the summary, plus coverage (`reviewed` of their `decided` decisions in
    the range have at least one QA judgement). `decided`: moderation decisions per actor, so a moderator
    nobody re-reviewed is listed with n 0 and null agreement."""
    groups = _grouped(pairs, lambda p: p.moderator)
    out = {}
    for name in sorted(set(decided) | set(groups)):
        mine = groups.get(name, [])
        reviewed = len({p.original_uuid for p in mine})
        total = decided.get(name, 0)
        out[name] = {**summary(mine), "decided": total, "reviewed": reviewed,
                     "coverage": reviewed / total if total else None}
    return out


def by_team(pairs: Sequence[QaPair], teams: Iterable[str]) -> dict[str, dict[str, Any]]:
    groups = _grouped(pairs, lambda p: p.team)
    return {team: summary(groups.get(team, [])) for team in sorted(set(teams) | set(groups))}


def by_label(pairs: Sequence[QaPair], labels: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per class the moderator gave: `n` pairs, `agreement` the share the analyst confirmed; `qa_n` how
    often the analyst gave it. `labels`: classes to list even with no pair (n 0, agreement null)."""
    groups = _grouped(pairs, lambda p: p.original)
    said = Counter(p.qa for p in pairs)
    names = sorted(set(labels) | set(groups) | set(said))
    return {name: {"n": len(groups.get(name, [])), "agreement": agreement(groups.get(name, [])),
                   "qa_n": said[name]} for name in names}


def coverage(decided: int, reviewed: int) -> dict[str, Any]:
    return {"decisions": decided, "reviewed": reviewed, "fraction": reviewed / decided if decided else None}
