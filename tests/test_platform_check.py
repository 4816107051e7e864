"""`make run` without a display or without Qt's X11 libraries stops with one line saying what to do."""

import ctypes.util
import subprocess
import sys
from pathlib import Path

from ui import platform_check

ROOT = Path(__file__).resolve().parent.parent


def test_missing_xcb_library_names_the_debian_package(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":99")
    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if name == "xcb-cursor" else real(name))
    message = platform_check.problem()
    assert message is not None and "libxcb-cursor0" in message and "apt-get install" in message


def test_offscreen_needs_nothing(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert platform_check.problem() is None


def test_desk_without_display_exits_1_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MODERATOR_DATA_DIR": str(tmp_path / "d")}
    out = subprocess.run([sys.executable, "-m", "moderator", "desk", "--demo"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "moderator: error: no display: run it in a desktop session, or under xvfb-run "
        "(tests use QT_QPA_PLATFORM=offscreen)"]
    assert not (tmp_path / "d").exists()  # nothing created before the check
