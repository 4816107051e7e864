"""Domain types shared by every layer: plain frozen dataclasses and enums, no I/O, no Qt.

Imports nothing of ours, so `blurring/`, `storage/`, `ui/` and `upstream/` can all depend on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Action(enum.StrEnum):
    """What a decision does to the content."""

    ALLOW = "allow"
    REMOVE = "remove"
    ESCALATE = "escalate"
    AGE_RESTRICT = "age_restrict"
    UNDO = "undo"


class DecisionSource(enum.StrEnum):
    """Who made a decision: a moderator one at a time, a moderator's batch (grid), a QA analyst
    re-reviewing `qa_of`, or a bank. A QA row never stands unless it resolves (docs/DECISIONS.md)."""

    MANUAL = "manual"
    BATCH = "batch"
    QA = "qa"
    BANK = "bank"


class ItemStatus(enum.StrEnum):
    PENDING = "pending"
    SKIPPED = "skipped"
    DECIDED = "decided"
    ESCALATED = "escalated"
    # A hub item whose lease went back to the hub (returned on quit, or expired) before anyone here
    # decided it: out of this desk's queue, since another desk may be working on it now.
    RELEASED = "released"
    # A hub item decided here that the hub found decided elsewhere: the decision was kept there as
    # evidence, not applied. Shown to the moderator as "decided elsewhere".
    CONFLICT = "conflict"


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class Reveal(enum.StrEnum):
    """How far a filter may be lifted by the moderator."""

    FULL = "full"  # peek, spotlight and timed full reveal allowed
    PEEK = "peek"  # only hold-to-peek
    NONE = "none"  # never shown unfiltered in colour


@dataclass(frozen=True)
class FilterSpec:
    """The wellness filter applied before any pixel reaches the screen.

    blur: 0 (off) … 6 (unrecognisable); scaled to the displayed size by `blurring`.
    pixelate: 0 (off) … 6; style: None or "drawing".
    """

    blur: int = 3
    grayscale: bool = True
    pixelate: int = 0
    style: str | None = None
    reveal: Reveal = Reveal.FULL

    def stricter(self, other: FilterSpec) -> FilterSpec:
        """The combination that protects at least as much as both."""
        order = [Reveal.FULL, Reveal.PEEK, Reveal.NONE]
        return FilterSpec(
            blur=max(self.blur, other.blur),
            grayscale=self.grayscale or other.grayscale,
            pixelate=max(self.pixelate, other.pixelate),
            style=self.style or other.style,
            reveal=max(self.reveal, other.reveal, key=order.index),
        )



# Hard safety floors: no policy file, setting or flag lowers these (the policy loader refuses a
# file that tries, and `Policy.filter_for` applies them again whatever the policy says).
CSAM_CATEGORY = "csam_suspected"
CSAM_FLOOR = FilterSpec(blur=6, grayscale=True, reveal=Reveal.NONE)
DEFAULT_FLOOR = FilterSpec(blur=1, grayscale=True, reveal=Reveal.FULL)  # every item filtered by default


def normalise_category(raw: str) -> str:
    """The canonical spelling of a category name: ` CSAM-Suspected ` -> `csam_suspected`."""
    return "_".join(raw.strip().lower().replace("-", " ").split())


@dataclass(frozen=True)
class Label:
    key: str
    name: str
    title: str
    action: Action
    severity: int
    filter: FilterSpec | None = None


@dataclass(frozen=True)
class WellnessFloors:
    """The policy's `[floors]`: the least protection a moderator's own settings may choose (the rule
    that applies them is moderator.policy_floors). The defaults are no floors at all."""

    min_blur: int = 0
    grayscale: bool = False
    max_daily_exposure_s: int = 0  # 0: no maximum
    breaks: bool = False  # break reminders and the calm screen cannot be turned off
    max_break_every_active_min: int = 0  # 0: no maximum


@dataclass(frozen=True)
class EscalationTarget:
    """Where an escalation goes (`legal`, `child_safety`…): its name, stored on the decision, and title."""

    name: str
    title: str


@dataclass(frozen=True)
class Policy:
    version: str
    labels: tuple[Label, ...]
    default_filter: FilterSpec = FilterSpec()
    category_filters: dict[str, FilterSpec] = field(default_factory=dict)
    escalation_targets: tuple[EscalationTarget, ...] = ()  # [escalation] in the policy file
    escalation_reasons: tuple[str, ...] = ()
    floors: WellnessFloors = WellnessFloors()

    def escalation_target(self, name: str) -> EscalationTarget:
        for target in self.escalation_targets:
            if target.name == name:
                return target
        raise KeyError(name)

    def label(self, name: str) -> Label:
        for label in self.labels:
            if label.name == name:
                return label
        raise KeyError(name)

    def filter_for(self, category: str | None, suggested_label: str | None = None) -> FilterSpec:
        """The filter an item gets by default: its category's rule, and the rule of the label a bank
        match suggests (a known-CSAM match is never revealed even without a category hint).
        Policy rules only ever add protection."""
        spec = self.default_filter.stricter(DEFAULT_FLOOR)
        for key in (category, suggested_label):
            if key and key in self.category_filters:
                spec = spec.stricter(self.category_filters[key])
            if key == CSAM_CATEGORY:
                spec = spec.stricter(CSAM_FLOOR)
        return spec

    @property
    def categories(self) -> tuple[str, ...]:
        """Every category name an item may carry: the filter categories and the label names."""
        names = {*self.category_filters, *(lb.name for lb in self.labels), CSAM_CATEGORY}
        return tuple(sorted(names))

    def check_category(self, raw: str | None) -> str | None:
        """The normalised category, or ValueError naming the known ones; None/blank stays None."""
        if raw is None or not str(raw).strip():
            return None
        name = normalise_category(str(raw))
        if name not in self.categories:
            raise ValueError(f"unknown category {raw!r} (known: {', '.join(self.categories)})")
        return name


@dataclass(frozen=True)
class Item:
    id: str
    sha256: str
    kind: MediaKind
    mime: str
    media_path: str
    width: int
    height: int
    status: ItemStatus = ItemStatus.PENDING
    external_id: str | None = None
    category: str | None = None
    priority: int = 0
    reason: str | None = None
    report_count: int = 1
    reported_at: str | None = None
    sla_due_at: str | None = None
    imported_at: str | None = None
    duration_s: float | None = None
    source_name: str | None = None
    suggested_label: str | None = None  # pre-selected by a bank match (routing)
    match_badges: tuple[str, ...] = ()  # "bank:label d=N" per match, strongest first
    # The report's context (migration 0010; README "manifest fields"): who reported whom, and where.
    reporter: str | None = None
    reported_account: str | None = None
    post_text: str | None = None  # the post's text or the media's caption; may span lines
    source_url: str | None = None
    original_name: str | None = None  # the file's name where it was reported (source_name: as imported)


@dataclass(frozen=True)
class Decision:
    uuid: str
    item_id: str
    labels: tuple[str, ...]
    action: Action
    actor: str
    decided_at: str
    policy_version: str
    source: DecisionSource = DecisionSource.MANUAL
    handle_ms: int = 0
    exposure_ms: int = 0
    batch_id: str | None = None
    supersedes: str | None = None
    note: str | None = None
    qa_of: str | None = None  # QA rows: the uuid of the decision re-reviewed
    # Escalations (migration 0010): where to (a policy target's name) and why (one of the policy's reasons).
    escalation_target: str | None = None
    escalation_reason: str | None = None


class ItemField(enum.StrEnum):
    """The fields of an item an operation can change (what a view re-renders)."""

    STATUS = "status"
    STANDING = "standing"  # the item's standing decision: its labels and action
    PRIORITY = "priority"
    SUGGESTED_LABEL = "suggested_label"
    MATCHES = "matches"  # the bank matches recorded for it (its badges)


@dataclass(frozen=True)
class ItemChange:
    """One item's changed fields with their new values, so a view can apply them without a read."""

    item_id: str
    fields: frozenset[ItemField]
    status: ItemStatus | None = None  # the item's status after the op (changed when STATUS is in fields)
    standing: Decision | None = None  # the new standing decision (None: nothing stands) when STANDING is


