"""Before Qt starts on Linux/X11: name the missing system library in one line instead of a core dump."""

from __future__ import annotations

import ctypes.util
import os
import sys

# What Qt >= 6.5's xcb platform plugin loads that a minimal Debian/Ubuntu lacks.
XCB_LIBS = {
    "xcb-cursor": "libxcb-cursor0", "xkbcommon-x11": "libxkbcommon-x11-0", "xcb-icccm": "libxcb-icccm4",
    "xcb-image": "libxcb-image0", "xcb-keysyms": "libxcb-keysyms1", "xcb-randr": "libxcb-randr0",
    "xcb-render-util": "libxcb-render-util0", "xcb-shape": "libxcb-shape0", "EGL": "libegl1",
    "fontconfig": "libfontconfig1", "dbus-1": "libdbus-1-3",
}


def missing_packages() -> list[str]:
    """Debian packages whose libraries the xcb plugin needs and this machine lacks."""
    if not sys.platform.startswith("linux") or _platform() not in ("", "xcb"):
        return []
    return [pkg for lib, pkg in XCB_LIBS.items() if ctypes.util.find_library(lib) is None]


def problem() -> str | None:
    """One line saying why a window cannot open here, or None."""
    if not sys.platform.startswith("linux") or _platform() not in ("", "xcb"):
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return "no display: run it in a desktop session, or under xvfb-run (tests use QT_QPA_PLATFORM=offscreen)"
    missing = missing_packages()
    if missing:
        return f"Qt needs system libraries that are missing; install them with: sudo apt-get install {' '.join(missing)}"
    return None


def _platform() -> str:
    return os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
