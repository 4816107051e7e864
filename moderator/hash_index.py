"""Exact Hamming-radius search over packed binary hashes: flat scan when small, multi-index hashing when large.

Both paths return exactly the brute-force answer; multi-index hashing only chooses which rows to verify.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from math import comb, log2

import numpy as np

# Substring widths for multi-index hashing, chosen per segment: about log2(rows) bits each (Norouzi et al.),
# so a probed bucket holds a row or two. Trials on 2026-12-03 (PDQ at 31, exact), against 16 x 16 bits:
# at 10M rows, 2 workers, 400 queries: 12 substrings of 21-22 bits 4,680 q/s (tables 61 B/hash),
# 11 of 23-24 bits 7,000 q/s (91 B/hash), 16 of 16 bits 1,340 q/s (64 B/hash); at 1M, 1 thread, 12 to 14
# substrings alike, 1.2-1.3x. The narrower ones keep the tables no larger than before (substring_widths).
# bench/bench_index.py measures both layouts in each run (its `sub16` rows).
MIN_SUB_BITS, MAX_SUB_BITS = 16, 24  # 16: 65,536 buckets even for the smallest segment; 24: 64 MB of offsets
LAYOUT = "mih-log2-v1"  # what a saved index's tables are (moderator/bank_index.py refuses any other)

# Rows not yet in a multi-index segment are scanned flat; a tail this long is sealed into a segment.
# bench/bench_index.py --switch (2 cores), one query at distance <= 31, flat vs multi-index: 4,096
# rows 0.030 vs 0.046 ms; 8,192: 0.045 vs 0.048; 16,384: 0.091 vs 0.061; 1,048,576: 4.9 vs 0.23.
FLAT_MAX = 8_192
_SCAN_ROWS = 1 << 14  # rows per flat-scan step: 512 KB of 256-bit hashes, plus as much query, in L2
_WORKERS = os.cpu_count() or 1
# Queries verified together, at most: larger blocks amortise numpy's per-call costs until their
# candidates thrash the caches. A trial on 2026-12-03 (1M rows, 14 substrings of 18-19 bits, 2 workers,
# q/s by block size): 200 queries, 25: 11,100-12,400, 50: 13,400-13,600, 60 (the cap below): 13,900-14,000;
# 2,000 queries, 32: 14,900, 60: 15,400-16,300. With 16-bit substrings (~4,600 candidates a query, not
# ~2,200), 200 queries, ms/query: 14: 0.10, 25: 0.085, 34: 0.088, 50: 0.12.
_QUERY_BLOCK = 64
# ... and at most about this many candidate rows per block: at 10M rows with 16-bit substrings a query
# verified ~41,000, and 32 of them (80 MB of gathered rows) thrashed the caches. bench_index.py --big,
# 400 queries, 2 workers, ms/query by block then: 1: 0.54, 2: 0.53, 4: 0.49, 8: 0.53, 16: 0.88, 32: 1.21.
# With today's substrings (~7,700 a query at 10M), q/s by this cap (2026-12-03, 400 queries): 2**16 (blocks
# of 9): 4,410-4,440, 2**17 (18): 4,840-4,880, 2**18 (36): 4,480-4,720, 2**19 (64): 4,420-4,550.
_BLOCK_CANDIDATES = 1 << 17
_MIH_MAX_FRACTION = 0.125  # when a query would verify more of a segment than this, scanning is cheaper
_MERGE_RATIO = 2  # merge the newest segment into the previous one once it is at least half its size

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
    return [q if j <= a else q - 1 for j in range(substrings)]


@lru_cache(maxsize=256)
def substring_widths(bits: int, size: int, fixed: int | None = None) -> tuple[int, ...]:
    """The widths of the substrings a segment of `size` rows is indexed on: near-equal, at most
    floor(log2(size)) bits each, so no substring has more buckets than rows (its offsets never outweigh
    its ids), within [MIN_SUB_BITS, MAX_SUB_BITS]. 256 bits at 1M rows: 14 of 18-19; at 10M: 12 of 21-22.
    `fixed`: at most that wide whatever the size."""
    width = fixed or min(MAX_SUB_BITS, max(MIN_SUB_BITS, int(log2(max(size, 2)))))
    m = -(-bits // width)
    q, extra = divmod(bits, m)
    return tuple(q + 1 if j < extra else q for j in range(m))


def substring_keys(rows: np.ndarray, start: int, width: int) -> np.ndarray:
    """Bits [start, start + width) of every (n, words) uint64 row as int64 keys: bit k of a row is bit
    k % 64 of its word k // 64 (so 16-bit substrings are the rows' uint16 lanes on a little-endian host)."""
    word, shift = divmod(start, 64)
    keys = rows[:, word] >> np.uint64(shift)
    if shift + width > 64:  # the substring runs on into the next word
        keys |= rows[:, word + 1] << np.uint64(64 - shift)
    keys &= np.uint64((1 << width) - 1)
    return keys.astype(np.int64)


