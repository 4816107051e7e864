"""Import, then match what arrived against the banks: the one operation `moderator import` and the
desk's Import both run (on a worker in the desk), returning what changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from moderator.domain import Changes, Policy
from moderator.ingest import ImportReport, import_paths
from moderator.matching import MatchSummary, matcher_for
from storage import banks as banks_repo
from storage.store import Store


@dataclass(frozen=True)
class ImportOutcome:
    report: ImportReport
    matching: MatchSummary | None  # None when the store has no banks

    @property
    def text(self) -> str:
        return self.report.summary + (f"; bank matching: {self.matching.text}" if self.matching else "")

    @property
    def changes(self) -> Changes:
        routed = tuple(self.matching.changed) if self.matching else ()
        items = tuple(dict.fromkeys((*self.report.imported, *routed)))
        return Changes(items=items, queue=bool(items), note=self.text)


def import_and_match(store: Store, paths: Iterable[str | Path], actor: str, policy: Policy,
                     progress: Callable[[int, int], None] | None = None, *, allow_outside: bool = False,
                     allow_duplicates: bool = False, extra: tuple[str, ...] = ()) -> ImportOutcome:
    """Import every good file and manifest row (moderator.ingest), then hash, match and route every
    unhashed item when the store has banks. New files are hashed from their one import decode, and
    matching reuses those hashes: no file is decoded twice. ImportUsageError before anything is written."""
    matcher = matcher_for(store, policy) if banks_repo.list_banks(store.db, counts=False) else None
    report = import_paths(store, paths, actor, progress, policy=policy, allow_outside=allow_outside,
                          allow_duplicates=allow_duplicates,
                          hash_dihedral=matcher.needs_dihedral() if matcher else None, extra=extra)
    matched = matcher.match_pending() if matcher and report.imported else None
    return ImportOutcome(report, matched)
