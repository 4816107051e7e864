"""HashIndex returns exactly what brute force returns, across the flat / multi-index switch."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from moderator.hash_index import (
    FLAT_MAX,
    MAX_SUB_BITS,
    MIN_SUB_BITS,
    HashIndex,
    _masks_within,
    all_substring_keys,
    pack_hex,
    substring_keys,
    substring_radii,
    substring_widths,
)


def random_hex(rng: np.random.Generator, n: int, bits: int = 256) -> list[str]:
    raw = rng.bytes(n * bits // 8)
    step = bits // 4
    text = raw.hex()
    return [text[i : i + step] for i in range(0, len(text), step)]


def flip_bits(rng: np.random.Generator, hex_str: str, k: int) -> str:
    bits = len(hex_str) * 4
    value = int(hex_str, 16)
    for b in rng.choice(bits, size=k, replace=False):
        value ^= 1 << int(b)
    return f"{value:0{len(hex_str)}x}"


def brute_force(hashes: list[str], query: str, threshold: int) -> list[tuple[int, int]]:
    q = int(query, 16)
    found = [(i, (int(h, 16) ^ q).bit_count()) for i, h in enumerate(hashes)]
    return sorted(((i, d) for i, d in found if d <= threshold), key=lambda p: (p[1], p[0]))


def planted_bank(rng: np.random.Generator, n: int, bits: int = 256) -> tuple[list[str], list[str]]:
    """Random hashes with near duplicates of 3 queries planted at every distance 0..40."""
    hashes = random_hex(rng, n, bits)
    queries = random_hex(rng, 3, bits)
    slots = rng.choice(n, size=min(n, 3 * 41), replace=False)
    for slot, (q, d) in zip(slots, [(q, d) for q in queries for d in range(41)], strict=False):
        hashes[int(slot)] = flip_bits(rng, q, min(d, bits))
    return hashes, queries


def add_in_batches(index: HashIndex, hashes: list[str], rng: np.random.Generator) -> None:
    """Uneven incremental adds, so tails get sealed into segments and segments get merged."""
    start = 0
    while start < len(hashes):
        size = int(rng.integers(1, max(2, len(hashes) // 3)))
        ids = index.add(hashes[start : start + size])
        assert list(ids) == list(range(start, min(len(hashes), start + size)))
        start += size


SIZES = [50, FLAT_MAX - 1, FLAT_MAX + 4_000, 3 * FLAT_MAX + 123]


@pytest.mark.parametrize("n", SIZES)
def test_exact_against_brute_force(n):
    rng = np.random.default_rng(n)
    hashes, queries = planted_bank(rng, n)
    index = HashIndex(256)
    add_in_batches(index, hashes, rng)
    assert len(index) == n
    queries += [hashes[0], random_hex(rng, 1)[0]]
    for threshold in (0, 8, 31, 32, 40):
        results = index.query_many(queries, threshold)
        for q, got in zip(queries, results, strict=True):
            assert got == brute_force(hashes, q, threshold), (n, threshold)


def test_planted_distances_are_all_found():
    rng = np.random.default_rng(1)
    hashes, queries = planted_bank(rng, 2 * FLAT_MAX)
    index = HashIndex(256)
    index.add(hashes)
    got = dict(index.query(queries[0], 31))
    assert sorted(got.values()) == list(range(32))
    got40 = index.query(queries[0], 40)
    assert [d for _, d in got40] == list(range(41))


def test_many_small_segments_and_merges_stay_exact():
    rng = np.random.default_rng(2)
    hashes, queries = planted_bank(rng, 9_000)
    index = HashIndex(256, flat_max=500)
    add_in_batches(index, hashes, rng)
    for threshold in (0, 31, 40):
        for q in queries:
            assert index.query(q, threshold) == brute_force(hashes, q, threshold)


def test_clustered_bank_falls_back_to_scanning_exactly():
    """A family of thousands of near-identical hashes fills the same buckets: still exact."""
    rng = np.random.default_rng(3)
    centre = random_hex(rng, 1)[0]
    family = [flip_bits(rng, centre, int(rng.integers(0, 6))) for _ in range(6_000)]
    hashes = random_hex(rng, 30_000) + family
    index = HashIndex(256, flat_max=2_000)
    add_in_batches(index, hashes, rng)
    for q in (centre, flip_bits(rng, centre, 20), hashes[5]):
        assert index.query(q, 31) == brute_force(hashes, q, 31)


def test_empty_index():
    index = HashIndex(256)
    assert len(index) == 0
    assert index.query("0" * 64, 31) == []
    assert index.query_many([], 31) == []
    assert index.add([]) == range(0, 0)


@pytest.mark.parametrize("threshold", [0, 4, 10, 12])
def test_phash_64_bit_index(threshold):
    rng = np.random.default_rng(threshold)
    hashes, queries = planted_bank(rng, FLAT_MAX + 5_000, bits=64)
    index = HashIndex(64)
    add_in_batches(index, hashes, rng)
    for q in queries:
        assert index.query(q, threshold) == brute_force(hashes, q, threshold)


def test_128_bit_md5_index_exact_match():
    rng = np.random.default_rng(5)
    hashes = random_hex(rng, 1_000, bits=128)
    index = HashIndex(128)
    index.add(hashes)
    assert index.query(hashes[10], 0) == [(10, 0)]


def test_remove_hides_ids():
    rng = np.random.default_rng(6)
    hashes = random_hex(rng, 100)
    index = HashIndex(256)
    index.add(hashes + [hashes[3]])
    assert [i for i, _ in index.query(hashes[3], 0)] == [3, 100]
    index.remove([3])
    assert index.query(hashes[3], 0) == [(100, 0)]
    assert len(index) == 100
    with pytest.raises(IndexError):
        index.remove([101])


def test_results_are_sorted_by_distance_then_id():
    rng = np.random.default_rng(7)
    q = random_hex(rng, 1)[0]
    hashes = [flip_bits(rng, q, d) for d in (5, 0, 5, 3)]
    index = HashIndex(256)
    index.add(hashes)
    assert index.query(q, 31) == [(1, 0), (3, 3), (0, 5), (2, 5)]


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="multiple of 64"):
        HashIndex(100)
    index = HashIndex(256)
    with pytest.raises(ValueError, match="64 hex chars"):
        index.add(["abc"])
    with pytest.raises(ValueError):
        index.add(["zz" * 32])


def test_packed_rows_are_the_added_hashes():
    hashes = random_hex(np.random.default_rng(8), 3)
    index = HashIndex(256)
    index.add(hashes)
    assert index.packed.shape == (3, 4)
    assert np.array_equal(index.packed, pack_hex(hashes, 256))


def test_substring_radii_follow_the_pigeonhole_bound():
    assert substring_radii(31, 16) == [1] * 16
    assert substring_radii(32, 16) == [2] + [1] * 15
    assert substring_radii(10, 4) == [2, 2, 2, 1]
    assert substring_radii(3, 16) == [0] * 4 + [-1] * 12


def test_wide_thresholds_stay_exact():
    """Radii too wide for multi-index probing (and 256, everything) fall back to scanning."""
    rng = np.random.default_rng(9)
    hashes = random_hex(rng, 3 * FLAT_MAX)
    index = HashIndex(256)
    index.add(hashes)
    assert index.query(hashes[1], 100) == brute_force(hashes, hashes[1], 100)
    assert len(index.query(hashes[1], 256)) == len(hashes)
    with pytest.raises(ValueError, match="threshold"):
        index.query(hashes[1], -1)


def test_large_batches_match_single_queries_with_tombstones():
    """Batches split into several blocks (run on worker threads) with removed ids in every part."""
    rng = np.random.default_rng(11)
    hashes, queries = planted_bank(rng, 3 * FLAT_MAX + 500)
    centre = queries[0]
    hashes += [flip_bits(rng, centre, int(rng.integers(0, 4))) for _ in range(300)]
    index = HashIndex(256)
    add_in_batches(index, hashes, rng)
    removed = {int(i) for i in rng.choice(len(hashes), size=len(hashes) // 10, replace=False)}
    index.remove(removed)
    batch = queries + [flip_bits(rng, hashes[int(i)], int(rng.integers(0, 33))) for i in rng.choice(len(hashes), 90)]
    live = [h if i not in removed else "" for i, h in enumerate(hashes)]
    for threshold in (0, 31):
        results = index.query_many(batch, threshold)
        assert results == [index.query(q, threshold) for q in batch]
        for q, got in zip(batch, results, strict=True):
            want = [(i, d) for i, d in brute_force([h or "0" * 64 for h in live], q, threshold) if live[i]]
            assert got == want


def test_substrings_are_about_log2_of_the_segment_wide():
    assert substring_widths(256, FLAT_MAX) == (16,) * 16  # the smallest segment: 65,536 buckets
    assert substring_widths(256, 1_000_000) == (19,) * 4 + (18,) * 10
    assert substring_widths(256, 10_000_000) == (22,) * 4 + (21,) * 8
    assert substring_widths(256, 10**12) == (24,) * 3 + (23,) * 8  # never wider than MAX_SUB_BITS
    assert substring_widths(64, 1_000_000) == (16,) * 4 and substring_widths(64, 10_000_000) == (22, 21, 21)
    assert substring_widths(256, 10_000_000, fixed=16) == (16,) * 16
    for bits in (64, 128, 256):
        for size in (1, 100, FLAT_MAX, 300_000, 5_000_000, 10**9):
            widths = substring_widths(bits, size)
            assert sum(widths) == bits and MIN_SUB_BITS <= min(widths) <= max(widths) <= MAX_SUB_BITS
            assert max(widths) - min(widths) <= 1 and 2 ** max(widths) <= max(size, 2**MIN_SUB_BITS)


def test_all_substring_keys_at_once_equal_each_one_alone():
    rng = np.random.default_rng(13)
    for bits in (64, 128, 256):
        rows = pack_hex(random_hex(rng, 40, bits), bits)
        for size in (FLAT_MAX, 300_000, 1_000_000, 10_000_000, 10**12):
            for fixed in (None, 16, 19, 24):
                widths = substring_widths(bits, size, fixed)
                starts = np.cumsum((0, *widths[:-1]))
                want = np.stack([substring_keys(rows, int(a), w) for a, w in zip(starts, widths, strict=True)], axis=1)
                got = all_substring_keys(rows, widths)
                assert got.dtype == np.int64 and np.array_equal(got, want), (bits, widths)
                assert np.array_equal(all_substring_keys(rows[:1], widths), want[:1])  # one query alone


def test_substring_keys_cross_word_boundaries():
    rng = np.random.default_rng(12)
    hashes = random_hex(rng, 50)
    rows = pack_hex(hashes, 256)
    values = [int.from_bytes(row.tobytes(), "little") for row in rows]  # bit k of the row: bit k of this int
    for start, width in ((0, 16), (60, 20), (118, 19), (237, 19), (40, 24)):
        want = [(v >> start) & ((1 << width) - 1) for v in values]
        assert substring_keys(rows, start, width).tolist() == want


@pytest.mark.parametrize(("width", "radius"), [(16, 0), (16, 1), (19, 2), (24, 3)])
def test_probe_masks_are_every_mask_within_the_radius_fewest_bits_first(width, radius):
    masks = _masks_within(width, radius).tolist()
    want = [sum(1 << b for b in c) for k in range(radius + 1) for c in combinations(range(width), k)]
    assert sorted(masks) == sorted(want) and len(masks) == len(set(masks))
    assert [m.bit_count() for m in masks] == sorted(m.bit_count() for m in masks)


def test_exact_at_a_million_rows_with_wide_substrings():
    """One segment of 2**20 rows: 13 substrings of 19-20 bits, some crossing a word; every planted copy
    at distance <= 31 found, none beyond, as brute force says."""
    rng = np.random.default_rng(13)
    n = 1 << 20
    rows = np.frombuffer(rng.bytes(n * 32), dtype=np.uint64).reshape(n, 4).copy()
    queries = rows[rng.choice(n, 8, replace=False)].copy()
    for q in queries:  # copies of each query at every distance 0..40
        bits = np.unpackbits(np.repeat(q[None], 41, axis=0).view(np.uint8), axis=1)
        for d in range(41):
            bits[d, rng.choice(256, size=d, replace=False)] ^= 1
        rows[rng.choice(n, 41, replace=False)] = np.packbits(bits, axis=1).view(np.uint64)
    index = HashIndex(256)
    index.add_packed(rows)
    assert [seg.widths for seg in index._segments] == [substring_widths(256, n)]
    for q, got in zip(queries, index.query_packed(queries, 31), strict=True):
        d = np.bitwise_count(rows ^ q).sum(axis=1)
        hits = np.flatnonzero(d <= 31)
        assert got == sorted(zip(hits.tolist(), d[hits].tolist(), strict=True), key=lambda p: (p[1], p[0]))
        assert len(got) >= 32
    packed, segments = index.parts()  # saved and mapped again (moderator/bank_index.py): the same answers
    assert HashIndex.restore(packed, segments).query_packed(queries, 31) == index.query_packed(queries, 31)
