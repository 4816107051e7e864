"""Benchmark: grid thumbnails and near-duplicate families, in one run on one machine. A report: exits 0
unless a result is wrong (a thumbnail with colour in it, families that differ from every pair compared).

Thumbnails (one thread, the way one worker makes them), 160 px, the default filter, real photos at
12 MP and 2 MP in a real store: cold (decode + filter + disk write), from the disk cache (a new desk),
from the memory cache, against blurring.preview.prepare at the viewer's 1920x1080 for the same items
(with the original, as the desk's viewer loads it, and filtered only).

Families: 10,000 items with clustered PDQ hashes in a real store (read from SQLite and linked), against
a naive every-pair comparison on a 1,000-item subset (and that figure scaled to 10,000 by n^2).

    .venv/bin/python bench/bench_grid_core.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a plain script

from bench.figures import ENV, figure  # noqa: E402
from blurring.preview import prepare  # noqa: E402
from moderator.domain import FilterSpec  # noqa: E402
from moderator.families import families, hash_for_grouping  # noqa: E402
from moderator.ingest import import_paths  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.signals import HASH_MAX_SIDE, PDQ  # noqa: E402
from moderator.thumbnails import THUMBS_DIR, ThumbnailService  # noqa: E402
from storage import items as items_repo  # noqa: E402
from storage.store import Store  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
THUMB = 160
VIEWER = (1920, 1080)
FAMILY_ITEMS, NAIVE_ITEMS = 10_000, 1_000


def write_photos(folder: Path, big: int, small: int) -> list[Path]:
    """Real photos with mild noise (so each file is distinct and JPEG sizes are realistic)."""
    rng = np.random.default_rng(0)
    paths = []
    for n in range(big + small):
        size = (4000, 3000) if n < big else (1600, 1200)
        rgb = cv2.resize(getattr(data, PHOTOS[n % len(PHOTOS)])()[..., :3], size, interpolation=cv2.INTER_CUBIC)
        rgb = np.clip(rgb + rng.normal(0, 4, rgb.shape), 0, 255).astype(np.uint8)
        path = folder / f"p{n:03d}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def per_second(fn: Callable[[], object], count: int, runs: int) -> float:
    """Items per second, the median of `runs` passes over `count` items."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def bench_thumbnails(root: Path, quick: bool) -> None:
    folder = root / "photos"
    folder.mkdir()
    paths = write_photos(folder, *((2, 4) if quick else (8, 16)))
    store = Store(root / "data")
    try:
        import_paths(store, paths, "bench")
        items = items_repo.queue(store.db)
        policy, spec = load_policy(), FilterSpec()
        megapixels = sum(i.width * i.height for i in items) / len(items) / 1e6
        print(f"thumbnails: {len(items)} JPEGs ({megapixels:.1f} MP on average), {THUMB} px, {spec}")

        def cold() -> None:
            shutil.rmtree(store.data_dir / THUMBS_DIR, ignore_errors=True)
            service = ThumbnailService(store, policy)
            for item in items:
                service.make(item, spec, THUMB)

        def from_disk() -> None:
            service = ThumbnailService(store, policy)  # empty memory, the disk cache of the last pass
            for item in items:
                service.make(item, spec, THUMB)

        warm = ThumbnailService(store, policy)
        for item in items:
            warm.make(item, spec, THUMB)
        gray = max(int(np.ptp(warm.cached(i, spec, THUMB), axis=2).max()) for i in items)
        runs = 3 if quick else 5
        rows = [
            ("cold", "cold (decode + filter + disk write)", per_second(cold, len(items), runs)),
            ("disk", "disk cache (new service)", per_second(from_disk, len(items), runs)),
            ("memory_make", "memory cache (make)",
             per_second(lambda: [warm.make(i, spec, THUMB) for i in items], len(items), 50)),
            ("memory_cached", "memory cache (cached, GUI thread)",
             per_second(lambda: [warm.cached(i, spec, THUMB) for i in items], len(items), 50)),
            ("prepare_original", f"prepare at {VIEWER[0]}x{VIEWER[1]} + original (the desk's viewer)",
             per_second(lambda: [prepare(i.media_path, warm.spec_for(i, spec), VIEWER, load_original=True)
                                 for i in items], len(items), runs)),
            ("prepare", f"prepare at {VIEWER[0]}x{VIEWER[1]}, filtered only",
             per_second(lambda: [prepare(i.media_path, warm.spec_for(i, spec), VIEWER) for i in items],
                        len(items), runs)),
        ]
        viewer = rows[-1][2]
        for key, name, rate in rows:
            print(f"  {name:<52}{rate:11,.0f} /s  {rate / viewer:8.1f}x prepare, filtered only")
            figure(f"grid_core.thumb.{key}_per_s", rate, "items/s")
            if key != "prepare":
                figure(f"grid_core.thumb.{key}_x", rate / viewer, "x")
        disk = sum(p.stat().st_size for p in (store.data_dir / THUMBS_DIR).rglob("*.png"))
        print(f"  disk cache: {disk / len(items) / 1e3:.1f} KB a thumbnail; most channel spread {gray}")
        figure("grid_core.thumb.disk_kb", disk / len(items) / 1e3, "KB")
        if gray > 6:
            raise SystemExit("a thumbnail has colour in it")
        start = time.perf_counter()
        hashed = hash_for_grouping(store, [i.id for i in items])  # imported without banks: none hashed yet
        rate = hashed / (time.perf_counter() - start)
        print(f"  hash_for_grouping (no PDQ bank: PDQ + pHash at {HASH_MAX_SIDE} px): {rate:.1f} files/s")
        figure("grid_core.thumb.grouping_per_s", rate, "files/s")
    finally:
        store.close()