@dataclass(frozen=True)
class Changes:
    """What an operation changed, so each view can decide whether to refresh (Anki's OpChanges).

    `items` names every item touched; `item_changes` says which fields of each changed and to what;
    `queue` is True when an item entered or left the queue (its status moved)."""

    items: tuple[str, ...] = ()
    decisions: tuple[str, ...] = ()
    queue: bool = False
    banks: bool = False
    note: str = ""
    item_changes: tuple[ItemChange, ...] = ()

    def fields_of(self, item_id: str) -> frozenset[ItemField]:
        return frozenset().union(*(c.fields for c in self.item_changes if c.item_id == item_id))


@dataclass(frozen=True)
class DecisionResult:
    """What decide, escalate, a batch, a QA judgement, undo and reopen return: the rows written
    (in log order; none when there was nothing to undo) and the Changes they made."""

    decisions: tuple[Decision, ...]
    changes: Changes

    @property
    def decision(self) -> Decision | None:
        """The first (for single decisions, the only) row written; None when nothing was written."""
        return self.decisions[0] if self.decisions else None


class BankKind(enum.StrEnum):
    BLOCK = "block"  # known bad: a match moves the item up, pre-fills a label, or removes it
    ALLOW = "allow"  # known good: a match may close the item as allowed


class BankAction(enum.StrEnum):
    """What a match against a bank does to the item (see moderator/matching.py: route)."""

    ESCALATE = "escalate"
    REMOVE = "remove"
    ALLOW = "allow"
    FLAG = "flag"


@dataclass(frozen=True)
class Bank:
    name: str
    kind: BankKind
    signal_type: str
    threshold: int
    action: BankAction
    created_at: str
    description: str | None = None
    entries: int = 0


@dataclass(frozen=True)
class Match:
    """Evidence that an item (or a queried file) is near a bank entry."""

    bank: str
    entry_id: int
    signal_type: str
    label: str
    distance: int
    query_hash: str  # the hash of the query that matched: a dihedral variant, or a video frame
    entry_hash: str
    variant: str | None = None  # which rotation/flip of the query matched (PDQ images)
    time_s: float | None = None  # which video frame matched
