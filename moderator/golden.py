"""Golden items: media with a known answer, imported like any other (files, folders, manifests), held out
of the queue and mixed into it at the `golden_rate` setting, in a seeded order. Nothing on an Item or in
the queue says an item is golden; only storage.qa knows, and scores moderators on them
(storage.qa.golden_scores). docs/QA.md, "Sampling, golden items, history import".

The answer is a manifest row's `golden_label` (one label, several joined with `;`, or a JSON list), or
`--label` for plain files and folders (and manifest rows without one).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderator.domain import Policy
from moderator.importing import ImportOutcome, import_and_match
from moderator.ingest import ImportUsageError, collect
from moderator.manifest import Entry
from storage import qa as qa_repo
from storage.store import Store

GOLDEN_FIELD = "golden_label"
EXTRA = (GOLDEN_FIELD,)


@dataclass(frozen=True)
class GoldenReport:
    outcome: ImportOutcome
    golden: tuple[tuple[str, tuple[str, ...]], ...]  # (item id, answer) in the order they mix in


def answer_of(entry: Entry, policy: Policy, default: Sequence[str] = ()) -> tuple[str, ...]:
    """An entry's known answer: its golden_label, else `default`; ValueError naming the entry when it has
    none or names a label the policy does not know."""
    raw: Any = dict(entry.extra).get(GOLDEN_FIELD)
    if raw is None or raw == "":
        labels = list(default)
    elif isinstance(raw, str):
        labels = [p.strip() for p in raw.split(";") if p.strip()]
    elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        labels = [p.strip() for p in raw if p.strip()]
    else:
        raise ValueError(f"{entry.origin}: {GOLDEN_FIELD} must be a label name, names joined with ';', "
                         "or a list of names")
    if not labels:
        raise ValueError(f"{entry.origin}: no known answer (give the row a {GOLDEN_FIELD}, or --label)")
    known = {lb.name for lb in policy.labels}
    unknown = [lb for lb in labels if lb not in known]
    if unknown:
        raise ValueError(f"{entry.origin}: unknown label {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return tuple(dict.fromkeys(labels))


def check_golden(paths: Iterable[str | Path], policy: Policy, *, label: Sequence[str] = (),
                 allow_outside: bool = False) -> int:
    """Every entry's answer, before anything is imported: ImportUsageError (nothing imported) for the
    first entry without a usable one, as for any other problem with the command. Returns how many entries."""
    entries, _bad = collect(paths, policy, allow_outside=allow_outside, extra=EXTRA)
    for entry in entries:
        try:
            answer_of(entry, policy, label)
        except ValueError as exc:
            raise ImportUsageError(str(exc)) from None
    return len(entries)


def import_golden(store: Store, paths: Sequence[str | Path], actor: str, policy: Policy, *,
                  label: Sequence[str] = (), seed: int | None = None, allow_outside: bool = False) -> GoldenReport:
    """Import the files (checked, copied and matched as `moderator import` does), then mark each item
    golden with its answer. The new golden items join the mixing order after those already held,
    shuffled among themselves by `seed`, so the same seed mixes them in the same order."""
    check_golden(paths, policy, label=label, allow_outside=allow_outside)
    outcome = import_and_match(store, paths, actor, policy, allow_outside=allow_outside, extra=EXTRA)
    report = outcome.report
    golden = [(item_id, answer_of(report.sources[item_id], policy, label)) for item_id in report.imported]
    random.Random(seed).shuffle(golden)

    def write(db) -> None:
        for item_id, answer in golden:
            qa_repo.add_golden(db, actor, item_id, answer, report.sources[item_id].origin)

    if golden:
        store.write(write)
    return GoldenReport(outcome, tuple(golden))
