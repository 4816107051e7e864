"""The core never knows about Qt: every non-UI package imports with PySide6 blocked."""

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ("moderator", "storage", "blurring", "upstream")

BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6" or name.startswith("PySide6."):
            raise ImportError("PySide6 is blocked for the core")
sys.meta_path.insert(0, Block())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
print("imported", len(sys.argv) - 1)
"""


def core_modules() -> list[str]:
    names = []
    for pkg in CORE:
        names.append(pkg)
        names += [f"{pkg}.{m.name}" for m in pkgutil.iter_modules([str(ROOT / pkg)]) if m.name != "__main__"]
    return names


def test_core_imports_without_pyside6():
    modules = core_modules()
    assert "storage.store" in modules and "moderator.review" in modules
    out = subprocess.run([sys.executable, "-c", BLOCKER, *modules], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"imported {len(modules)}"


def test_blocker_really_blocks():
    out = subprocess.run([sys.executable, "-c", BLOCKER, "ui.tasks"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0 and "PySide6 is blocked" in out.stderr


def test_import_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: ui/ never imports storage/ (it goes through a
    moderator/ op), and the core never imports PySide6, directly or through a module of its own."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ui reaches storage only through moderator KEPT" in out.stdout
    assert "the core never imports Qt KEPT" in out.stdout
