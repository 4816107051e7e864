"""Screenshots of the desk working with a team hub: online with leased items, offline with unsynced
decisions, and a decision another desk made first (decided elsewhere).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_hub_screenshots.py  (or under xvfb-run)
It starts a real hub (`moderator hub serve`, SQLite, in a temp dir), puts the demo media into it with
`moderator hub import`, and drives the real window against it, as a team would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from docs.make_screenshots import DOCS, shot, wait  # noqa: E402
from moderator.demo import write_demo_media  # noqa: E402
from moderator.hub_config import HubConfig  # noqa: E402
from moderator.keymap import load_keymap  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.settings import Settings  # noqa: E402
from storage.store import Store  # noqa: E402
from tests.hub_fixtures import free_port  # noqa: E402
from ui.app import build_window  # noqa: E402

# `--size 1024x700` checks a laptop window (written beside the others with the size in the name).
SIZE = tuple(int(n) for n in sys.argv[sys.argv.index("--size") + 1].split("x")) if "--size" in sys.argv else (1600, 1000)
SUFFIX = "" if SIZE == (1600, 1000) else f"-{SIZE[0]}x{SIZE[1]}"


def hub_cli(data: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "moderator", "hub", *args, "--data-dir", str(data)],
                          capture_output=True, text=True, check=True)
    return done.stdout


def serve(data: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "moderator", "hub", "serve", "--data-dir", str(data),
                             "--port", str(port), "--lease-seconds", "4"], stdout=subprocess.PIPE,
                            start_new_session=True)
    line = proc.stdout.readline().decode()
    assert line.startswith("hub listening on "), line
    return proc


def decide_elsewhere(url: str, token: str, item_id: int) -> None:
    """Another desk takes the expired lease on item_id and decides it first: the conflict to show."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}",
                                             "X-Moderator-Desk": "desk-vendor-7"}) as c:
        leases = c.post("/v1/leases", json={"count": 20}).json()["leases"]
        mine = next(x for x in leases if x["item"]["id"] == item_id)
        c.post("/v1/decisions", json={"decisions": [{
            "uuid": "00000000-0000-4000-8000-000000000007", "item_id": item_id, "lease_id": mine["lease_id"],
            "labels": ["spam"], "action": "remove", "decided_at": "2026-12-02T09:00:00Z", "handle_ms": 900,
            "exposure_ms": 0, "batch_id": None, "supersedes": None, "policy_version": "demo",
            "source": "manual", "note": None}]})


def main() -> None:
    app = QApplication.instance() or QApplication([])
    app.setStyleSheet((ROOT / "resources" / "theme.qss").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hub_dir, media = tmp / "hub", tmp / "media"
        media.mkdir()
        hub_cli(hub_dir, "import", str(write_demo_media(media)))
        token = json.loads(hub_cli(hub_dir, "user", "add", "sam", "--role", "moderator", "--team", "in-house",
                                   "--json"))["token"]
        other = json.loads(hub_cli(hub_dir, "user", "add", "vendor-7", "--role", "moderator", "--team", "bpo-a",
                                   "--json"))["token"]
        port = free_port()
        proc = serve(hub_dir, port)
        url = f"http://127.0.0.1:{port}"
        store = Store(tmp / "desk")
        window = build_window(store, load_policy(), load_keymap(), "sam", settings=Settings(palate_cleanser=False),
                              hub=HubConfig(url, token, "env"))
        window.resize(*SIZE)
        window.show()
        r = window.reviewer
        try:
            wait(app, lambda: len(r.items) >= 10 and window.viewer.prepared is not None and window.sync.status.online,
                 60000)
            shot(app, window, f"hub-online{SUFFIX}.png")

            window.sync._timer.stop()  # no renewals: the other desk can take an expired lease
            target = r.current.id
            time.sleep(4.5)
            decide_elsewhere(url, other, target)
            wait(app, lambda: window.viewer.prepared is not None and window.viewer.prepared.item_id == r.current.id)
            QTest.keyClick(window.viewer, Qt.Key.Key_3)
            wait(app, lambda: bool(window.sync.status.conflicts), 30000)
            shot(app, window, f"hub-conflict{SUFFIX}.png")

            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            for key in (Qt.Key.Key_2, Qt.Key.Key_1):
                wait(app, lambda: window.viewer.prepared is not None and not r.saving
                     and window.viewer.prepared.item_id == r.current.id)
                QTest.keyClick(window.viewer, key)
            wait(app, lambda: not window.sync.status.online and window.sync.status.unsynced >= 2, 30000)
            shot(app, window, f"hub-offline{SUFFIX}.png")
        finally:
            window._quit_confirmed = True
            window.close()
            window.sync.service.close()
            store.close()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    print("screenshots in", DOCS)


if __name__ == "__main__":
    main()
