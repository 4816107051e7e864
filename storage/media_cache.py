"""Content-addressed media cache: files stored by SHA-256 in a directory private to the user."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
    "image/bmp": ".bmp", "image/tiff": ".tif", "video/mp4": ".mp4", "video/quicktime": ".mov",
    "video/webm": ".webm", "video/x-matroska": ".mkv", "video/x-msvideo": ".avi",
}
CHUNK = 1 << 20


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


class MediaCache:
    def __init__(self, root: Path):
        self.root = ensure_private_dir(root)

    def path_for(self, sha256: str, mime: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}{EXTENSIONS.get(mime, '')}"

    def add(self, src: Path, mime: str) -> tuple[str, Path]:
        """Copy src into the cache under its SHA-256 (hashing while copying); returns (sha256, path).

        The copy lands under a temporary name and is renamed into place, so a crash never leaves a
        half-written file under a content address.
        """
        h = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
                while chunk := fin.read(CHUNK):
                    h.update(chunk)
                    fout.write(chunk)
                fout.flush()
                os.fsync(fout.fileno())
            digest = h.hexdigest()
            dest = self.path_for(digest, mime)
            ensure_private_dir(dest.parent)
            os.replace(tmp, dest)
            return digest, dest
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
