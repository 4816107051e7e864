"""When an undo needs no question, and what an undo says it undid. Pure (no SQLite, no Qt).

Ctrl+Z is for the slip just made: it undoes the moderator's last decision only while it is recent
(the undo_window_minutes setting) and never an escalation, which someone else may already be acting
on. Anything else goes through the history panel (H), which asks first.
"""

from __future__ import annotations

from datetime import datetime

from moderator.clock import parse_iso
from moderator.domain import Action, Decision, Policy


def quick_undo_refusal(target: Decision | None, now: datetime, window_minutes: int) -> str | None:
    """Why Ctrl+Z may not undo `target` (the actor's last undoable decision) without asking; None
    when it may. The reason names the way that does work: the history panel."""
    if target is None:
        return None  # nothing to undo: the caller says so
    if target.action is Action.ESCALATE:
        return "An escalation is undone from the history (H), with a confirmation"
    age_s = (now - parse_iso(target.decided_at)).total_seconds()
    if age_s > window_minutes * 60:
        return (f"Ctrl+Z undoes only the last {window_minutes} minutes; "
                "older decisions are undone from the history (H)")
    return None


def needs_confirmation(target: Decision, now: datetime, window_minutes: int, *, is_last: bool) -> bool:
    """The history panel asks before every undo; this says whether the question is a warning too
    (older than the window, an escalation, or not the last decision)."""
    return not is_last or quick_undo_refusal(target, now, window_minutes) is not None


def decision_words(policy: Policy, d: Decision) -> str:
    """'Terrorist content → escalate': the labels' titles and the action, as the moderator chose them."""
    titles = []
    for name in d.labels:
        try:
            titles.append(policy.label(name).title)
        except KeyError:  # a label a later policy dropped: its stored name
            titles.append(name)
    what = ", ".join(titles) or ("Escalated" if d.action is Action.ESCALATE else "no label")
    return f"{what} → {d.action.value}"


def undone_text(policy: Policy, title: str, undone: list[Decision]) -> str:
    """What the status bar says after an undo: "Undone: demo-004 · Terrorist content → escalate"."""
    if not undone:
        return "Nothing to undo"
    if len(undone) > 1:
        return f"Undone: the batch's {len(undone)} items are back in the queue · {decision_words(policy, undone[0])}"
    return f"Undone: {title} · {decision_words(policy, undone[0])}"
