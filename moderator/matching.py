"""Hash items, match them against every bank, store the evidence and route each item by bank policy.

Hashing runs on the caller's thread (a worker in the desk); only the short write that stores hashes,
matches and the routing decision goes through the store's writer, one write per item (match_pending
queues them ahead of their commits, so the writer commits them in groups).
"""

from __future__ import annotations

import uuid
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Db

from blurring.errors import MediaError
from moderator import decision_log
from moderator.bank_index import IndexCache, Indexed
from moderator.clock import now_iso
from moderator.domain import (
    Action,
    Bank,
    BankAction,
    BankKind,
    Changes,
    Decision,
    DecisionResult,
    DecisionSource,
    Item,
    ItemChange,
    ItemField,
    ItemStatus,
    Match,
    MediaKind,
    Policy,
)
from moderator.media_hashes import MediaHashes, hash_media
from moderator.signals import (
    MD5,
    PDQ,
    SHA256,
    SIGNALS,
)
from moderator.video_hash import distinct_frames, video_matches
from storage import audit
from storage import banks as banks_repo
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage.store import GROUP_MAX, Store

# A block/escalate match lifts the item to at least this priority: above anything a manifest sets
# by habit (0-10), so matched items lead the queue, while a team can still outrank them explicitly.
ESCALATE_PRIORITY = 100
OPEN = (ItemStatus.PENDING, ItemStatus.SKIPPED)


class MatchError(ValueError):
    """A request that cannot be carried out (no such item, nothing to reopen): nothing was changed."""


def threshold_for(bank: Bank, signal_type: str) -> int:
    """A bank's threshold is for its own signal type; entries of other types (a TE dataset mixing PDQ
    and MD5) use that type's default, since a PDQ radius means nothing for an MD5."""
    return bank.threshold if signal_type == bank.signal_type else SIGNALS[signal_type].default_threshold


# -- routing ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """What matching did to one item: outcome is none | escalated | closed | flagged | recorded."""

    item_id: str
    outcome: str
    bank: str | None = None
    decision: Decision | None = None
    priority: int | None = None
    suggested_label: str | None = None
    changes: Changes = Changes()


@dataclass(frozen=True)
class RoutePlan:
    """Bank policy applied to an item's matches, decided without any storage: what the desk's store
    and the hub both carry out (outcome none | escalated | closed | flagged | recorded)."""

    outcome: str
    bank: str | None = None
    label: str | None = None  # escalated: the suggested label; closed: the decision's label
    action: Action | None = None  # closed: the decision's action
    evidence: Match | None = None  # closed: the nearest match of the closing bank


def plan_route(policy: Policy, banks: dict[str, Bank], matches: list[Match], is_open: bool) -> RoutePlan:
    """Precedence: a block bank that escalates beats one that removes (a person must see what a bank
    says needs escalation), any block match vetoes auto-allowing, and `flag` only records. Items a
    person has already decided (`is_open` False) are never touched: their matches are only recorded.
    `matches` are nearest first; `banks` holds every bank they name."""
    if not matches:
        return RoutePlan("none")
    chosen = _choose_bank(banks, matches) if is_open else None
    if chosen is None:
        return RoutePlan("flagged" if is_open else "recorded", matches[0].bank)
    if chosen.action is BankAction.ESCALATE:
        escalating = [m for m in matches if banks[m.bank].action is BankAction.ESCALATE]
        label = next((x for m in escalating if (x := _policy_label(policy, m.label))), None)
        return RoutePlan("escalated", chosen.name, label)
    # Closed with the entry's label when it is a policy label with the bank's action, else the
    # policy's first label with that action; a policy with none: a person decides instead.
    action = Action(chosen.action.value)
    own = [m for m in matches if m.bank == chosen.name]
    label = next((x for m in own if (x := _policy_label(policy, m.label, action))), None)
    label = label or next((lb.name for lb in policy.labels if lb.action is action), None)
    if label is None:
        return RoutePlan("flagged", chosen.name)
    return RoutePlan("closed", chosen.name, label, action, own[0])