def clustered_hashes(n: int, rng: np.random.Generator) -> list[str]:
    """A queue shaped like a spam wave: a third of the items in families of ~5 (copies up to 12 bits
    from their original), the rest unrelated."""
    rows = []
    origin = None
    for k in range(n):
        if k % 15 < 5:  # families: 5 items of every 15
            if k % 15 == 0:
                origin = rng.integers(0, 2, 256, dtype=np.uint8)
            bits = origin.copy()
            bits[rng.choice(256, size=int(rng.integers(0, 13)), replace=False)] ^= 1
        else:
            bits = rng.integers(0, 2, 256, dtype=np.uint8)
        rows.append(np.packbits(bits).tobytes().hex())
    return rows


def add_items(store: Store, hashes: list[str]) -> list[str]:
    def write(db) -> list[str]:
        ids = []
        for n, hex_pdq in enumerate(hashes):
            sha = f"{n:064x}"
            items_repo.insert_media(db, {"sha256": sha, "path": f"media/{sha}.jpg", "mime": "image/jpeg",
                                         "kind": "image", "width": 64, "height": 64, "bytes": 1,
                                         "added_at": "2024-01-01T00:00:00Z"})
            items_repo.save_media_hashes(db, sha, [("pdq", hex_pdq, 100, None, None, None)])
            ids.append(str(uuid.UUID(int=n + 1)))
            items_repo.insert_item(db, {"id": ids[-1], "sha256": sha, "imported_at": "2024-01-01T00:00:00Z"})
        return ids

    return store.write(write)


def naive_families(ids: list[str], hashes: list[str], threshold: int) -> dict[str, str]:
    """Every pair compared, in plain Python: what grouping looks like without an index."""
    ints = [int(h, 16) for h in hashes]
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a in range(len(ints)):
        for b in range(a + 1, len(ints)):
            if (ints[a] ^ ints[b]).bit_count() <= threshold:
                parent[find(b)] = find(a)
    groups: dict[int, list[str]] = {}
    for n, item_id in enumerate(ids):
        groups.setdefault(find(n), []).append(item_id)
    return {i: min(m) for m in groups.values() for i in m}


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def bench_families(root: Path, quick: bool) -> None:
    n = 2_000 if quick else FAMILY_ITEMS
    hashes = clustered_hashes(n, np.random.default_rng(1))
    store = Store(root / "families")
    try:
        ids = add_items(store, hashes)
        got, _s = timed(lambda: families(store, ids))  # warm: SQLite's page cache, numpy's first calls
        best = min(timed(lambda: families(store, ids))[1] for _ in range(3))
        subset = ids[:NAIVE_ITEMS]
        small_got, _s = timed(lambda: families(store, subset))
        small = min(timed(lambda: families(store, subset))[1] for _ in range(3))
        naive, naive_s = timed(lambda: naive_families(subset, hashes[:NAIVE_ITEMS], PDQ.default_threshold))
    finally:
        store.close()
    if naive != small_got:
        raise SystemExit("families() differs from every pair compared on the subset")
    sizes: dict[str, int] = {}
    for family in got.values():
        sizes[family] = sizes.get(family, 0) + 1
    print(f"families: {n:,} items, {len(sizes):,} families ({sum(1 for s in sizes.values() if s > 1):,} of 2+ items), "
          f"threshold {PDQ.default_threshold}; the subset's families equal every pair compared")
    scaled = naive_s * (n / NAIVE_ITEMS) ** 2
    print(f"  families(), {n:,} items (SQLite read + index + linkage) {best * 1000:9.1f} ms (best of 3)")
    print(f"  families(), {NAIVE_ITEMS:,} items                            {small * 1000:9.1f} ms")
    print(f"  every pair in pure Python, {NAIVE_ITEMS:,} items             {naive_s * 1000:9.1f} ms   "
          f"{naive_s / small:6.1f}x families() at the same size")
    print(f"  every pair scaled to {n:,} items (x n^2)              {scaled * 1000:9.0f} ms   "
          f"{scaled / best:6.1f}x families()")
    figure("grid_core.families.items", n, "count")
    figure("grid_core.families.count", len(sizes), "count")
    figure("grid_core.families.big_ms", best * 1000, "ms")
    figure("grid_core.families.small_ms", small * 1000, "ms")
    figure("grid_core.families.growth_x", best / small, "x")  # 10x the items cost this much more
    figure("grid_core.families.pairs_ms", naive_s * 1000, "ms")
    figure("grid_core.families.pairs_x", naive_s / small, "x")
    figure("grid_core.families.scaled_s", scaled, "s")
    figure("grid_core.families.scaled_x", scaled / best, "x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer photos and items (a smoke run)")
    args = parser.parse_args()
    if args.quick:  # other sizes: a smoke run's figures are not recorded
        os.environ.pop(ENV, None)
    print(f"cpus={os.cpu_count()} cv2 threads={cv2.getNumThreads()}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        bench_thumbnails(Path(tmp), args.quick)
        bench_families(Path(tmp), args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
