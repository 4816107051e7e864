"""What a QA analyst is shown of a task, before and after their label: the rules of the blind desk.

Before the QA label the analyst sees the item as it was reported and nothing anyone decided about it:
no status, no priority or SLA a bank or a moderator set, no bank suggestion or match. After it, a
Verdict puts the original decision (or a golden item's known answer) beside the analyst's label.
Pure: no Qt, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from moderator.clock import parse_iso, utc_now
from moderator.domain import Decision, Item, ItemStatus, Policy

if TYPE_CHECKING:
    from moderator.qa_service import QaOutcome

HIDDEN = "hidden until you give your label"


def blind_item(stored: Item, task_id: str, rank: int) -> Item:
    """The task's item as the blind desk holds it: the task's id (two tasks may share an item), the
    report's facts, and nothing decided since. `priority` carries -rank only so the queue keeps the
    order QaService.open_tasks gave (the QA queue shows no priority)."""
    return replace(stored, id=task_id, status=ItemStatus.PENDING, priority=-rank, sla_due_at=None,
                   suggested_label=None, match_badges=())


@dataclass(frozen=True)
class Side:
    """One column of the side-by-side: who judged, what label and action, when, and their note."""

    title: str
    label: str
    action: str
    actor: str
    when: str
    note: str


@dataclass(frozen=True)
class Verdict:
    task_id: str
    agrees: bool
    resolvable: bool  # a disagreement with a moderator's decision (a golden miss has nothing to resolve)
    original: Side
    qa: Side
    bank: str  # what banks suggested for the item, now that it may be seen ("none" when nothing)
    golden: str = ""  # a golden item's known answer (label titles), "" for an ordinary item

    @property
    def headline(self) -> str:
        if self.agrees:
            return "AGREE"
        return "DISAGREE" if self.resolvable else "DISAGREE with the known answer"


def verdict_of(outcome: QaOutcome, stored: Item, policy: Policy) -> Verdict:
    """The side-by-side of a judged task; `stored` is the item as the store holds it (with its matches)."""
    qa = _side("Your QA label", outcome.qa, policy)
    if outcome.original is not None:
        original = _side("Original decision", outcome.original, policy)
    else:  # a golden item: its known answer stands in for a moderator's decision
        labels = outcome.golden_labels or ()
        original = Side("Known answer (golden item)", _titles(labels, policy), _actions(labels, policy), "—", "—", "")
    bank = stored.suggested_label and f"suggested {_titles((stored.suggested_label,), policy)}"
    bank = "; ".join(filter(None, [bank, *stored.match_badges])) or "none"
    golden = _titles(outcome.golden_labels, policy) if outcome.golden_labels and outcome.original else ""
    return Verdict(outcome.task.task_id, outcome.agrees, not outcome.agrees and outcome.original is not None,
                   original, qa, bank, golden)


def _side(title: str, d: Decision, policy: Policy) -> Side:
    by = d.actor + (f" ({d.source.value})" if d.source.value not in ("manual", "qa") else "")
    return Side(title, _titles(d.labels, policy) or "no label", d.action.value.replace("_", "-"), by,
                when_text(d.decided_at), d.note or "")


def _titles(labels: tuple[str, ...], policy: Policy) -> str:
    known = {lb.name: lb.title for lb in policy.labels}
    return ", ".join(f"{known[n]} ({n})" if n in known else n for n in labels)


def _actions(labels: tuple[str, ...], policy: Policy) -> str:
    known = {lb.name: lb.action.value for lb in policy.labels}
    return ", ".join(dict.fromkeys(known.get(n, "?").replace("_", "-") for n in labels)) or "—"


def when_text(iso: str, now=None) -> str:
    """"2026-11-03 14:05 UTC · 2h10 ago": the moment, and how long ago it was."""
    at = parse_iso(iso)
    minutes = max(0, int(((now or utc_now()) - at).total_seconds() // 60))
    ago = f"{minutes}m" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}" if minutes < 2880 else \
        f"{minutes // 1440}d"
    return f"{at:%Y-%m-%d %H:%M} UTC · {ago} ago"
