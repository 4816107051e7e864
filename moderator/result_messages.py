"""What an import or a bank run did, item by item, for the desk's messages panel: each bad file with its
reason, each duplicate by name, each item a bank closed on its own. The status bar keeps one short line;
the detail lives here, where it can be read in full."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moderator.clock import now_iso
from moderator.domain import ItemField, ItemStatus
from moderator.session import bank_decisions

if TYPE_CHECKING:  # types only: the desk's messages panel loads this module without the import stack
    from moderator.ingest import ImportReport
    from moderator.matching import MatchSummary
    from storage.store import Store


class MessageKind(enum.StrEnum):
    BAD = "bad"  # a file or manifest row that was not imported, or an item matching failed on
    DUPLICATE = "duplicate"  # skipped as already imported (same content or external_id)
    BANK_CLOSED = "bank_closed"  # decided by a bank without a person (Ctrl+B reopens it)
    SUMMARY = "summary"  # one line per run: what it did in numbers


@dataclass(frozen=True)
class ResultMessage:
    kind: MessageKind
    subject: str  # what it is about, as a person names it: a file name, "manifest.csv:7", an item title
    text: str  # why, in full
    source: str  # "import" or "banks"
    at: str  # when the run ended (UTC)
    detail: str = ""  # the full path or id, for hover


def _is_duplicate(reason: str) -> bool:
    # moderator.ingest's two refusals of an already imported report (content_taken, external_id_taken)
    return reason.startswith("duplicate of item") or (reason.startswith("external_id ") and "already imported" in reason)


def import_messages(report: ImportReport, at: str | None = None) -> list[ResultMessage]:
    at = at or now_iso()
    out = [ResultMessage(MessageKind.SUMMARY, "Import", report.summary, "import", at)]
    for s in report.skipped:
        kind = MessageKind.DUPLICATE if _is_duplicate(s.reason) else MessageKind.BAD
        out.append(ResultMessage(kind, _origin_name(s.origin), s.reason, "import", at, s.origin))
    return out


def bank_messages(summary: MatchSummary, closed_rows: Iterable[dict[str, Any]],
                  titles: dict[str, str] | None = None, at: str | None = None) -> list[ResultMessage]:
    """The run's summary, each item it closed (rows of storage.decisions.standing_bank_decisions) and each
    item it could not hash or match (`titles` names those)."""
    at = at or now_iso()
    titles = titles or {}
    closed = closed_item_ids(summary)
    out = [ResultMessage(MessageKind.SUMMARY, "Bank matching", summary.text, "banks", at)]
    for r in closed_rows:
        if r["item_id"] in closed:
            labels = ", ".join(_labels(r["labels"])) or r["action"]
            out.append(ResultMessage(MessageKind.BANK_CLOSED, r["item_title"],
                                     f"{labels} → {r['action']} by {r['actor']}" + (f": {r['note']}" if r.get("note") else ""),
                                     "banks", at, r["item_id"]))
    for item_id, reason in summary.failed:
        out.append(ResultMessage(MessageKind.BAD, titles.get(item_id, item_id), reason, "banks", at, item_id))
    return out


def matching_messages(store: Store, summary: MatchSummary) -> list[ResultMessage]:
    """bank_messages for a run on `store`; the closed items' rows are read only when it closed some (the
    read replays every standing decision: not for a run that closed nothing)."""
    return bank_messages(summary, bank_decisions(store) if closed_item_ids(summary) else [])


def closed_item_ids(summary: MatchSummary) -> set[str]:
    """The items this run closed: their status left the open ones."""
    return {c.item_id for c in summary.item_changes
            if ItemField.STATUS in c.fields and c.status not in (None, ItemStatus.PENDING, ItemStatus.SKIPPED)}


def _labels(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def _origin_name(origin: str) -> str:
    """A folder file by its name ("cat.jpg"); a manifest row as it is ("manifest.csv:7")."""
    return origin if ":" in Path(origin).name else Path(origin).name or origin
