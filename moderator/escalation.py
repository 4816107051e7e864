"""An escalation as a moderator makes it: a target and a reason from the policy (`[escalation]` in
resources/policy.toml) and a note that may span lines. Checked here, before anything is written, so the
desk's bar, the CLI and the hub's replay refuse the same things with the same line.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from moderator.domain import Decision, Policy

MAX_NOTE = 10_000  # as a manifest's reason


class EscalationError(ValueError):
    """An escalation the policy does not allow; the text says why in one line."""


@dataclass(frozen=True)
class Escalation:
    note: str
    target: str | None = None  # None: the policy's first target
    reason: str | None = None  # None: the policy's last reason (its "other")

    def checked(self, policy: Policy) -> Escalation:
        """This escalation with its target and reason filled in and its note trimmed; EscalationError
        for an empty or too long note, control characters, an unknown target or reason."""
        note = self.note.replace("\r\n", "\n").replace("\r", "\n").strip()
        if not note:
            raise EscalationError("an escalation needs a note")
        if len(note) > MAX_NOTE:
            raise EscalationError(f"the note is longer than {MAX_NOTE} characters")
        if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in note):
            raise EscalationError("the note contains a control character")
        # A Policy built in code without targets (tests, tools) escalates to nowhere in particular.
        names = [t.name for t in policy.escalation_targets]
        target = self.target or (names[0] if names else None)
        if target is not None and target not in names:
            raise EscalationError(f"unknown escalation target {target!r} (the policy's: {', '.join(names) or 'none'})")
        reasons = policy.escalation_reasons
        reason = self.reason or (reasons[-1] if reasons else None)
        if reason is not None and reason not in reasons:
            raise EscalationError(f"unknown escalation reason {reason!r} (policy {policy.version} lists "
                                  f"{len(reasons)}: see [escalation] reasons)")
        return Escalation(note, target, reason)


def escalation_text(d: Decision, policy: Policy | None = None) -> str:
    """How a standing escalation reads on the item: "→ Legal · Legal request… \\n note" (the target's title
    when the policy still has it, else its stored name; decisions from before targets: the note only)."""
    if d.escalation_target is None:
        return d.note or ""
    title = d.escalation_target
    if policy is not None:
        try:
            title = policy.escalation_target(d.escalation_target).title
        except KeyError:
            pass
    head = f"→ {title}" + (f" · {d.escalation_reason}" if d.escalation_reason else "")
    return f"{head}\n{d.note}" if d.note else head
