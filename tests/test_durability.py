"""kill -9 right after the desk shows a decision as saved loses nothing."""

import signal
import subprocess
import sys
from pathlib import Path

from moderator.ingest import import_paths
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent


def test_kill_dash_nine_after_save_loses_no_decision(tmp_path, good_folder):
    data = tmp_path / "store"
    with Store(data) as store:
        import_paths(store, [good_folder], "tester")
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "desk_driver.py"), str(data)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    seen = []
    try:
        for line in proc.stdout:
            if line.startswith("SAVED "):
                seen.append(line.split()[1])
            if len(seen) == 3:
                proc.send_signal(signal.SIGKILL)  # no chance to flush or close anything
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert len(seen) == 3 and proc.returncode == -signal.SIGKILL
    with Store(data) as store:
        stored = {r[0] for r in store.db.execute("SELECT uuid FROM decisions")}
        outbox = {r[0] for r in store.db.execute("SELECT ref FROM outbox")}
    assert set(seen) <= stored and set(seen) <= outbox