def bank_note(match: Match) -> str:
    """The note on a decision a bank made: which entry closed the item, and how near it was."""
    return f"{match.signal_type} match: entry {match.entry_id} at distance {match.distance}"


def route(db: Db, policy: Policy, item_id: str, matches: list[Match]) -> Route:
    """Apply bank policy (plan_route) to an item's matches, inside the caller's transaction; audited
    as "route"."""
    if not matches:
        return Route(item_id, "none")
    banks = {m.bank: banks_repo.get_bank(db, m.bank) for m in matches}
    item = items_repo.get_item(db, item_id)
    plan = plan_route(policy, banks, matches, item.status in OPEN)
    if plan.outcome == "escalated":
        result = _escalate(db, item_id, plan)
    elif plan.outcome == "closed":
        result = _close(db, policy, item, plan)
    else:
        result = Route(item_id, plan.outcome, plan.bank)
    _audit_route(db, result, matches)
    return result


def _choose_bank(banks: dict[str, Bank], matches: list[Match]) -> Bank | None:
    """The bank whose action applies; matches are nearest first, so the first of a kind is its closest."""
    by_action = {}
    for m in matches:
        by_action.setdefault(banks[m.bank].action, banks[m.bank])
    blocked = any(b.kind is BankKind.BLOCK for b in banks.values())
    for action in (BankAction.ESCALATE, BankAction.REMOVE):
        if action in by_action and by_action[action].kind is BankKind.BLOCK:
            return by_action[action]
    allow = by_action.get(BankAction.ALLOW)
    return allow if allow is not None and allow.kind is BankKind.ALLOW and not blocked else None


def _policy_label(policy: Policy, name: str, action: Action | None = None) -> str | None:
    """`name` when it is a policy label (with `action`, if given)."""
    label = next((lb for lb in policy.labels if lb.name == name), None)
    return label.name if label and (action is None or label.action is action) else None


def _escalate(db: Db, item_id: str, plan: RoutePlan) -> Route:
    priority = banks_repo.raise_priority(db, item_id, ESCALATE_PRIORITY, plan.label)
    change = ItemChange(item_id, frozenset({ItemField.PRIORITY, ItemField.SUGGESTED_LABEL}))
    changes = Changes(items=(item_id,), queue=True, item_changes=(change,))
    return Route(item_id, "escalated", plan.bank, priority=priority, suggested_label=plan.label, changes=changes)


def _close(db: Db, policy: Policy, item: Item, plan: RoutePlan) -> Route:
    """Close the item with a decision by `bank:<name>`."""
    decision = Decision(
        uuid=str(uuid.uuid4()), item_id=item.id, labels=(plan.label,), action=plan.action,
        actor=f"bank:{plan.bank}", decided_at=now_iso(), policy_version=policy.version,
        source=DecisionSource.BANK, note=bank_note(plan.evidence),
    )
    result = decisions_repo.append_decisions(db, [decision])  # supersedes what stood, sets the status
    return Route(item.id, "closed", plan.bank, decision=result.decision, changes=result.changes)


def _audit_route(db: Db, r: Route, matches: list[Match]) -> None:
    evidence = [{"bank": m.bank, "entry_id": m.entry_id, "distance": m.distance, "label": m.label}
                for m in matches[:20]]
    payload = {"outcome": r.outcome, "bank": r.bank, "matches": evidence, "match_count": len(matches),
               "decision": r.decision.uuid if r.decision else None, "priority": r.priority,
               "suggested_label": r.suggested_label}
    audit.append(db, f"bank:{r.bank}" if r.bank else "matcher", "route", r.item_id, payload,
                 [("item_state", r.item_id), ("item_matches", r.item_id)])


# -- matching -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemOutcome:
    matches: list[Match]
    route: Route


