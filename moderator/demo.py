"""The demo queue: harmless real photos (scikit-image) and short generated videos, with report data.

Written to its own store (`<data dir>/demo`), so trying the desk never mixes with a team's work.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from moderator.bank_formats import BankRow, write_bank_file
from moderator.banks import BankService
from moderator.ingest import ImportReport, import_paths
from moderator.matching import match_pending
from moderator.policy import load_policy
from moderator.signals import PDQ
from storage import items as items_repo
from storage.store import Store

# (skimage name, file format, category hint, priority, reason, SLA minutes)
PHOTOS = [
    ("astronaut", "jpg", None, 1, "reported as impersonation", 240),
    ("coffee", "jpg", None, 0, "reported as spam", 1440),
    ("chelsea", "png", None, 0, "reported as animal cruelty", 720),
    ("rocket", "webp", "gore", 2, "reported as graphic violence", 60),
    ("retina", "jpg", "gore", 2, "reported as graphic medical image", 90),
    ("hubble_deep_field", "jpg", None, 0, "reported as misleading", 2880),
    ("immunohistochemistry", "png", "gore", 1, "reported as graphic", 120),
    ("coins", "png", None, 0, "reported as scam", 1440),
    ("camera", "jpg", None, 1, "reported as harassment", 480),
    ("colorwheel", "png", "sexual", 1, "reported as sexual content", 180),
    ("cat", "webp", None, 0, "reported as spam", 1440),
    ("moon", "jpg", None, 0, "reported as misleading", 2880),
    ("horse", "png", None, 0, "reported as animal cruelty", 720),
    ("logo", "png", "hate_symbol", 2, "reported as hate symbol", 120),
    ("page", "png", None, 0, "reported as spam text", 1440),
    ("brick", "jpg", "csam_suspected", 3, "reported by a hotline match (demo: a brick wall)", 30),
]
VIDEOS = [("demo-clip-a.mp4", ("astronaut", "coffee", "rocket"), None, 1, "reported video", 240),
          ("demo-clip-b.mp4", ("chelsea", "retina", "hubble_deep_field"), "gore", 2, "reported as violent video", 60)]


# Two demo banks, so the demo shows routing: a known-bad edit of one photo, a known-good photo.
# (bank name, kind, action, photo, label)
BANKS = [("demo-known-violent", "block", "escalate", "rocket", "violence_gore"),
         ("demo-known-harmless", "allow", "allow", "coffee", "no_violation")]


def ensure_demo(store: Store, actor: str = "demo") -> ImportReport | None:
    """Fill an empty demo store (media, banks, matching); leave one that already has items as it is."""
    if items_repo.queue(store.db, limit=1, include_closed=True):
        return None
    with tempfile.TemporaryDirectory(prefix="moderator-demo-") as tmp:
        manifest = write_demo_media(Path(tmp))
        _demo_banks(store, Path(tmp), actor)
        report = import_paths(store, [manifest], actor, policy=load_policy())
    match_pending(store, load_policy())
    return report


def _demo_banks(store: Store, folder: Path, actor: str) -> None:
    """Banks hold the PDQ of an edited copy (half size, JPEG q40), as a real shared list would."""
    from skimage import data

    service = BankService(store, load_policy(), actor)
    for name, kind, action, source, label in BANKS:
        rgb = _rgb(getattr(data, source)())
        copy = folder / f"bank-{source}.jpg"
        small = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(copy), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 40])
        bank_file = folder / f"{name}.csv"
        write_bank_file([BankRow("pdq", PDQ.hash_file(copy).hex, label, "demo")], bank_file, "csv")
        service.import_bank(bank_file, name, kind=kind, action=action, description="demo bank")


def write_demo_media(folder: Path) -> Path:
    """Write the demo photos and videos into folder, plus a manifest.jsonl describing them."""
    from skimage import data  # imported here: only the demo needs it, and it is slow to import

    rows = []
    for n, (name, fmt, category, priority, reason, sla) in enumerate(PHOTOS):
        path = folder / f"{name}.{fmt}"
        _write_image(path, _rgb(getattr(data, name)()))
        rows.append(_row(path.name, f"demo-{n:03d}", category, priority, reason, sla))
    for n, (fname, sources, category, priority, reason, sla) in enumerate(VIDEOS):
        _write_video(folder / fname, [_rgb(getattr(data, s)()) for s in sources])
        rows.append(_row(fname, f"demo-v{n:02d}", category, priority, reason, sla))
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return manifest


def _row(path, external_id, category, priority, reason, sla) -> dict:
    row = {"path": path, "external_id": external_id, "priority": priority, "reason": reason,
           "sla_minutes": sla, "report_count": 1 + priority * 2}
    if category:
        row["category"] = category
    return row


def _rgb(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.dtype != np.uint8:
        arr = (arr / max(float(arr.max()), 1.0) * 255).astype(np.uint8)
    return np.ascontiguousarray(arr[..., :3])


def _write_image(path: Path, rgb: np.ndarray) -> None:
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if path.suffix == ".jpg" else []
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params):
        raise OSError(f"could not write {path}")


def _write_video(path: Path, scenes: list[np.ndarray], fps: int = 10, seconds: float = 2.0) -> None:
    size = (640, 360)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for rgb in scenes:
        frame = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (size[0] + 80, size[1] + 45))
        for i in range(int(fps * seconds)):  # a slow pan, so frames differ within a scene
            writer.write(np.ascontiguousarray(frame[i % 45: i % 45 + size[1], i * 2 % 80: i * 2 % 80 + size[0]]))
    writer.release()
