"""Start-up stays light: `moderator --help`, a sub-command's --help and a usage error load none of the
store, sqlite_utils, numpy or the services (checked in a fresh interpreter); the errors a command
raises are still one line with their exit codes; `queue --json` says what it said before.
Correctness only: the times are bench/bench_startup.py's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from moderator import cli_review, export
from moderator.cli import main
from storage import items as items_repo
from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sqlite_utils", "numpy", "PIL", "cv2", "storage.store", "storage.audit", "moderator.settings",
         "moderator.policy", "moderator.export", "moderator.domain")

SCRIPT = r"""
import json, sys
from moderator.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded_by(argv: list[str]) -> tuple[int, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"])


@pytest.mark.parametrize("argv", [["--help"], ["import", "--help"], ["bank", "import", "--help"],
                                  ["decisions", "export", "--help"], ["--no-such-option"]])
def test_help_and_usage_errors_load_nothing_heavy(argv):
    code, modules = loaded_by(argv)
    assert code in (0, 2)
    assert [m for m in HEAVY if m in modules] == []


def test_the_export_formats_offered_are_the_exports_own():
    assert cli_review.EXPORT_FORMATS == export.FORMATS


def test_errors_are_still_one_line_with_their_codes(tmp_path, capsys):
    """A bad policy (PolicyError) and a file that is not a store (StoreError, made a usage error by
    open_store): each one line and exit 2, though the types are looked up only once the command failed."""
    bad_policy = tmp_path / "policy.toml"
    bad_policy.write_text("not = [valid")
    (tmp_path / "a.txt").write_text("x")
    assert main(["import", str(tmp_path / "a.txt"), "--policy", str(bad_policy),
                 "--data-dir", str(tmp_path / "d")]) == 2
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / Store.FILENAME).write_bytes(b"not a database " * 100)
    assert main(["queue", "--data-dir", str(junk)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("moderator: error: ") for line in err)
    assert "policy" in err[0] and "not a usable store" in err[1]


def test_queue_json_is_what_asdict_gave(good_store, capsys):
    data = good_store.data_dir
    expected = [{**asdict(i), "kind": i.kind.value, "status": i.status.value}
                for i in items_repo.queue(good_store.db)]
    good_store.close()
    assert main(["queue", "--json", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    assert json.loads(out) == json.loads(json.dumps(expected)) and len(expected) > 0
    with Store(data, readonly=True):
        pass


DESK_START = r"""
import json, sys
from moderator.policy import load_policy
from moderator.review import ReviewService
from moderator.settings import Settings
from moderator.session import open_desk_store
from ui import first_item
store = open_desk_store(sys.argv[1])
got = first_item.start(ReviewService(store=store, policy=load_policy(None), actor="t"), Settings()).result(60)
print(json.dumps({"items": len(got.items), "picture": got.preview is not None, "loaded": "sqlite_utils" in sys.modules}))
store.close()
"""


def test_the_desks_first_item_needs_no_sqlite_utils(good_store):
    """An existing, up-to-date store opens, its queue is read and its top item decoded and filtered
    (ui/first_item.py: all the desk does before the first picture) without importing sqlite-utils
    (~50 ms: storage/db.py). A new store's migrations are applied through it (tests/test_store_db.py)."""
    data = good_store.data_dir
    count = len(items_repo.queue(good_store.db))
    good_store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", DESK_START, str(data)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert count > 1  # the desk reads only the top item before its first picture, the rest after it
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"items": 1, "picture": True, "loaded": False}
