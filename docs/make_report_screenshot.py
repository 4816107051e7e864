"""docs/report.png: the HTML report of a seeded, made-up fortnight (four moderators in two teams, a bank,
a QA analyst), written by `moderator report --out` and rendered by headless Chromium from Debian.

Run: .venv/bin/python docs/make_report_screenshot.py   (needs `chromium`: apt-get install -y chromium)
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderator.cli import main  # noqa: E402
from moderator.clock import iso  # noqa: E402
from moderator.domain import DecisionSource  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from storage import qa as qa_repo  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.report_fixtures import History  # noqa: E402

DOCS = Path(__file__).resolve().parent
TEAMS = {"amira": "in-house", "ben": "in-house", "chen": "vendor-bpo", "dara": "vendor-bpo"}
LABELS = ["no_violation"] * 5 + ["spam"] * 3 + ["nudity", "violence_gore", "hate_symbol", None]


def fill(store: Store, n: int = 500, seed: int = 3) -> None:
    rng, h = random.Random(seed), History(store, load_policy())
    start, made = datetime(2024, 5, 1, 6, tzinfo=UTC), []
    for _ in range(n):
        at = start + timedelta(days=rng.randrange(14), hours=rng.randrange(14), minutes=rng.randrange(60))
        if at.day == 7:
            continue  # a day off: the empty day shows as a gap
        category = rng.choice([None, "gore", "sexual", "self_harm"])
        item = h.item(category=category, sla_due_at=iso(at + timedelta(minutes=rng.choice([-30, 30, 60, 120]))),
                      reported_at=iso(at - timedelta(hours=2)))
        if rng.random() < 0.06:
            h.decide(item, "spam", "bank:known-spam", iso(at), source=DecisionSource.BANK)
            continue
        who = rng.choice(list(TEAMS))
        if rng.random() < 0.3:
            h.expose(item, who, iso(at - timedelta(seconds=20)), rng.randrange(200, 4000),
                     kind=rng.choice(["peek", "spotlight", "full"]), category=category)
        d = h.decide(item, rng.choice(LABELS), who, iso(at), handle_ms=int(rng.lognormvariate(9, 0.8)))
        h.team(d, TEAMS[who])
        made.append(d)
        if rng.random() < 0.03:
            h.undo(d, iso(at + timedelta(seconds=5)))
    for d in rng.sample(made, len(made) // 5):
        if d.actor != "dara":  # nobody re-reviewed dara this fortnight
            agree = d.labels and rng.random() < (0.9 if TEAMS[d.actor] == "in-house" else 0.7)
            label = d.labels[0] if agree else rng.choice(["no_violation", "spam", "nudity"])
            h.qa(d, label, "quinn", iso(datetime.fromisoformat(d.decided_at.replace("Z", "+00:00")) + timedelta(hours=3)))
    for n in range(40):  # golden items with a known answer, decided like any other
        item, who = h.item(reported_at="2024-05-10T08:00:00.000Z"), list(TEAMS)[n % 4]
        store.write(lambda db, item=item: qa_repo.add_golden(db, "lead", item, ["spam"], "demo"))
        label = "spam" if rng.random() < (0.9 if TEAMS[who] == "in-house" else 0.75) else "no_violation"
        h.team(h.decide(item, label, who, f"2024-05-10T{9 + n % 8:02d}:00:00.000Z", handle_ms=6_000), TEAMS[who])
    for _ in range(12):
        h.item(category="gore", sla_due_at="2024-05-15T00:00:00.000Z", reported_at="2024-05-14T12:00:00.000Z")


def main_(out: Path = DOCS / "report.png") -> int:
    with tempfile.TemporaryDirectory() as tmp:
        data, html = Path(tmp) / "store", Path(tmp) / "report.html"
        with Store(data) as store:
            fill(store)
        if main(["--data-dir", str(data), "report", "--out", str(html)]) != 0:
            return 1
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={Path(tmp) / 'profile'}",
                        f"--screenshot={out}", "--window-size=1400,2400", html.as_uri()],
                       check=True, capture_output=True, timeout=120)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main_())