@dataclass(frozen=True)
class _KeyPlan:
    """Where each substring of a (words)-word row lies, for all_substring_keys: the word it starts in,
    the shift, the next word (itself when the substring does not run on into it) and its mask."""

    words: np.ndarray  # (m,) int64
    shifts: np.ndarray  # (m,) uint64
    next_words: np.ndarray  # (m,) int64
    next_shifts: np.ndarray  # (m,) uint64: 64 - shift where it runs on, else 0 (and masked out)
    runs_on: np.ndarray  # (m,) uint64: all ones where it runs on into the next word, else 0
    masks: np.ndarray  # (m,) uint64


@lru_cache(maxsize=64)
def _key_plan(widths: tuple[int, ...]) -> _KeyPlan:
    starts = np.asarray(_bit_starts(widths), dtype=np.int64)
    widths_a = np.asarray(widths, dtype=np.int64)
    words, shifts = np.divmod(starts, 64)
    runs_on = shifts + widths_a > 64
    return _KeyPlan(words, shifts.astype(np.uint64), np.where(runs_on, words + 1, words),
                    np.where(runs_on, 64 - shifts, 0).astype(np.uint64),
                    np.where(runs_on, np.uint64(0xFFFFFFFFFFFFFFFF), np.uint64(0)).astype(np.uint64),
                    ((np.uint64(1) << widths_a.astype(np.uint64)) - np.uint64(1)).astype(np.uint64))


