"""One pass per file on import, counted as real opens: a subprocess runs `moderator` with an audit hook
(the interpreter's own "open" event, raised by every open() and os.open(), Pillow's included) and
reports every file it opened. Each source is opened once per row that names it, and the copy in the
media cache is written once and read once, by its one decode; matching then reuses those hashes."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from moderator.signals import PDQ
from tests.conftest import photo, write_image

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json, os, sys
from moderator.cli import main

setup, measured, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
for argv in setup:
    assert main(argv) in (0, 1), argv
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        text = args[1] if isinstance(args[1], str) else ""
        writes = any(c in text for c in "wxa+") or args[2] & (os.O_WRONLY | os.O_RDWR)
        mode = "w" if writes else "r"
        opened.append((os.path.abspath(os.fsdecode(args[0])), mode))
sys.addaudithook(hook)
code = main(measured)
seen = list(opened)
with open(out, "w") as f:
    json.dump({"code": code, "opened": seen}, f)
"""


def run_counted(tmp_path: Path, measured: list[str], setup: list[list[str]] = ()) -> tuple[int, list]:
    out = tmp_path / "opened.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(list(setup)), json.dumps(measured), str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    return result["code"], [tuple(o) for o in result["opened"]]


def sources_opened(opened: list, folder: Path) -> Counter:
    return Counter(Path(p).name for p, _ in opened if Path(p).parent == folder)


def cache_opened(opened: list, data: Path, mode: str) -> Counter:
    """Opens of media files in the cache for reading ("r") or writing ("w"), by content address; a
    partial copy has none yet and counts as "partial". Folders (opened to fsync them) are left out."""
    media = data / "media"
    counts: Counter = Counter()
    for p, m in opened:
        path = Path(p)
        if not path.is_relative_to(media) or m != mode:
            continue
        if path.name.startswith(".partial-"):
            counts["partial"] += 1
        elif "." in path.name:  # .staged-<pid>-<token>-<sha><ext> or <sha><ext>
            counts[path.name.rsplit("-", 1)[-1].split(".")[0]] += 1
    return counts


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("astronaut", "coffee"):
        write_image(folder / f"{name}.jpg", photo(name))
    write_image(folder / "rocket.png", photo("rocket")[:256, :256])
    return folder


@pytest.fixture
def pdq_bank(tmp_path, photos):
    csv = tmp_path / "bank.csv"
    csv.write_text(f"signal_type,hash,label,source\npdq,{PDQ.hash_file(photos / 'coffee.jpg').hex},spam,test\n")
    return csv


def test_an_import_with_banks_opens_each_source_once_and_decodes_each_copy_once(tmp_path, photos, pdq_bank):
    data = str(tmp_path / "store")
    bank = ["bank", "import", str(pdq_bank), "--name", "b", "--kind", "block", "--action", "flag",
            "--data-dir", data]
    code, opened = run_counted(tmp_path, ["import", str(photos), "--data-dir", data], setup=[bank])
    assert code == 0
    assert sources_opened(opened, photos) == {"astronaut.jpg": 1, "coffee.jpg": 1, "rocket.png": 1}
    written = cache_opened(opened, Path(data), "w")
    read = cache_opened(opened, Path(data), "r")
    assert written == {"partial": 3}  # one copy each, nothing written twice
    assert len(read) == 3 and max(read.values()) == 1, read  # one decode each; matching opened none


def test_a_second_report_of_known_content_opens_only_its_source(tmp_path, photos, pdq_bank):
    data = str(tmp_path / "store")
    bank = ["bank", "import", str(pdq_bank), "--name", "b", "--kind", "block", "--action", "flag",
            "--data-dir", data]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"path": "in/coffee.jpg", "external_id": f"r-{n}"}) + "\n"
                                for n in range(3)))
    code, opened = run_counted(tmp_path, ["import", str(manifest), "--data-dir", data], setup=[bank])
    assert code == 0
    assert sources_opened(opened, photos) == {"coffee.jpg": 3}  # once per report
    assert cache_opened(opened, Path(data), "w") == {"partial": 1}
    assert sum(cache_opened(opened, Path(data), "r").values()) == 1  # the first report's one decode


def test_matching_later_decodes_shared_content_once(tmp_path, photos, pdq_bank):
    """Imported before any bank existed, two reports of one photo are matched once a bank arrives:
    the cached copy is opened twice in all (one decode, one read for the MD5), not once per item."""
    data = str(tmp_path / "store")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"path": "in/coffee.jpg", "external_id": f"r-{n}"}) + "\n"
                                for n in range(2)))
    setup = [["import", str(manifest), "--data-dir", data],
             ["bank", "import", str(pdq_bank), "--name", "b", "--kind", "block", "--action", "flag",
              "--data-dir", data]]
    code, opened = run_counted(tmp_path, ["match", "--pending", "--data-dir", data], setup=setup)
    assert code == 0
    read = cache_opened(opened, Path(data), "r")
    assert len(read) == 1 and sum(read.values()) <= 2, read
