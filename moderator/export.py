"""Export decisions as JSONL or CSV, joined with what identifies the media they judged."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Db

from moderator.csv_cells import SafeWriter
from storage import decisions as decisions_repo

COLUMNS = (
    "uuid", "item_id", "external_id", "sha256", "media_path", "labels", "action", "actor",
    "decided_at", "handle_ms", "exposure_ms", "batch_id", "supersedes", "policy_version", "source", "note",
    "qa_of", "team",  # team: what an imported decision named (storage.decisions.teams), else empty
    "escalation_target", "escalation_reason",  # an escalation's policy target and reason (migration 0010)
)
FORMATS = ("jsonl", "csv")


def export_rows(db: Db, *, include_history: bool = False) -> list[dict[str, Any]]:
    rows = decisions_repo.all_rows(db) if include_history else decisions_repo.current_rows(db)
    media = {
        r["id"]: r for r in db.execute(
            "SELECT i.id, i.external_id, i.sha256, media_file(m.path) AS media_path FROM items i JOIN media m USING (sha256)"
        )
    }
    teams = decisions_repo.teams(db)
    out = []
    for r in rows:
        m = media[r["item_id"]]
        row = {**r, "external_id": m["external_id"], "sha256": m["sha256"], "media_path": m["media_path"],
               "labels": json.loads(r["labels"]), "team": teams.get(r["uuid"])}
        out.append({k: row.get(k) for k in COLUMNS})
    return out


def render(rows: Iterable[dict[str, Any]], fmt: str, columns: Sequence[str] = COLUMNS) -> str:
    """JSONL (each row as it is) or CSV of `columns` (labels joined with `;`)."""
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = SafeWriter(buf)  # cells a spreadsheet would run as formulas are neutralised
        writer.writerow(columns)
        for r in rows:
            writer.writerow([";".join(r["labels"]) if k == "labels" else r.get(k) for k in columns])
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
