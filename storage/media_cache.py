"""Content-addressed media cache: files stored by SHA-256 in a directory private to the user.

A file and its media row are written so that a crash leaves neither or both:

1. `stage()` copies the source to `.partial-<pid>-<token>` (hashing as it copies), fsyncs it and
   renames it to `.staged-<pid>-<token>-<sha256><ext>`: the name says which process owns it and
   which content it holds.
2. The caller commits the row (its path is the final content address, `path_for()`).
3. `commit()` renames the staged file into place (`commit_all()`: a group of them, one fsync per
   folder); `discard()` removes it if the row was refused.

`sweep()`, run when a writable store opens, finishes what a dead process left: a staged file whose
row was committed is renamed into place (rolled forward), any other staged or partial file of a
dead process is removed. A file of a live process is never touched (it may be importing now), and a
cache file no row refers to is removed only once it is older than a grace period.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from storage.db import Db

from storage.files import fsync_dir

EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
    "image/bmp": ".bmp", "image/tiff": ".tif", "video/mp4": ".mp4", "video/quicktime": ".mov",
    "video/webm": ".webm", "video/x-matroska": ".mkv", "video/x-msvideo": ".avi",
}
CHUNK = 1 << 20
PARTIAL, STAGED, LEGACY = ".partial-", ".staged-", ".incoming-"  # LEGACY: temp names of older versions
GRACE_SECONDS = 3600


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


@dataclass(frozen=True)
class Staged:
    """A copy waiting for its row: `path` now, `final` once the row is committed."""

    sha256: str
    mime: str
    size: int
    path: Path
    final: Path


@dataclass
class Swept:
    rolled_forward: list[str] = field(default_factory=list)  # sha256 of staged files renamed into place
    removed: list[Path] = field(default_factory=list)


class MediaCache:
    def __init__(self, root: Path):
        self.root = ensure_private_dir(root)
        self._made: set[Path] = set()  # shard folders this cache has made private already

    def path_for(self, sha256: str, mime: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}{EXTENSIONS.get(mime, '')}"

    # -- one file: stage, then commit or discard ------------------------------------------------
    def stage(self, src: BinaryIO, mime: str, max_bytes: int | None = None) -> Staged:
        """Copy src (from where it is to its end, or to max_bytes + 1) under a staged name, fsynced."""
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        partial = self.root / f"{PARTIAL}{token}"
        h, size = hashlib.sha256(), 0
        try:
            with open(partial, "xb") as out:
                os.chmod(partial, 0o600)
                while chunk := src.read(CHUNK if max_bytes is None else min(CHUNK, max_bytes + 1 - size)):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = h.hexdigest()
            staged = self.root / f"{STAGED}{token}-{digest}{EXTENSIONS.get(mime, '')}"
            os.replace(partial, staged)
            fsync_dir(self.root)  # the staged name is durable before any row names its content
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return Staged(digest, mime, size, staged, self.path_for(digest, mime))

    def commit(self, staged: Staged) -> Path:
        """Move a staged file into place: call only after its row is committed."""
        return self.commit_all([staged])[0]

    def commit_all(self, staged: Iterable[Staged]) -> list[Path]:
        """Move staged files into place (call only after their rows are committed): every rename, then
        one fsync per distinct folder and one of the staging folder, however many files. A crash before
        those fsyncs can lose a rename but never a file: stage() made its staged name durable, and the
        sweep of the next writable open rolls a staged file whose row is committed forward."""
        finals, folders = [], {}
        for s in staged:
            folder = s.final.parent
            if folder not in self._made:
                self._made.add(ensure_private_dir(folder))
            folders[folder] = None
            try:
                os.replace(s.path, s.final)
            except FileNotFoundError:  # the folder was removed since this cache made it
                if not s.path.exists():
                    raise
                os.replace(s.path, ensure_private_dir(folder) / s.final.name)
            finals.append(s.final)
        for folder in folders:
            fsync_dir(folder)
        if finals:
            fsync_dir(self.root)
        return finals

    def discard(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    # -- at start: finish or remove what dead processes left ---------------------------------------
    def sweep(self, db: Db, grace_seconds: float = GRACE_SECONDS) -> Swept:
        return self.sweep_rows(lambda: {sha: mime for sha, mime in db.execute("SELECT sha256, mime FROM media")},
                               lambda sha: db.execute("SELECT 1 FROM media WHERE sha256 = ?", (sha,)).fetchone()
                               is not None, grace_seconds)

    def sweep_rows(self, media_mimes: Callable[[], dict[str, str]], has_row: Callable[[str], bool],
                   grace_seconds: float = GRACE_SECONDS) -> Swept:
        """sweep() over any database: `media_mimes` gives sha256 -> mime of every media row, and
        `has_row` re-checks one sha256 (a row committed since the first read)."""
        swept = Swept()
        mimes = media_mimes()
        cutoff = time.time() - grace_seconds
        for entry in _scan(self.root):
            if entry.is_dir(follow_symlinks=False) and _is_shard(entry.name):
                self._sweep_unreferenced(Path(entry.path), mimes, cutoff, swept, has_row)
            elif entry.name.startswith((PARTIAL, STAGED)):
                self._sweep_staged(entry, mimes, swept)
            elif entry.name.startswith(LEGACY) and _mtime(entry) < cutoff:
                _remove(Path(entry.path), swept)
        return swept

    def _sweep_staged(self, entry: os.DirEntry, mimes: dict[str, str], swept: Swept) -> None:
        pid, sha = _owner_and_sha(entry.name)
        if pid is not None and _alive(pid):
            return
        path = Path(entry.path)
        if sha in mimes and not (final := self.path_for(sha, mimes[sha])).exists():
            ensure_private_dir(final.parent)
            try:
                os.replace(path, final)
            except OSError:  # another process's sweep was first, or it cannot be moved now
                return
            fsync_dir(final.parent)
            swept.rolled_forward.append(sha)
        else:
            _remove(path, swept)

    def _sweep_unreferenced(self, folder: Path, mimes: dict[str, str], cutoff: float, swept: Swept,
                            has_row: Callable[[str], bool]) -> None:
        for entry in _scan(folder):
            sha = entry.name.split(".", 1)[0]
            if entry.name.startswith(".") or sha in mimes or _mtime(entry) >= cutoff:
                continue
            if not has_row(sha):
                _remove(Path(entry.path), swept)


def _owner_and_sha(name: str) -> tuple[int | None, str | None]:
    """(pid, sha256) from `.staged-<pid>-<token>-<sha><ext>` or (pid, None) from `.partial-<pid>-<token>`."""
    parts = name.split("-")
    pid = int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None
    sha = parts[3].split(".", 1)[0] if name.startswith(STAGED) and len(parts) == 4 else None
    return pid, sha


def _is_shard(name: str) -> bool:
    return len(name) == 2 and all(c in "0123456789abcdef" for c in name)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _scan(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except FileNotFoundError:
        return []


def _mtime(entry: os.DirEntry) -> float:
    try:
        return entry.stat(follow_symlinks=False).st_mtime
    except FileNotFoundError:
        return float("inf")  # gone already: nothing to do


def _remove(path: Path, swept: Swept) -> None:
    try:
        path.unlink()
    except OSError:  # gone already, or not ours to remove: the next sweep tries again
        return
    swept.removed.append(path)
