"""`moderator report` on a store of 100,000 decisions (issue 10, "Done when"): the time to build the report
dict (what --json prints), to print it as JSON, and to write the HTML file with its charts, each against a
baseline in the same run: a plain `SELECT * FROM decisions` of every row (sqlite3, fetchall).

The store is real and made through the one writer (storage.decisions.append_decisions, batches of 1,000
rows sharing a batch id: rows, outbox, audit): 80 moderators in 4 teams over 30 days, ~3% of decisions
undone, 5% bank auto-actions, QA judgements of 5%, exposure events for a third, SLAs on most items.
The script checks the report's totals against the rows it wrote and exits 1 if they differ.

Run: .venv/bin/python bench/bench_report.py [--decisions 100000] [--store DIR (kept, reused when there)]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import figure  # noqa: E402
from moderator.clock import iso  # noqa: E402
from moderator.domain import Action, Decision, DecisionSource  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.report import build_report  # noqa: E402
from storage import decisions as decisions_repo  # noqa: E402
from storage.store import Store  # noqa: E402

START = datetime(2024, 4, 1, tzinfo=UTC)
LABELS = ["no_violation"] * 6 + ["spam"] * 3 + ["nudity", "sexual", "violence_gore", "hate_symbol"]
CATEGORIES = [None, "gore", "sexual", "self_harm"]
BATCH = 1_000


def _items(store: Store, rng: random.Random, n: int) -> list[tuple[str, datetime]]:
    items = []
    media, rows = [], []
    for i in range(n):
        sha = hashlib.sha256(f"bench-report-{i}".encode()).hexdigest()
        reported = START + timedelta(minutes=rng.randrange(30 * 24 * 60))
        item_id = str(uuid.UUID(int=rng.getrandbits(128)))
        sla = iso(reported + timedelta(minutes=rng.choice([30, 60, 240]))) if rng.random() < 0.8 else None
        media.append((sha, f"media/{sha}.png", "image/png", "image", 8, 8, 64, iso(reported)))
        rows.append((item_id, sha, rng.choice(CATEGORIES), iso(reported), sla, iso(reported)))
        items.append((item_id, reported))

    def write(db):
        db.conn.executemany("INSERT INTO media (sha256, path, mime, kind, width, height, bytes, added_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", media)
        db.conn.executemany("INSERT INTO items (id, sha256, category, reported_at, sla_due_at, imported_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)
    store.write(write)
    return items


def _decision(rng: random.Random, item_id: str, at: datetime, policy, batch_id: str, **kw) -> Decision:
    label = kw.pop("label", None) or rng.choice(LABELS)
    return Decision(uuid=str(uuid.UUID(int=rng.getrandbits(128))), item_id=item_id, labels=(label,),
                    action=policy.label(label).action, actor=kw.pop("actor"), decided_at=iso(at),
                    policy_version=policy.version, batch_id=batch_id, **kw)


def fill(store: Store, n: int, seed: int = 10) -> dict[str, int]:
    """n decisions (moderation, bank, QA and undo rows together); returns what was written."""
    rng, policy = random.Random(seed), load_policy()
    items = _items(store, rng, int(n * 0.85))
    moderators = [f"mod{m:02d}" for m in range(80)]
    written = {"human": 0, "bank": 0, "qa": 0, "undo": 0}
    pending: list[Decision] = []
    made: list[Decision] = []

    def flush():
        if pending:
            store.write(lambda db: decisions_repo.append_decisions(db, pending))
            pending.clear()

    batch_id = str(uuid.uuid4())
    for n_row, (item_id, reported) in enumerate(items):
        at = reported + timedelta(minutes=rng.randrange(1, 300))
        if rng.random() < 0.05:
            d = _decision(rng, item_id, at, policy, batch_id, actor="bank:known", source=DecisionSource.BANK)
            written["bank"] += 1
        else:
            d = _decision(rng, item_id, at, policy, batch_id, actor=rng.choice(moderators),
                          source=DecisionSource.MANUAL, handle_ms=int(rng.lognormvariate(9, 0.8)))
            written["human"] += 1
        pending.append(d)
        made.append(d)
        if len(pending) >= BATCH:
            flush()
            batch_id = str(uuid.uuid4())
        if n_row % 20_000 == 0:
            print(f"  {n_row:,} items decided", file=sys.stderr)
    flush()
    rest = n - len(made)
    extra = rng.sample(made, rest)
    for k, d in enumerate(extra):
        at = datetime.fromisoformat(d.decided_at.replace("Z", "+00:00")) + timedelta(hours=2)
        if k % 3 == 0 and d.source is DecisionSource.MANUAL:
            pending.append(Decision(uuid=str(uuid.uuid4()), item_id=d.item_id, labels=(), action=Action.UNDO,
                                    actor=d.actor, decided_at=iso(at), policy_version=policy.version,
                                    source=d.source, supersedes=d.uuid, batch_id=batch_id))
            written["undo"] += 1
        else:
            label = d.labels[0] if rng.random() < 0.8 else rng.choice(LABELS)
            pending.append(_decision(rng, d.item_id, at, policy, batch_id, actor="qa-ana", label=label,
                                     source=DecisionSource.QA, qa_of=d.uuid))
            written["qa"] += 1
        if len(pending) >= BATCH:
            flush()
            batch_id = str(uuid.uuid4())
    flush()
    events = [(d.item_id, d.actor, None, iso(datetime.fromisoformat(d.decided_at.replace("Z", "+00:00"))
                                          - timedelta(seconds=30)), rng.randrange(100, 5_000),
               rng.choice(["peek", "spotlight", "full"])) for d in made[::3] if d.source is DecisionSource.MANUAL]
    store.write(lambda db: db.conn.executemany(
        "INSERT INTO exposure_events (item_id, actor, category, started_at, ms, kind) VALUES (?, ?, ?, ?, ?, ?)",
        events))
    return written


def _best(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decisions", type=int, default=100_000)
    ap.add_argument("--store", type=Path, default=None, help="keep the store here (reused if it exists)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.store or Path(tmp) / "store"
        fresh = not (folder / Store.FILENAME).exists()
        with Store(folder) as store:
            if fresh:
                t = time.perf_counter()
                written = fill(store, args.decisions)
                took = time.perf_counter() - t
                print(f"store: {sum(written.values()):,} decisions written in {took:.0f} s ({written})",
                      file=sys.stderr)
                figure("report.fill_s", took, "s")
        return _measure(folder, args.runs)


def _measure(folder: Path, runs: int) -> int:
    from moderator.report_html import render_html  # matplotlib's import is timed apart

    with Store(folder, readonly=True) as store:
        db = store.db
        rows = db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        base, _ = _best(lambda: db.conn.execute("SELECT * FROM decisions").fetchall(), runs)
        built, report = _best(lambda: build_report(db), runs)
        as_json, _ = _best(lambda: json.dumps(build_report(db)), runs)
        html, text = _best(lambda: render_html(build_report(db)), runs)
        human = db.execute("SELECT COUNT(*) FROM decisions WHERE source IN ('manual', 'batch') "
                           "AND action != 'undo'").fetchone()[0]
        bank = db.execute("SELECT COUNT(*) FROM decisions WHERE source = 'bank'").fetchone()[0]
        qa = db.execute("SELECT COUNT(*) FROM decisions WHERE source = 'qa'").fetchone()[0]
    print(f"{rows:,} decision rows; {human:,} moderation, {bank:,} bank, {qa:,} QA; HTML {len(text) / 1e6:.2f} MB")
    print(f"| step | median of {runs} | × baseline |")
    print("|---|---:|---:|")
    steps = (("select", "baseline: SELECT * FROM decisions", base), ("build", "report dict (build_report)", built),
             ("json", "--json (build + json.dumps)", as_json),
             ("html", "--out report.html (build + 8 charts + HTML)", html))
    for key, name, secs in steps:
        print(f"| {name} | {secs * 1000:,.0f} ms | {secs / base:.1f}× |")
        figure(f"report.{key}_s", secs, "s")
        if key != "select":
            figure(f"report.{key}_x", secs / base, "x")
    for key, count in (("rows", rows), ("moderation_rows", human), ("bank_rows", bank), ("qa_rows", qa)):
        figure(f"report.{key}", count, "count")
    figure("report.html_mb", len(text) / 1e6, "MB")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    k = report["kpis"]["overall"]
    ok = k["decided"] == human and k["bank_auto_actions"] == bank and report["qa"]["overall"]["n"] == qa
    if not ok:
        print(f"MISMATCH: report decided {k['decided']} bank {k['bank_auto_actions']} qa "
              f"{report['qa']['overall']['n']}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
