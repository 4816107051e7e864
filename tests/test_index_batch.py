"""Batched HashIndex queries give exactly the single-query answers, also when blocks shrink because each
query verifies many candidates (as at 10M hashes), and an index restored from its saved tables answers
as the one it came from."""

from __future__ import annotations

import numpy as np
import pytest

from moderator.hash_index import _QUERY_BLOCK, HashIndex

N = 200_000


def near_copies(rng: np.random.Generator, rows: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Copies of (k, 4) uint64 rows with distances[i] random bits flipped in row i."""
    bits = np.unpackbits(rows.view(np.uint8), axis=1)
    for i, d in enumerate(distances):
        bits[i, rng.choice(256, size=int(d), replace=False)] ^= 1
    return np.packbits(bits, axis=1).view(np.uint64)


@pytest.fixture(scope="module")
def bank():
    rng = np.random.default_rng(21)
    rows = np.frombuffer(rng.bytes(N * 32), dtype=np.uint64).reshape(N, 4).copy()
    queries = np.frombuffer(rng.bytes(60 * 32), dtype=np.uint64).reshape(60, 4).copy()
    queries[:30] = near_copies(rng, rows[rng.choice(N, 30)], rng.integers(0, 48, 30))
    # copies of each query at every distance up to 50, so thresholds 31 and 47 both cut through them
    planted = near_copies(rng, np.repeat(queries, 51, axis=0), np.tile(np.arange(51), 60))
    rows[rng.choice(N, planted.shape[0], replace=False)] = planted
    index = HashIndex(256)
    for start in range(0, N, 50_000):  # several adds: several segments and a flat tail
        index.add_packed(rows[start : start + 50_000])
    index.add_packed(rows[:3])  # duplicates in the flat tail
    return index, np.vstack([rows, rows[:3]]), queries


def brute_force(rows: np.ndarray, q: np.ndarray, threshold: int) -> list[tuple[int, int]]:
    d = np.bitwise_count(rows ^ q).sum(axis=1)
    hits = np.flatnonzero(d <= threshold)
    return sorted(zip(hits.tolist(), d[hits].tolist(), strict=True), key=lambda p: (p[1], p[0]))


@pytest.mark.parametrize("threshold", [31, 47])
def test_batched_results_equal_single_results(bank, threshold):
    index, rows, queries = bank
    batched = index.query_packed(queries, threshold)
    single = [index.query_packed(queries[i : i + 1], threshold)[0] for i in range(len(queries))]
    assert batched == single
    assert batched == [brute_force(rows, q, threshold) for q in queries]
    assert sum(map(len, batched)) >= 60 * (threshold + 1)


def test_wide_radius_blocks_are_smaller_and_still_exact(bank):
    index, rows, queries = bank
    # At 47 bits each query probes 2,192 buckets of ~3 rows: blocks shrink below the most there can be.
    assert index._block_size(47) < index._block_size(31) == _QUERY_BLOCK
    assert index.query_packed(queries, 47) == [brute_force(rows, q, 47) for q in queries]


def test_restored_index_answers_as_the_original(bank):
    index, rows, queries = bank
    packed, segments = index.parts()
    copy = HashIndex.restore(packed.copy(), [(lo, size, o.copy(), i.copy()) for lo, size, o, i in segments])
    assert copy.query_packed(queries, 31) == index.query_packed(queries, 31)
    copy.add_packed(queries[:2])  # a restored index still grows (its rows copied into memory first)
    found = copy.query_packed(queries[:2], 0)
    assert [ids[-1][0] for ids in found] == [rows.shape[0], rows.shape[0] + 1]


def test_restore_refuses_tables_that_do_not_fit(bank):
    index, _, _ = bank
    packed, segments = index.parts()
    lo, size, offsets, ids = segments[0]
    with pytest.raises(ValueError):
        HashIndex.restore(packed[:10].copy(), [(lo, size, offsets, ids)])
    broken = offsets.copy()
    broken[-1] += 1
    with pytest.raises(ValueError):
        HashIndex.restore(packed, [(lo, size, broken, ids)])
    with pytest.raises(ValueError):  # another size is another substring layout: its tables cannot fit
        HashIndex.restore(packed, [(lo, size * 2, offsets, ids)])
