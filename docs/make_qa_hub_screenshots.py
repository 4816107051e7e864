"""Screenshots of the QA desk over a team hub (`moderator desk --qa` with a hub configured): a task leased
from the hub, blind, and the side-by-side once the hub accepted the judgement and sent the original.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_qa_hub_screenshots.py [--size 1024x700]
It starts a real hub (SQLite, in a temp dir), imports the demo media with `moderator hub import`, lets a
moderator decide them over the API, draws a QA batch with `moderator hub qa sample`, and drives the real
QA window against it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from docs.make_hub_screenshots import hub_cli, serve  # noqa: E402
from docs.make_screenshots import shot, wait  # noqa: E402
from moderator.demo import write_demo_media  # noqa: E402
from moderator.hub_config import HubConfig  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.hub_fixtures import free_port  # noqa: E402
from ui.app import build_window  # noqa: E402

SIZE = tuple(int(n) for n in sys.argv[sys.argv.index("--size") + 1].split("x")) if "--size" in sys.argv else (1600, 1000)
SUFFIX = "" if SIZE == (1600, 1000) else f"-{SIZE[0]}x{SIZE[1]}"
LABELS = ("spam", "violence_gore", "no_violation", "nudity")


def user(hub_dir: Path, name: str, role: str, team: str) -> str:
    return json.loads(hub_cli(hub_dir, "user", "add", name, "--role", role, "--team", team, "--json"))["token"]


def moderate(url: str, token: str) -> None:
    """A vendor moderator decides every item the hub leases them, with a note."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}", "X-Moderator-Desk": "desk-v7"}) as c:
        leases = c.post("/v1/leases", json={"count": 100}).json()["leases"]
        policy = {lb.name: lb.action.value for lb in load_policy().labels}
        rows = [{"uuid": str(uuid.uuid4()), "item_id": x["item"]["id"], "lease_id": x["lease_id"],
                 "labels": [LABELS[n % len(LABELS)]], "action": policy[LABELS[n % len(LABELS)]],
                 "decided_at": "2026-12-01T14:05:00Z", "handle_ms": 2100, "exposure_ms": 0, "batch_id": None,
                 "supersedes": None, "policy_version": "demo", "source": "manual", "note": "checked the account"}
                for n, x in enumerate(leases)]
        c.post("/v1/decisions", json={"decisions": rows}).raise_for_status()


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hub_dir, media = tmp / "hub", tmp / "media"
        media.mkdir()
        hub_cli(hub_dir, "import", str(write_demo_media(media)))
        vendor = user(hub_dir, "vendor-7", "moderator", "bpo-a")
        qa = user(hub_dir, "quinn", "qa", "qa-team")
        port = free_port()
        proc = serve(hub_dir, port)
        url = f"http://127.0.0.1:{port}"
        store = Store(tmp / "desk")
        window = None
        try:
            moderate(url, vendor)
            hub_cli(hub_dir, "qa", "sample", "--count", "6", "--seed", "4", "--analyst", "quinn")
            window = build_window(store, load_policy(), load_keymap(), "quinn", qa=True,
                                  settings=Settings(palate_cleanser=False), hub=HubConfig(url, qa, "env"))
            window.resize(*SIZE)
            window.show()
            r = window.reviewer
            wait(app, lambda: len(r.items) >= 6 and window.viewer.prepared is not None, 60000)
            window.hub_driver.sync_round()
            wait(app, lambda: "online" in window.hub_driver.indicator.text(), 20000)
            shot(app, window, f"qa-hub-blind{SUFFIX}.png")
            QTest.keyClick(window.viewer, Qt.Key.Key_1)  # the policy's first label: a disagreement here
            wait(app, lambda: r.verdict is not None, 30000)
            shot(app, window, f"qa-hub-side-by-side{SUFFIX}.png")
        finally:
            if window is not None:
                window.close()
                window.qa.hub.close()
            store.close()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
