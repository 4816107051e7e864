"""The audit anchor file (`store.anchor`): the chain's head kept outside the database, rewritten
after every commit that appended entries, before the writer tells its caller the commit is saved.

The file holds two fixed-size slots; each write goes in place to the slot that does *not* hold the
newest head, followed by one fdatasync. A crash mid-write can only tear that slot: its checksum
then fails and the reader falls back to the other slot (the previous head, which verify reports as
"entries appended without updating the anchor"). That is one flush per commit where a replaced
file needs three (temp file, rename, folder): the anchor was half of a decision's write time.
Each slot carries a generation number; the reader takes the valid slot with the highest one, so a
rewrite with a lower count (a truncated chain anchored again) is read as written.

Format 1 (one JSON object, written by earlier versions) is still read; the first write replaces it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from storage.files import write_file

ANCHOR_NAME = "store.anchor"
ANCHOR_FORMAT = "moderator-audit-anchor/2"
FORMAT_1 = "moderator-audit-anchor/1"
MAC_CONTEXT = FORMAT_1  # the anchor's MAC input, unchanged since format 1 so keyed anchors still verify
SLOT = 512  # bytes per slot: a keyed slot line is ~300 bytes


@dataclass(frozen=True)
class Anchor:
    """The head of the chain as last committed: entry count (= last seq) and hash, MAC'd with the key."""

    count: int
    head: str
    key_id: str | None = None
    mac: str | None = None

    def expected_mac(self, key: bytes) -> str:
        body = json.dumps([MAC_CONTEXT, self.count, self.head, self.key_id], separators=(",", ":"))
        return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def anchor_path(db_path: str | Path) -> Path:
    return Path(db_path).with_name(ANCHOR_NAME)


def read_anchor(path: Path) -> Anchor | None:
    """The newest head the anchor file holds; None when there is no file; ValueError when it holds none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"unreadable: {exc}") from None
    if len(data) == 2 * SLOT and data[:1] == b"{" and data[SLOT - 1:SLOT] == b"\n":
        slots = [s for s in (_parse_slot(data[:SLOT]), _parse_slot(data[SLOT:])) if s is not None]
        if not slots:
            raise ValueError("damaged: neither slot holds a checksummed head")
        return max(slots, key=lambda s: s[0])[1]
    return _read_format_1(data)


def write_anchor(path: Path, anchor: Anchor) -> None:
    """Put `anchor` in the slot not holding the newest head, in place, with one fdatasync; a missing
    or older-format file is replaced whole (a new file: 0600, atomic)."""
    _slot_line(anchor, 0)  # too big for a slot: refused before anything is written
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        fd = None
    try:
        gens = _generations(fd) if fd is not None else None
        if gens is None:  # no file, or not one of ours yet: the whole file, atomically
            write_file(path, _slot_line(anchor, 1) + _slot_line(anchor, 0))  # the next write goes to slot 1
            return
        os.pwrite(fd, _slot_line(anchor, max(gens) + 1), (0 if gens[0] < gens[1] else 1) * SLOT)
        (os.fdatasync if hasattr(os, "fdatasync") else os.fsync)(fd)
    finally:
        if fd is not None:
            os.close(fd)


def _generations(fd: int) -> list[int] | None:
    """Each slot's generation (-1: torn or blank), or None when the file is not in slot format."""
    data = os.pread(fd, 2 * SLOT + 1, 0)
    if len(data) != 2 * SLOT:
        return None
    slots = [_parse_slot(data[:SLOT]), _parse_slot(data[SLOT:])]
    return [s[0] if s else -1 for s in slots] if any(slots) else None


def _slot_line(anchor: Anchor, gen: int) -> bytes:
    body = json.dumps({"format": ANCHOR_FORMAT, "gen": gen, "count": anchor.count, "head": anchor.head,
                       "key_id": anchor.key_id, "mac": anchor.mac}, separators=(",", ":"))
    text = f"{body} {hashlib.sha256(body.encode()).hexdigest()}"
    if len(text) >= SLOT:
        raise ValueError(f"an anchor slot holds {SLOT - 1} bytes; this head needs {len(text)}")
    return text.ljust(SLOT - 1).encode() + b"\n"


def _parse_slot(raw: bytes) -> tuple[int, Anchor] | None:
    """(generation, anchor) of an intact slot; None for a torn, blank or foreign one."""
    try:
        body, digest = raw.decode("utf-8").rstrip().rsplit(" ", 1)
        if not hmac.compare_digest(digest, hashlib.sha256(body.encode()).hexdigest()):
            return None
        data = json.loads(body)
        if data.get("format") != ANCHOR_FORMAT:
            return None
        return int(data["gen"]), Anchor(int(data["count"]), str(data["head"]), data.get("key_id"), data.get("mac"))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _read_format_1(data: bytes) -> Anchor:
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable: {exc}") from None
    if not isinstance(parsed, dict) or parsed.get("format") != FORMAT_1:
        raise ValueError(f"not a {ANCHOR_FORMAT} file")
    try:
        return Anchor(int(parsed["count"]), str(parsed["head"]), parsed.get("key_id"), parsed.get("mac"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed: {exc!r}") from None
