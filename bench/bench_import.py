"""What `moderator import` does per item, stage by stage, and the whole import with and without banks.

Run: .venv/bin/python bench/bench_import.py [--sizes 1000,10000] [--workers 1,2,4]

Items: distinct 640x480 JPEGs (q85) cut from the skimage photos with a little noise, in a folder.
Stages (on the first 300 files, min over 3 passes): sniff + SHA-256 + MD5 (ingest.read_source), the
staged copy with its fsyncs (MediaCache.stage), the decode that proves the file whole (no banks), the
hashing decode with PDQ + dihedral + pHash now (media_hashes.hash_decoded) and before (`old_hashes`,
the previous path kept here as the reference: an RGB decode, pdqhash.compute, then a second whole
pdqhash pass for the dihedral variants, pHash), one lookup of the 8 PDQ variants + pHash + MD5 in a
1,000-entry bank, and minor page faults and system time per 1,000 items for both hashing paths.
Whole imports (moderator.importing.import_and_match into a fresh store, a 1,000-entry PDQ bank for
"with banks", 2 % of the items in it) at each size and worker count; workers=1 is the plain loop,
the baseline of the same run. Targets (issue 13): >= 500 items/s without banks, >= 150 with banks.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
from PIL import Image  # noqa: E402

from blurring.decode import open_image  # noqa: E402
from moderator import import_run, ingest  # noqa: E402
from moderator.domain import MediaKind  # noqa: E402
from moderator.importing import import_and_match  # noqa: E402
from moderator.ingest import read_source  # noqa: E402
from moderator.matching import Matcher  # noqa: E402
from moderator.media_hashes import MediaHashes, hash_decoded  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.signals import HASH_MAX_SIDE, PDQ, PHASH, HashResult  # noqa: E402
from storage.media_cache import MediaCache  # noqa: E402
from storage.store import Store  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "retina", "hubble_deep_field", "immunohistochemistry")
SAMPLE = 300


def make_items(folder: Path, n: int) -> list[Path]:
    """n distinct 640x480 JPEGs: a shifted crop of a photo at 1.5x, a little noise, q85."""
    from skimage import data

    rng = np.random.default_rng(0)
    photos = [getattr(data, p)() for p in PHOTOS]
    big = [cv2.resize(np.dstack([p] * 3) if p.ndim == 2 else p[..., :3], (1200, 900)) for p in photos]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        x, y = rng.integers(0, 560), rng.integers(0, 420)
        crop = big[i % len(big)][y:y + 480, x:x + 640].astype(np.int16)
        crop = np.clip(crop + rng.integers(-3, 4, crop.shape), 0, 255).astype(np.uint8)
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(crop).save(path, quality=85)
        paths.append(path)
    return paths


def old_hashes(path: Path) -> MediaHashes:
    """The previous import hashing, kept as the reference: RGB decode, PDQ, a second PDQ pass for the
    8 dihedral variants (pdqhash.compute_dihedral, which returns the original too), pHash."""
    with open_image(path) as im:
        rgb = next(im.frames((HASH_MAX_SIDE, HASH_MAX_SIDE), "RGB"))[2]
    pdq = PDQ.hash_pixels(rgb)
    variants, _quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    hexes = tuple(np.packbits(v.astype(np.uint8)).tobytes().hex() for v in variants)
    return MediaHashes(MediaKind.IMAGE, (pdq, PHASH.hash_pixels(rgb)), hexes)


def new_hashes(path: Path) -> MediaHashes:
    with open_image(path) as im:
        return hash_decoded(im, (), True)


def verify(path: Path) -> None:
    with open_image(path) as im:
        im.verify()


def per_item_ms(fn: Callable[[Path], object], paths: list[Path], passes: int = 3) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for p in paths:
            fn(p)
        best = min(best, (time.perf_counter() - start) / len(paths) * 1000)
    return best


def faults_per_1000(fn: Callable[[Path], object], paths: list[Path]) -> tuple[float, float]:
    """Minor page faults and system seconds per 1,000 items (after one warm pass)."""
    for p in paths[:20]:
        fn(p)
    before = resource.getrusage(resource.RUSAGE_SELF)
    for p in paths:
        fn(p)
    after = resource.getrusage(resource.RUSAGE_SELF)
    scale = 1000 / len(paths)
    return (after.ru_minflt - before.ru_minflt) * scale, (after.ru_stime - before.ru_stime) * scale


def stages(tmp: Path, paths: list[Path], bank_file: Path) -> None:
    sample = paths[:SAMPLE]

    def sniff(p: Path) -> None:
        with open(p, "rb") as f:
            read_source(f, with_md5=True)

    cache = MediaCache(tmp / "stage-cache")

    def stage(p: Path) -> None:
        with open(p, "rb") as f:
            cache.discard(cache.stage(f, "image/jpeg"))

    rows = [("sniff + SHA-256 + MD5", sniff), ("staged copy (fsync)", stage), ("decode check, no banks", verify),
            ("hash now: luma, PDQ once", new_hashes), ("hash before (reference)", old_hashes)]
    print(f"per item, {len(sample)} 640x480 JPEGs, min of 3 passes:")
    figures = {}
    for label, fn in rows:
        figures[label] = per_item_ms(fn, sample)
        print(f"  {label:28s} {figures[label]:7.2f} ms")
    before, now = figures["hash before (reference)"], figures["hash now: luma, PDQ once"]
    print(f"  hashing: {before / now:.2f}x the reference path")
    with Store(tmp / "lookup") as store:
        from moderator.banks import BankService

        BankService(store, load_policy(), "bench").import_bank(bank_file, "known", kind="block", fmt="te-lines")
        matcher = Matcher(store, load_policy())
        hashes = [new_hashes(p) for p in sample[:100]]
        hashes = [MediaHashes(h.kind, (*h.hashes, HashResult("md5", "0" * 32)), h.pdq_variants) for h in hashes]
        with matcher.cache.reading(store.db) as indexes:
            start = time.perf_counter()
            for h in hashes:
                matcher._lookup(h, indexes)
            print(f"  {'bank lookup (1,000 entries)':28s} {(time.perf_counter() - start) / len(hashes) * 1000:7.2f} ms")
    for label, fn in (("hash now", new_hashes), ("hash before", old_hashes)):
        faults, system = faults_per_1000(fn, sample)
        print(f"  {label:12s} per 1,000 items: {faults:10,.0f} minor faults, {system:5.2f} s system time")


def whole(tmp: Path, paths: list[Path], bank_file: Path, workers: list[int]) -> None:
    from moderator.banks import BankService

    print(f"whole import of {len(paths):,} items (items/s; workers=1 is the baseline loop):")
    for banks in (False, True):
        base = None
        for w in workers:
            data = tmp / f"store-{len(paths)}-{banks}-{w}"
            with Store(data) as store:
                if banks:
                    BankService(store, load_policy(), "bench").import_bank(bank_file, "known", kind="block",
                                                                          fmt="te-lines")
                start = time.perf_counter()
                import_run.IMPORT_WORKERS = w  # read at each import (the pool is made once, at the first w > 1)
                rusage = resource.getrusage(resource.RUSAGE_SELF)
                outcome = import_and_match(store, paths, "bench", load_policy())
                elapsed = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_SELF)
            assert len(outcome.report.imported) == len(paths), outcome.text
            rate = len(paths) / elapsed
            base = base or rate
            faults = (after.ru_minflt - rusage.ru_minflt) * 1000 / len(paths)
            system = (after.ru_stime - rusage.ru_stime) * 1000 / len(paths)
            print(f"  {'with' if banks else 'no':4s} banks, workers={w}: {rate:7.1f} items/s  {elapsed:6.2f} s "
                  f"({rate / base:.2f}x workers=1; per 1,000: {faults:9,.0f} minor faults, {system:4.1f} s system)"
                  f"  {outcome.text}")
    print("  of which bank matching after the import (moderator.matching.match_pending, one item at a time):")
    with Store(tmp / f"store-{len(paths)}-split") as store:
        BankService(store, load_policy(), "bench").import_bank(bank_file, "known", kind="block", fmt="te-lines")
        matcher = Matcher(store, load_policy())
        start = time.perf_counter()
        ingest.import_paths(store, paths, "bench", hash_dihedral=matcher.needs_dihedral())
        middle = time.perf_counter()
        matcher.match_pending()
        end = time.perf_counter()
    print(f"    import with hashing {len(paths) / (middle - start):7.1f} items/s, then matching "
          f"{len(paths) / (end - middle):7.1f} items/s (workers={import_run.IMPORT_WORKERS})")


def write_bank(path: Path, paths: list[Path]) -> None:
    """1,000 entries: random PDQs and the PDQs of 2 % of the items (so some are matched and routed)."""
    rng = np.random.default_rng(1)
    known = [new_hashes(p).hashes[0].hex for p in paths[::50]]
    rows = [rng.bytes(32).hex() for _ in range(1000 - len(known))] + known
    path.write_text("".join(f"pdq {h}\n" for h in rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--workers", default="1,2,4", help="ascending: the pool is made at the first > 1")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        paths = make_items(tmp / "items", max(sizes))
        bank_file = tmp / "bank.txt"
        write_bank(bank_file, paths[: max(sizes)])
        stages(tmp, paths, bank_file)
        for n in sizes:
            whole(tmp, paths[:n], bank_file, workers)
    print(f"load average {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