def all_substring_keys(rows: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
    """(n, m) int64: substring_keys of every substring at once, in a fixed handful of numpy calls
    whatever m is (one query's 14 keys one by one cost more than its gathers)."""
    plan = _key_plan(widths)
    keys = rows[:, plan.words] >> plan.shifts
    keys |= (rows[:, plan.next_words] << plan.next_shifts) & plan.runs_on
    keys &= plan.masks
    return keys.view(np.int64)


def _bucket_order(keys: np.ndarray, width: int) -> np.ndarray:
    """Row numbers sorted by key, each bucket's in ascending order (uint32): numpy's radix sort works on
    16-bit keys, so wider ones take two stable passes (low half, then high): 10M keys 1.0 s, not 1.5."""
    order = np.argsort(keys.astype(np.uint16), kind="stable")
    if width > 16:
        order = order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]
    return order.astype(np.uint32)


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

    def __init__(self, rows: np.ndarray, lo: int, sub_bits: int | None = None) -> None:
        self.lo, self.size = lo, rows.shape[0]
        self.widths = substring_widths(rows.shape[1] * 64, self.size, sub_bits)
        # Flattened: substring j's buckets are offsets[tables[j] + key] .. [+1] into ids[j*size + ...].
        tables = _table_starts(self.widths)
        offsets = np.zeros(tables[-1], dtype=np.int32)
        ids = np.empty((len(self.widths), self.size), dtype=np.uint32)
        for j, (start, width) in enumerate(zip(_bit_starts(self.widths), self.widths, strict=True)):
            keys = substring_keys(rows, start, width)
            ids[j] = _bucket_order(keys, width)
            np.cumsum(np.bincount(keys, minlength=1 << width), out=offsets[tables[j] + 1 : tables[j + 1]])
        self.offsets, self.ids = offsets, ids.ravel()

    @classmethod
    def from_tables(cls, lo: int, size: int, offsets: np.ndarray, ids: np.ndarray, n: int, bits: int) -> _Segment:
        """A segment from saved tables; the shape checks that keep a query's gathers in bounds."""
        seg = cls.__new__(cls)
        widths = substring_widths(bits, max(1, size))
        tables = _table_starts(widths)
        if (tables[-1] != offsets.size or len(widths) * size != ids.size or lo < 0 or lo + size > n
                or not (offsets[tables[:-1]] == 0).all() or not (offsets[tables[1:] - 1] == size).all()):
            raise ValueError("segment tables do not fit the rows")
        seg.lo, seg.size, seg.widths, seg.offsets, seg.ids = lo, size, widths, offsets, ids
        return seg

    @property
    def hi(self) -> int:
        return self.lo + self.size

    def candidates(self, queries: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per query, how many candidates; the candidates (segment-local uint32 ids, grouped by query):
        rows sharing a probed substring key with their query; and a mask of the queries left out
        because verifying them would cost more than scanning the segment."""
        nq, budget = queries.shape[0], self.size * _MIH_MAX_FRACTION
        plan = self._plan(threshold)
        if plan is None:  # a radius so wide that probing alone outweighs a scan
            return np.zeros(nq, np.int64), np.empty(0, np.uint32), np.ones(nq, dtype=bool)
        slots = all_substring_keys(queries, self.widths)[:, plan.subs]
        slots ^= plan.masks
        slots += plan.tables
        starts = np.take(self.offsets, slots)
        lens = np.take(self.offsets, slots + 1) - starts
        per_query = lens.sum(axis=1)
        heavy = per_query > budget
        if heavy.any():
            lens[heavy] = 0
            per_query[heavy] = 0
        runs = lens.ravel()
        # Expand every [start, start + len) run of the flattened ids table into one gather index.
        base = (starts + plan.subs * self.size).ravel() - (np.cumsum(runs) - runs)
        pos = np.repeat(base, runs) + np.arange(int(per_query.sum()))
        return per_query, np.take(self.ids, pos), heavy

    def expected_candidates(self, threshold: int) -> float:
        """Candidates a random query verifies here: its probes times their buckets' mean size."""
        plan = self._plan(threshold)
        return 0.0 if plan is None else plan.rows_per_bucket_sum * self.size

    def _plan(self, threshold: int) -> _Plan | None:
        return _probe_plan(threshold, self.widths, self.size * _MIH_MAX_FRACTION)


class HashIndex:
    """Exact radius search over hashes of one bit width (a multiple of 64); ids are insertion order.

    Rows are packed (n, bits/64) uint64. Rows up to the last FLAT_MAX are scanned; older rows sit in
    multi-index segments, built incrementally and merged geometrically (no full rebuild on add).
    """

    def __init__(self, bits: int, flat_max: int = FLAT_MAX, sub_bits: int | None = None) -> None:
        """sub_bits: every segment's substrings about this wide (MIN_SUB_BITS..MAX_SUB_BITS; 16 is the
        layout before 2026-12-03, bench/bench_index.py's baseline; never saved); None: about log2 of
        each segment's rows."""
        if bits <= 0 or bits % 64:
            raise ValueError(f"bits must be a positive multiple of 64, got {bits}")
        if sub_bits is not None and not MIN_SUB_BITS <= sub_bits <= MAX_SUB_BITS:
            raise ValueError(f"sub_bits must be {MIN_SUB_BITS}..{MAX_SUB_BITS}, got {sub_bits}")
        self.bits, self.words, self.flat_max, self.sub_bits = bits, bits // 64, flat_max, sub_bits
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
        blocks = [queries] if count == 1 else np.array_split(queries, count) if count else []
        if len(blocks) > 1 and _WORKERS > 1:
            with ThreadPoolExecutor(min(_WORKERS, len(blocks))) as pool:
                found = list(pool.map(lambda block: self._search(block, threshold), blocks))
        else:
            found = [self._search(block, threshold) for block in blocks]
        return [matches for block in found for matches in block]

    def _block_size(self, threshold: int) -> int:
        """Queries per block: _QUERY_BLOCK, fewer when each query verifies many candidates."""
        per_query = sum(seg.expected_candidates(threshold) for seg in self._segments)
        return max(1, min(_QUERY_BLOCK, int(_BLOCK_CANDIDATES // max(1.0, per_query))))

    def parts(self) -> tuple[np.ndarray, list[tuple[int, int, np.ndarray, np.ndarray]]]:
        """The rows and each segment's (lo, size, offsets, ids), to persist them (moderator/bank_index.py):
        its size decides its substrings' widths (substring_widths), so the tables' layout."""
        if self.sub_bits is not None:  # restore() lays tables out by size alone
            raise ValueError("an index with fixed substring widths is not saved")
        return self.packed, [(seg.lo, seg.size, seg.offsets, seg.ids) for seg in self._segments]

    @classmethod
    def restore(cls, rows: np.ndarray, segments: Sequence[tuple[int, int, np.ndarray, np.ndarray]],
                flat_max: int = FLAT_MAX) -> HashIndex:
        """An index over `rows` (read-only arrays are fine, e.g. a numpy.memmap) with the given segment
        tables, as `parts` returned them; the first add copies the rows into memory. ValueError when the
        tables cannot belong to these rows (they are not re-verified row by row: check their checksum)."""
        index = cls(rows.shape[1] * 64, flat_max)
        index._rows, index._n = rows, rows.shape[0]
        index._dead = np.zeros(rows.shape[0], dtype=bool)
        for lo, size, offsets, ids in segments:
            index._segments.append(_Segment.from_tables(lo, size, offsets, ids, rows.shape[0], index.bits))
        return index

    def _search(self, queries: np.ndarray, threshold: int) -> list[Matches]:
        hits = _Hits()
        sealed = self._segments[-1].hi if self._segments else 0
        for seg in self._segments:
            per_query, ids, heavy = seg.candidates(queries, threshold)
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
        self._segments.append(_Segment(self._rows[sealed : self._n], sealed, self.sub_bits))
        # Geometric merging keeps O(log n) segments and O(log n) amortised index work per row.
        while len(self._segments) > 1 and self._segments[-1].size * _MERGE_RATIO >= self._segments[-2].size:
            newer, older = self._segments.pop(), self._segments.pop()
            self._segments.append(_Segment(self._rows[older.lo : newer.hi], older.lo, self.sub_bits))

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


def _bit_starts(widths: tuple[int, ...]) -> list[int]:
    return np.cumsum((0, *widths[:-1])).tolist()


@lru_cache(maxsize=64)
def _table_starts(widths: tuple[int, ...]) -> np.ndarray:
    """Where each substring's offsets begin in a segment's flattened offsets (2**width + 1 each), and the end."""
    return np.cumsum((0, *((1 << w) + 1 for w in widths)))


@dataclass(frozen=True)
class _Plan:
    """The (substring, XOR mask) pairs a query probes at one threshold: every mask within each substring's
    radius; rows_per_bucket_sum: the probes' 2**-width summed (times the segment's size: candidates)."""

    subs: np.ndarray  # (P,) int64
    masks: np.ndarray  # (P,) int64
    tables: np.ndarray  # (P,) where each probe's substring's offsets begin (_table_starts)
    rows_per_bucket_sum: float


@lru_cache(maxsize=128)
def _probe_plan(threshold: int, widths: tuple[int, ...], budget: float) -> _Plan | None:
    """None when a query would probe more buckets than `budget` (scanning the segment is cheaper): counted
    before any mask is made, so a radius of 100 bits never enumerates its masks."""
    radii = [min(r, w) for r, w in zip(substring_radii(threshold, len(widths)), widths, strict=True)]
    if sum(_mask_count(w, r) for w, r in zip(widths, radii, strict=True)) > budget:
        return None
    subs, masks = [], []
    for j, (width, radius) in enumerate(zip(widths, radii, strict=True)):
        if radius >= 0:
            masks.append(_masks_within(width, radius))
            subs.append(np.full(masks[-1].size, j, dtype=np.int64))
    subs = np.concatenate(subs)  # never empty: the first substring's radius is threshold // m >= 0
    rows = sum(_mask_count(w, r) / (1 << w) for w, r in zip(widths, radii, strict=True))
    return _Plan(subs, np.concatenate(masks), _table_starts(widths)[subs], rows)


def _mask_count(width: int, radius: int) -> int:
    """How many masks _masks_within(width, radius) makes (none for a radius below 0)."""
    return sum(comb(width, k) for k in range(radius + 1))


@lru_cache(maxsize=64)
def _masks_within(width: int, radius: int) -> np.ndarray:
    """Every `width`-bit XOR mask with at most `radius` bits set, fewest first (int64): built bit by bit,
    each new bit added to every mask that still has room."""
    masks, counts = np.zeros(1, np.int64), np.zeros(1, np.int64)
    for bit in range(width):
        room = counts < radius
        masks = np.concatenate([masks, masks[room] | (1 << bit)])
        counts = np.concatenate([counts, counts[room] + 1])
    order = np.argsort(counts, kind="stable")
    return masks[order]