@dataclass
class MatchSummary:
    hashed: int = 0
    matched: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # route outcome -> items
    failed: list[tuple[str, str]] = field(default_factory=list)  # (item id, reason)
    changed: list[str] = field(default_factory=list)  # items whose priority, label or status changed
    item_changes: list[ItemChange] = field(default_factory=list)  # routed or newly badged items

    @property
    def changes(self) -> Changes:
        """What matching changed, for the views: routed items (priority, label, status) and the
        matches recorded on items left open (their badges)."""
        items = tuple(dict.fromkeys(c.item_id for c in self.item_changes))
        return Changes(items=items, queue=bool(self.changed), item_changes=tuple(self.item_changes))

    @property
    def text(self) -> str:
        routed = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()) if k != "none")
        return f"hashed {self.hashed}, matched {self.matched}" + (f" ({routed})" if routed else "") + (
            f", failed {len(self.failed)}" if self.failed else "")


class Matcher:
    """Matches files and items against the store's banks, keeping the bank indexes in memory."""

    def __init__(self, store: Store, policy: Policy) -> None:
        # Bank indexes are saved beside the store and mapped by the next process (moderator/bank_index.py).
        folder = store.data_dir / "bank_index"
        self.store, self.policy, self.cache = store, policy, IndexCache(folder, read_only=store.readonly)

    def query_file(self, path: str | Path) -> list[Match]:
        """Matches of one file against every bank; stores nothing. MediaError if it is not media."""
        hashes = hash_media(path, dihedral=self.needs_dihedral())
        with self.cache.reading(self.store.db) as indexes:
            return self._lookup(hashes, indexes)

    def match_item(self, item: Item) -> ItemOutcome:
        """Hash, match, store and route one item (once: an item already hashed is left alone). Content
        already hashed (at import, or for another item sharing the media) is not decoded again."""
        hashes, matches, fresh = self._hash_and_look_up(item)
        return ItemOutcome(matches, self.store.write(self._record_media, item, hashes, matches, fresh))

    def _hash_and_look_up(self, item: Item) -> tuple[MediaHashes, list[Match], bool]:
        dihedral = self.needs_dihedral()
        hashes = MediaHashes.from_media_rows(item.kind, items_repo.media_hashes(self.store.db, item.sha256))
        fresh = hashes is None or not hashes.covers(dihedral)
        if fresh:
            hashes = hash_media(item.media_path, item.sha256, dihedral=dihedral, kind=item.kind)
        with self.cache.reading(self.store.db) as indexes:
            return hashes, self._lookup(hashes, indexes), fresh

    def needs_dihedral(self) -> bool:
        """Whether matching now queries PDQ's dihedral variants (some bank holds PDQ entries)."""
        return needs_dihedral(self.cache.current(self.store.db))

    def _record_media(self, db: Db, item: Item, hashes: MediaHashes, matches: list[Match],
                      fresh: bool) -> Route:
        if fresh:  # what was computed from the content, for every item sharing it
            items_repo.save_media_hashes(db, item.sha256, hashes.media_rows(), replace=True)
        return self._record(db, item.id, hashes, matches)

    def match_pending(self, limit: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> MatchSummary:
        """Hash and match every item not hashed yet, oldest first; a file that fails to decode is
        reported, marked hashed (so it is not retried forever) and audited as "hash_failed"; a file
        that is missing is reported and left unhashed, to be retried once it is back."""
        summary = MatchSummary()
        pending = banks_repo.unhashed_items(self.store.db, limit)
        queued: deque[_Queued] = deque()  # writes submitted ahead of their commits (a group's worth)
        by_sha: dict[str, Future] = {}
        for n, item in enumerate(pending, 1):
            if not Path(item.media_path).is_file():
                # Not the file's fault (a moved data dir, a missing mount): leave it to be retried.
                queued.append(_Queued(None, item.id, f"media file missing: {item.media_path}"))
                continue
            if (earlier := by_sha.get(item.sha256)) is not None:
                earlier.exception()  # the content's hashes are committed first: never decoded twice
            try:
                hashes, matches, fresh = self._hash_and_look_up(item)
            except (MediaError, OSError) as exc:  # OSError: the cached file vanished or cannot be read
                reason = exc.reason if isinstance(exc, MediaError) else f"cannot read media: {exc}"
                queued.append(_Queued(n, item.id, reason, self.store.submit(_record_failure, item.id, reason)))
            else:
                write = by_sha[item.sha256] = self.store.submit(self._record_media, item, hashes, matches, fresh)
                queued.append(_Queued(n, item.id, matches, write))
            _settle(queued, summary, GROUP_MAX, lambda k: progress and progress(k, len(pending)))
        _settle(queued, summary, 0, lambda k: progress and progress(k, len(pending)))
        return summary

    def _record(self, db: Db, item_id: str, hashes: MediaHashes, matches: list[Match]) -> Route:
        if banks_repo.is_hashed(db, item_id):  # another worker got there first
            return Route(item_id, "none")
        banks_repo.save_hashes(db, item_id, hashes.rows())
        banks_repo.save_matches(db, item_id, matches)
        banks_repo.mark_hashed(db, item_id)
        return route(db, self.policy, item_id, matches)

    def _lookup(self, hashes: MediaHashes, indexes: list[tuple[Bank, str, Indexed]]) -> list[Match]:
        return lookup(hashes, indexes, lambda ids: banks_repo.entries_by_id(self.store.db, ids))


def lookup(hashes: MediaHashes, indexes: list[tuple[Bank, str, Indexed]],
           entries_of: Callable[[list[int]], dict[int, tuple[str, str]]]) -> list[Match]:
    """Every bank entry near the hashes, nearest first (one Match per entry, its nearest hit), from
    the (bank, signal type, index) triples; `entries_of` gives id -> (hash, label) of the entries hit."""
    best: dict[int, tuple[int, str, str | None, float | None, Bank, str]] = {}
    for bank, signal_type, indexed in indexes:
        for entry_id, hit in _hits(hashes, bank, signal_type, indexed).items():
            if entry_id not in best or hit[0] < best[entry_id][0]:
                best[entry_id] = (*hit, bank, signal_type)
    entries = entries_of(list(best))
    # An id the store no longer holds (a row deleted by hand under an index built or saved before)
    # is no evidence: left out, not a KeyError half-way through an import.
    matches = [Match(bank.name, eid, sig, entries[eid][1], dist, query, entries[eid][0], variant, time_s)
               for eid, (dist, query, variant, time_s, bank, sig) in best.items() if eid in entries]
    return sorted(matches, key=lambda m: (m.distance, m.bank, m.entry_id))


def _hits(hashes: MediaHashes, bank: Bank, signal_type: str, indexed: Indexed) -> dict[int, tuple]:
    """entry id -> (distance, query hash, variant, time_s), the nearest per entry."""
    threshold = threshold_for(bank, signal_type)
    found: dict[int, tuple] = {}
    if hashes.kind is MediaKind.VIDEO and signal_type == PDQ.name:
        result = video_matches(hashes.frames, indexed.index, threshold)
        hits = [(fm.bank_id, fm.distance, fm.frame.hex, None, fm.frame.time_s) for fm in result.matches]
        hits = hits if result.matched else []  # the 80 % rule: stray frame matches are not evidence
    else:
        queries = hashes.queries(signal_type)
        results = indexed.index.query_many([q for q, _ in queries], threshold) if queries else []
        hits = [(i, d, q, variant, None) for (q, variant), found_ in zip(queries, results, strict=True)
                for i, d in found_]
        if bank.kind is BankKind.ALLOW and hashes.frames:
            hits = _known_good_animation(hashes, signal_type, hits)
    for index_id, dist, query, variant, time_s in hits:
        entry_id = int(indexed.entry_ids[index_id])
        if entry_id not in found or dist < found[entry_id][0]:
            found[entry_id] = (dist, query, variant, time_s)
    return found


def _known_good_animation(hashes: MediaHashes, signal_type: str, hits: list[tuple]) -> list[tuple]:
    """An allow bank closes items on its own, so an animation is known-good only when every distinct
    frame is: a benign first frame (or one known frame) must not wave the rest through. Byte-exact
    digests of the whole file still count; pHash sees frame 0 only, so it never allows an animation."""
    if signal_type in (MD5.name, SHA256.name):
        return hits
    if signal_type != PDQ.name:
        return []
    matched = {query for _, _, query, _, _ in hits}
    frames = distinct_frames(hashes.frames)
    return hits if frames and all(f.hex in matched for f in frames) else []


def needs_dihedral(indexes: list[tuple[Bank, str, Indexed]]) -> bool:
    return any(signal_type == PDQ.name for _, signal_type, _ in indexes)


def _count(summary: MatchSummary, outcome: ItemOutcome) -> None:
    summary.hashed += 1
    summary.matched += bool(outcome.matches)
    summary.outcomes[outcome.route.outcome] = summary.outcomes.get(outcome.route.outcome, 0) + 1
    if outcome.route.outcome in ("escalated", "closed"):
        summary.changed.append(outcome.route.item_id)
    badged = ItemChange(outcome.route.item_id, frozenset({ItemField.MATCHES}))
    summary.item_changes.extend(outcome.route.changes.item_changes or ((badged,) if outcome.matches else ()))


@dataclass(frozen=True)
class _Queued:
    """One pending item of match_pending: its matches (or why it failed) and its write, if any."""

    n: int | None  # its place for progress (None: not reported, as a missing file never was)
    item_id: str
    matches: list[Match] | str  # str: the reason it failed
    write: Future | None = None


def _settle(queued: deque[_Queued], summary: MatchSummary, keep: int, progress: Callable[[int], object]) -> None:
    """Count the outcomes at the head whose writes are done (waiting while more than `keep` are
    queued), in order; an unexpected error of a write is raised, as match_item would."""
    while queued and (len(queued) > keep or queued[0].write is None or queued[0].write.done()):
        q = queued.popleft()
        result = q.write.result() if q.write is not None else None
        if isinstance(q.matches, str):
            summary.failed.append((q.item_id, q.matches))
        else:
            _count(summary, ItemOutcome(q.matches, result))
        if q.n is not None:
            progress(q.n)


def _record_failure(db: Db, item_id: str, reason: str) -> None:
    banks_repo.mark_hashed(db, item_id)
    audit.append(db, "matcher", "hash_failed", item_id, {"reason": reason})


_MATCHERS: weakref.WeakKeyDictionary[Store, Matcher] = weakref.WeakKeyDictionary()


def matcher_for(store: Store, policy: Policy) -> Matcher:
    """The store's Matcher, so its bank indexes are built once per process and reused."""
    matcher = _MATCHERS.get(store)
    if matcher is None or matcher.policy != policy:
        matcher = _MATCHERS[store] = Matcher(store, policy)
    return matcher


def match_pending(store: Store, policy: Policy, limit: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> MatchSummary:
    """Hash, match and route every unhashed item: what `moderator import` and the desk's worker run."""
    return matcher_for(store, policy).match_pending(limit, progress)


def reopen(store: Store, item_id: str, actor: str) -> DecisionResult:
    """Undo the bank decision standing on an item and put it back in the queue, audited as "reopen"."""

    def write(db: Db) -> DecisionResult:
        if db.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
            raise MatchError(f"no item {item_id!r}")
        current = decisions_repo.current_for_item(db, item_id)
        if current is None or current.source is not DecisionSource.BANK:
            raise MatchError(f"item {item_id} has no standing bank decision to reopen")
        undo = decision_log.undo_of(current, uuid=str(uuid.uuid4()), actor=actor, decided_at=now_iso(),
                                    policy_version=current.policy_version)
        result = decisions_repo.append_decisions(db, [undo])
        audit.append(db, actor, "reopen", item_id, {"supersedes": current.uuid, "by": current.actor})
        return result

    return store.write(write)
