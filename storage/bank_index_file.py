"""A bank's index saved beside the store: named numpy arrays in one file, loaded by memory map.

Building a bank's index means reading every hash as hex text from SQLite (1M entries: ~2.5 s, 10M:
~9 s); this file holds the packed hashes and the multi-index tables instead, so a new process maps
them and matches at once. The file is a cache, never the truth: each array carries a CRC-32 and the
header its own, a file of the wrong size or with any mismatch is refused (IndexFileError) and the
caller rebuilds from SQLite. Written whole or not at all (storage/files.py), 0600 from creation.

Layout: MAGIC, u32 header length, u32 CRC-32 of the header; the header (JSON: `meta` as the caller
gave it, and per array its name, dtype, shape, offset, CRC-32); then each array, 64-byte aligned.
"""

from __future__ import annotations

import json
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from storage.files import replacing

MAGIC = b"MDBANKIX"
FORMAT = 1
_PREFIX = struct.Struct("<8sII")
_ALIGN = 64
_CRC_CHUNK = 1 << 26  # zlib.crc32 takes any length, but in bounded slices a huge map is paged in steadily


class IndexFileError(ValueError):
    """The file is missing, truncated, corrupt or of another format: rebuild instead."""


def crc32(array: np.ndarray) -> int:
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    crc = 0
    for start in range(0, flat.size, _CRC_CHUNK):
        crc = zlib.crc32(flat[start : start + _CRC_CHUNK], crc)
    return crc


def save(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Replace `path` with `arrays` and `meta` (JSON-serialisable); fsync'd and renamed into place."""
    entries, offset = [], 0
    for name, array in arrays.items():
        entries.append({"name": name, "dtype": array.dtype.str, "shape": list(array.shape),
                        "offset": offset, "crc": crc32(array)})
        offset = _aligned(offset + array.nbytes)
    header = json.dumps({"format": FORMAT, "meta": meta, "arrays": entries, "size": offset}).encode()
    start = _aligned(_PREFIX.size + len(header))
    with replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(_PREFIX.pack(MAGIC, len(header), zlib.crc32(header)))
        f.write(header)
        for entry, array in zip(entries, arrays.values(), strict=True):
            f.seek(start + entry["offset"])
            f.write(memoryview(np.ascontiguousarray(array)).cast("B"))
        f.truncate(start + offset)


def load(path: Path, *, verify: bool = True) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays): each array a read-only view of the mapped file. With `verify` every array's
    CRC-32 is checked (it reads every page once: 1 GB in ~0.3 s from the page cache); without it, call
    `verify` before trusting them (on another thread, say: zlib releases the GIL)."""
    try:
        with open(path, "rb") as f:
            magic, length, header_crc = _PREFIX.unpack(f.read(_PREFIX.size))
            header = f.read(length) if magic == MAGIC and length < 1 << 24 else b""
        size = path.stat().st_size
    except (OSError, struct.error) as exc:
        raise IndexFileError(f"{path.name}: cannot read: {exc}") from exc
    if magic != MAGIC or len(header) != length or zlib.crc32(header) != header_crc:
        raise IndexFileError(f"{path.name}: not a bank index file, or its header is damaged")
    head = json.loads(header)
    start = _aligned(_PREFIX.size + length)
    if head.get("format") != FORMAT or size != start + head["size"]:
        raise IndexFileError(f"{path.name}: format {head.get('format')}, {size} bytes: truncated or foreign")
    arrays = {}
    for entry in head["arrays"]:
        shape, dtype = tuple(entry["shape"]), np.dtype(entry["dtype"])
        if not shape or 0 in shape:
            array = np.empty(shape, dtype)
        else:
            array = np.asarray(np.memmap(path, dtype=dtype, mode="r", offset=start + entry["offset"], shape=shape))
        if verify and crc32(array) != entry["crc"]:
            raise IndexFileError(f"{path.name}: array {entry['name']} fails its checksum")
        arrays[entry["name"]] = array
    return head["meta"], arrays


def verify(path: Path, arrays: dict[str, np.ndarray], workers: int = 1) -> None:
    """Check arrays from `load(path, verify=False)` against the CRC-32s in the file's header; with
    `workers` > 1 the arrays are shared out by size among that many threads (zlib releases the GIL:
    at 10M entries, four arrays of 76-457 MB, two threads take about half the time of one)."""
    try:
        with open(path, "rb") as f:
            _, length, _ = _PREFIX.unpack(f.read(_PREFIX.size))
            entries = {e["name"]: e["crc"] for e in json.loads(f.read(length))["arrays"]}
    except (OSError, struct.error, ValueError, KeyError, TypeError) as exc:
        raise IndexFileError(f"{path.name}: cannot read its header again: {exc}") from exc

    def check(names: list[str]) -> None:
        for name in names:
            if crc32(arrays[name]) != entries.get(name):
                raise IndexFileError(f"{path.name}: array {name} fails its checksum")

    shares = _shares(arrays, max(1, workers))
    if len(shares) == 1:
        check(shares[0])
        return
    with ThreadPoolExecutor(len(shares)) as pool:
        for done in [pool.submit(check, names) for names in shares]:
            done.result()


def _shares(arrays: dict[str, np.ndarray], workers: int) -> list[list[str]]:
    """Array names in at most `workers` groups of about equal bytes (largest first, to the lightest group)."""
    loads, groups = [0] * workers, [[] for _ in range(workers)]
    for name in sorted(arrays, key=lambda n: arrays[n].nbytes, reverse=True):
        k = loads.index(min(loads))
        groups[k].append(name)
        loads[k] += arrays[name].nbytes
    return [names for names in groups if names]


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN
