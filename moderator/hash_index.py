"""Exact Hamming-radius search over packed binary hashes: flat scan when small, multi-index hashing when large.

Both paths return exactly the brute-force answer; multi-index hashing only chooses which rows to verify.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SUB_BITS = 16  # substring width for multi-index hashing: 65,536 buckets, one uint16 lane per substring
_SUB_KEYS = 1 << SUB_BITS

# Rows not yet in a multi-index segment are scanned flat; a tail this long is sealed into a segment.
# bench/bench_index.py --switch (2 cores), one query at distance <= 31, flat vs multi-index: 4,096
# rows 0.030 vs 0.046 ms; 8,192: 0.045 vs 0.048; 16,384: 0.091 vs 0.061; 1,048,576: 4.9 vs 0.23.
FLAT_MAX = 8_192
_SCAN_ROWS = 1 << 14  # rows per flat-scan step: 512 KB of 256-bit hashes, plus as much query, in L2
_WORKERS = os.cpu_count() or 1
# Queries verified together, at most. bench_index.py, 200 queries on 2 cores, ms/query by block size:
# 14 queries 0.10, 25: 0.085, 34: 0.088, 50: 0.12 (larger blocks amortise numpy's per-call costs).
_QUERY_BLOCK = 32
# ... and at most about this many candidate rows per block: at 10M rows a query verifies ~41,000, and 32
# of them (80 MB of gathered rows) thrash the caches. bench_index.py --big, 400 queries, 2 workers, ms/query
# by block: 1: 0.54, 2: 0.53, 4: 0.49, 8: 0.53, 16: 0.88, 32: 1.21; at 1M blocks stay at 32.
_BLOCK_CANDIDATES = 1 << 17
_MIH_MAX_FRACTION = 0.125  # when a query would verify more of a segment than this, scanning is cheaper
_MERGE_RATIO = 2  # merge the newest segment into the previous one once it is at least half its size

# Every 16-bit XOR mask, fewest set bits first, so the masks within radius r are a prefix.
_POPCOUNT = np.bitwise_count(np.arange(_SUB_KEYS, dtype=np.uint32)).astype(np.int64)
_MASKS = np.argsort(_POPCOUNT, kind="stable").astype(np.int64)
_MASKS_WITHIN = np.cumsum(np.bincount(_POPCOUNT, minlength=SUB_BITS + 1))

Matches = list[tuple[int, int]]


def pack_hex(hex_list: Sequence[str], bits: int) -> np.ndarray:
    """Hashes as a (n, bits/64) uint64 array; the byte order is native but the same for every row."""
    hex_len = bits // 4
    bad = next((h for h in hex_list if len(h) != hex_len), None)
    if bad is not None:
        raise ValueError(f"{bits}-bit hash must be {hex_len} hex chars: {bad!r}")
    raw = bytes.fromhex("".join(hex_list))
    return np.frombuffer(raw, dtype=np.uint64).reshape(len(hex_list), bits // 64)


def substring_radii(threshold: int, substrings: int) -> list[int]:
    """Per-substring search radius from the generalised pigeonhole principle (Norouzi et al., MIH).

    With threshold = q*m + a, a match has some substring among the first a+1 within q bits, or some
    later one within q-1: otherwise its distance would be at least q*m + a + 1. -1 means skip it.
    """
    q, a = divmod(threshold, substrings)
    return [min(q if j <= a else q - 1, SUB_BITS) for j in range(substrings)]


def row_distances(rows: np.ndarray, qrows: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """Hamming distance of each (k, words) row to the same row of qrows, as uint16 (256 needs 9 bits).

    qrows is a full (k, words) array, not a broadcast row: numpy's XOR broadcasting along a 4-wide
    inner axis measured 4x slower than materialising the repeated query first. `overwrite` lets the
    XOR reuse `rows` (a gathered copy), saving one pass over memory on this bandwidth-bound path.
    """
    counts = np.bitwise_count(np.bitwise_xor(rows, qrows, out=rows if overwrite else None))
    if counts.shape[1] % 4:
        return counts.sum(axis=1, dtype=np.uint16)
    # Sum four per-word counts (each <= 64) inside one uint32: pairs into 16-bit lanes, then the lanes.
    v = counts.view(np.uint32)
    high = v >> np.uint32(8)
    high &= np.uint32(0x00FF00FF)
    v &= np.uint32(0x00FF00FF)
    v += high
    v *= np.uint32(0x10001)
    v >>= np.uint32(16)
    return v.sum(axis=1, dtype=np.uint16) if v.shape[1] > 1 else v[:, 0].astype(np.uint16)


class _Hits:
    """(query, id, distance) triples collected for one block of queries from every part of the index."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, qidx: np.ndarray, ids: np.ndarray, dists: np.ndarray) -> None:
        if ids.size:
            self.parts.append((qidx, ids, dists))

    def matches(self, nq: int, n: int, span: int, dead: np.ndarray) -> list[Matches]:
        """Per query, live (id, distance) pairs nearest first, ties by id, each id once.

        Runs per block in the worker threads: one 3-key lexsort of the whole batch after them cost
        0.03 ms/query on the bench. A near duplicate is found through several substrings (about 12
        copies per hit there), so one sort of a single int64 key (query, distance, id) orders and
        deduplicates.
        Every distance is below `span`, every id below n.
        """
        if not self.parts:
            return [[] for _ in range(nq)]
        qidx, ids, dists = (np.concatenate(p) for p in zip(*self.parts, strict=True))
        keys = (qidx * span + dists) * n + ids  # int64: blocks are small, so no overflow
        keys.sort()
        first = np.empty(keys.size, dtype=bool)  # np.unique measured 27 us on 400 keys, this 3 us
        first[:1] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        keys = keys[first]
        rest, ids = np.divmod(keys, n)
        live = np.flatnonzero(~dead[ids])  # tombstones, filtered after deduplication: fewer rows
        qidx, dists = np.divmod(np.take(rest, live), span)
        ids = np.take(ids, live)
        bounds = np.searchsorted(qidx, np.arange(nq + 1))
        pairs = list(zip(ids.tolist(), dists.tolist(), strict=True))
        return [pairs[bounds[i] : bounds[i + 1]] for i in range(nq)]


class _Segment:
    """Multi-index tables over the contiguous id range [lo, hi): per substring, ids bucketed by key."""

    def __init__(self, rows: np.ndarray, lo: int) -> None:
        self.lo, self.size = lo, rows.shape[0]
        lanes = rows.view(np.uint16)  # substring j of every row is uint16 lane j
        m = lanes.shape[1]
        # Flattened per substring j: offsets[j*(K+1) + key] .. [+1] delimit ids[j*size + ...].
        offsets = np.zeros((m, _SUB_KEYS + 1), dtype=np.int32)
        ids = np.empty((m, self.size), dtype=np.uint32)
        for j in range(m):
            keys = lanes[:, j]
            ids[j] = np.argsort(keys, kind="stable")  # a radix sort for uint16
            np.cumsum(np.bincount(keys, minlength=_SUB_KEYS), out=offsets[j, 1:])
        self.offsets, self.ids = offsets.ravel(), ids.ravel()

    @classmethod
    def from_tables(cls, lo: int, offsets: np.ndarray, ids: np.ndarray, n: int) -> _Segment:
        """A segment from saved tables; the shape checks that keep a query's gathers in bounds."""
        seg = cls.__new__(cls)
        m = offsets.size // (_SUB_KEYS + 1)
        size = ids.size // max(1, m)
        ends = offsets.reshape(m, _SUB_KEYS + 1)[:, [0, -1]] if m else np.empty((0, 2))
        if (m * (_SUB_KEYS + 1) != offsets.size or m * size != ids.size or lo < 0 or lo + size > n
                or not (ends[:, 0] == 0).all() or not (ends[:, 1] == size).all()):
            raise ValueError("segment tables do not fit the rows")
        seg.lo, seg.size, seg.offsets, seg.ids = lo, size, offsets, ids
        return seg

    @property
    def hi(self) -> int:
        return self.lo + self.size

    def candidates(self, probes: _Probes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query, how many candidates; the candidates (segment-local uint32 ids, grouped by query):
        rows sharing a probed substring key with their query; and a mask of the queries left out
        because verifying them would cost more than scanning the segment."""
        budget = self.size * _MIH_MAX_FRACTION
        if probes.slots.shape[1] > budget:  # a radius so wide that probing alone outweighs a scan
            nq = probes.slots.shape[0]
            return np.zeros(nq, np.int64), np.empty(0, np.uint32), np.ones(nq, dtype=bool)
        starts = np.take(self.offsets, probes.slots)
        lens = np.take(self.offsets, probes.slots + 1) - starts
        per_query = lens.sum(axis=1)
        heavy = per_query > budget
        if heavy.any():
            lens[heavy] = 0
            per_query[heavy] = 0
        runs = lens.ravel()
        # Expand every [start, start + len) run of the flattened ids table into one gather index.
        base = (starts + probes.subs * self.size).ravel() - (np.cumsum(runs) - runs)
        pos = np.repeat(base, runs) + np.arange(int(per_query.sum()))
        return per_query, np.take(self.ids, pos), heavy


class HashIndex:
    """Exact radius search over hashes of one bit width (a multiple of 64); ids are insertion order.

    Rows are packed (n, bits/64) uint64. Rows up to the last FLAT_MAX are scanned; older rows sit in
    multi-index segments, built incrementally and merged geometrically (no full rebuild on add).
    """

    def __init__(self, bits: int, flat_max: int = FLAT_MAX) -> None:
        if bits <= 0 or bits % 64:
            raise ValueError(f"bits must be a positive multiple of 64, got {bits}")
        self.bits, self.words, self.flat_max = bits, bits // 64, flat_max
        self._rows = np.empty((1024, self.words), dtype=np.uint64)
        self._dead = np.zeros(1024, dtype=bool)
        self._n = 0
        self._segments: list[_Segment] = []

    def __len__(self) -> int:
        return self._n - int(self._dead[: self._n].sum())

    @property
    def packed(self) -> np.ndarray:
        """All rows, removed ones included, as a read-only (n, bits/64) uint64 view."""
        view = self._rows[: self._n]
        view.flags.writeable = False
        return view

    def add(self, hex_list: Sequence[str]) -> range:
        """Append validated hex hashes of this width; returns their ids."""
        return self.add_packed(pack_hex(hex_list, self.bits))

    def add_packed(self, rows: np.ndarray) -> range:
        start, n = self._n, rows.shape[0]
        self._reserve(start + n)
        self._rows[start : start + n] = rows
        self._n += n
        self._index_tail()
        return range(start, start + n)

    def remove(self, ids: Iterable[int]) -> None:
        """Tombstone ids: never returned again (their space is reclaimed only by building anew)."""
        idx = np.fromiter(ids, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self._n):
            raise IndexError(f"id out of range 0..{self._n - 1}")
        self._dead[idx] = True

    def query(self, hex_str: str, threshold: int) -> Matches:
        """Every (id, distance) within `threshold` bits, nearest first (ties by id)."""
        return self.query_many([hex_str], threshold)[0]

    def query_many(self, hex_list: Sequence[str], threshold: int) -> list[Matches]:
        return self.query_packed(pack_hex(hex_list, self.bits), threshold)

    def query_packed(self, queries: np.ndarray, threshold: int) -> list[Matches]:
        """query_many for (nq, bits/64) uint64 rows; blocks of queries run on all cores (numpy
        releases the GIL in the gathers and popcounts that dominate)."""
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        count = _block_count(queries.shape[0], self._block_size(threshold))
        blocks = np.array_split(queries, count) if count else []
        if len(blocks) > 1 and _WORKERS > 1:
            with ThreadPoolExecutor(min(_WORKERS, len(blocks))) as pool:
                found = list(pool.map(lambda block: self._search(block, threshold), blocks))
        else:
            found = [self._search(block, threshold) for block in blocks]
        return [matches for block in found for matches in block]

    def _block_size(self, threshold: int) -> int:
        """Queries per block: _QUERY_BLOCK, fewer when each query verifies many candidates."""
        sealed = self._segments[-1].hi if self._segments else 0
        probes = _probe_plan(threshold, self.words * 4)[0].size if sealed else 0
        per_query = probes * sealed // _SUB_KEYS
        return max(1, min(_QUERY_BLOCK, _BLOCK_CANDIDATES // max(1, per_query)))

    def parts(self) -> tuple[np.ndarray, list[tuple[int, np.ndarray, np.ndarray]]]:
        """The rows and each segment's (lo, offsets, ids) tables, to persist them (moderator/bank_index.py)."""
        return self.packed, [(seg.lo, seg.offsets, seg.ids) for seg in self._segments]

    @classmethod
    def restore(cls, rows: np.ndarray, segments: Sequence[tuple[int, np.ndarray, np.ndarray]],
                flat_max: int = FLAT_MAX) -> HashIndex:
        """An index over `rows` (read-only arrays are fine, e.g. a numpy.memmap) with the given segment
        tables, as `parts` returned them; the first add copies the rows into memory. ValueError when the
        tables cannot belong to these rows (they are not re-verified row by row: check their checksum)."""
        index = cls(rows.shape[1] * 64, flat_max)
        index._rows, index._n = rows, rows.shape[0]
        index._dead = np.zeros(rows.shape[0], dtype=bool)
        for lo, offsets, ids in segments:
            index._segments.append(_Segment.from_tables(lo, offsets, ids, rows.shape[0]))
        return index

    def _search(self, queries: np.ndarray, threshold: int) -> list[Matches]:
        hits = _Hits()
        sealed = self._segments[-1].hi if self._segments else 0
        probes = _probe_keys(queries, threshold) if self._segments else None
        for seg in self._segments:
            per_query, ids, heavy = seg.candidates(probes)
            # Local uint32 ids index a view of the segment's rows: no int64 id array for every candidate,
            # and candidates come grouped by query, so np.repeat lays out the queries (cheaper than take).
            rows = np.take(self._rows[seg.lo : seg.hi], ids, axis=0)
            d = row_distances(rows, np.repeat(queries, per_query, axis=0), overwrite=True)
            keep = np.flatnonzero(d <= threshold)  # few survive: index arrays beat boolean masks
            qidx = np.searchsorted(np.cumsum(per_query), keep, side="right")
            hits.add(qidx, np.add(np.take(ids, keep), seg.lo, dtype=np.int64), np.take(d, keep))
            for q in np.flatnonzero(heavy):
                self._scan(queries[q : q + 1], threshold, seg.lo, seg.hi, q, hits)
        self._scan(queries, threshold, sealed, self._n, 0, hits)
        return hits.matches(queries.shape[0], self._n, min(threshold, self.bits) + 1, self._dead)

    def _scan(self, queries: np.ndarray, threshold: int, lo: int, hi: int, qbase: int, hits: _Hits) -> None:
        step = min(hi - lo, _SCAN_ROWS)
        for q in range(queries.shape[0] if step > 0 else 0):
            qrows = np.tile(queries[q], (step, 1))
            for s in range(lo, hi, step):
                rows = self._rows[s : min(hi, s + step)]
                d = row_distances(rows, qrows[: len(rows)])
                found = np.flatnonzero(d <= threshold)
                hits.add(np.full(found.size, qbase + q), found + s, d[found])

    def _index_tail(self) -> None:
        sealed = self._segments[-1].hi if self._segments else 0
        if self._n - sealed < self.flat_max:
            return
        self._segments.append(_Segment(self._rows[sealed : self._n], sealed))
        # Geometric merging keeps O(log n) segments and O(log n) amortised index work per row.
        while len(self._segments) > 1 and self._segments[-1].size * _MERGE_RATIO >= self._segments[-2].size:
            newer, older = self._segments.pop(), self._segments.pop()
            self._segments.append(_Segment(self._rows[older.lo : newer.hi], older.lo))

    def _reserve(self, n: int) -> None:
        cap = self._rows.shape[0]
        if n <= cap:
            return
        cap = max(n, cap * 2)  # doubling: amortised O(1) copy per added row
        rows = np.empty((cap, self.words), dtype=np.uint64)
        rows[: self._n] = self._rows[: self._n]
        dead = np.zeros(cap, dtype=bool)
        dead[: self._n] = self._dead[: self._n]
        self._rows, self._dead = rows, dead


def _block_count(nq: int, block: int = _QUERY_BLOCK) -> int:
    """Blocks of at most `block` queries, as many per worker: 13 blocks on 2 workers would
    leave one worker idle for a whole block at the end."""
    count = -(-nq // block)
    return -(-count // _WORKERS) * _WORKERS if count > 1 else count


@lru_cache(maxsize=64)
def _probe_plan(threshold: int, substrings: int) -> tuple[np.ndarray, np.ndarray]:
    """(substring, XOR mask) pairs to probe: every mask within each substring's radius."""
    subs, masks = [], []
    for j, radius in enumerate(substring_radii(threshold, substrings)):
        if radius >= 0:
            masks.append(_MASKS[: _MASKS_WITHIN[radius]])
            subs.append(np.full(masks[-1].size, j, dtype=np.int64))
    return np.concatenate(subs), np.concatenate(masks)


@dataclass(frozen=True)
class _Probes:
    """Bucket lookups for a block of queries: `slots` index a segment's flattened offsets."""

    subs: np.ndarray  # (P,) substring of each probe
    slots: np.ndarray  # (nq, P) substring * (K + 1) + probed key


def _probe_keys(queries: np.ndarray, threshold: int) -> _Probes:
    """Each query substring XOR every mask within its radius, as bucket slots."""
    qkeys = np.ascontiguousarray(queries).view(np.uint16)
    subs, masks = _probe_plan(threshold, qkeys.shape[1])
    keys = (qkeys[:, subs] ^ masks[None, :]).astype(np.int64)
    return _Probes(subs, keys + subs * (_SUB_KEYS + 1))
