"""What `moderator import` does per item, stage by stage, and the whole import with and without banks.

Run: .venv/bin/python bench/bench_import.py [--sizes 1000,10000] [--modes w1,w4_serial,w4] [--big-modes w4]

Items: distinct 640x480 JPEGs (q85) cut from the skimage photos with a little noise, in a folder.
Stages (on the first 300 files, min over 3 passes): sniff + SHA-256 + MD5 (ingest.read_source), the
staged copy with its fsyncs (MediaCache.stage), the decode that proves the file whole (no banks), the
hashing decode with PDQ + dihedral + pHash now (media_hashes.hash_decoded) and before (`old_hashes`,
the previous path kept here as the reference: an RGB decode, pdqhash.compute, then a second whole
pdqhash pass for the dihedral variants, pHash), one lookup of the 8 PDQ variants + pHash + MD5 in a
1,000-entry bank, and minor page faults and system time per 1,000 items for both hashing paths.
Whole imports (moderator.importing.import_and_match into a fresh store, a 1,000-entry PDQ bank for
"with banks", 2 % of the items in it) at each size in each mode (MODES): w1 the plain loop and
w4_serial the previous import (4 files in flight, one write at a time) are the baselines of the same
run for w4 (writes queued, committed in groups). Targets (issue 13): >= 500 items/s without banks,
>= 150 with banks. Figures go through bench/figures.py (import.*).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
from PIL import Image  # noqa: E402

from bench.figures import figure  # noqa: E402
from blurring.decode import open_image  # noqa: E402
from moderator import import_run, ingest, matching  # noqa: E402
from moderator.domain import MediaKind  # noqa: E402
from moderator.importing import import_and_match  # noqa: E402
from moderator.ingest import read_source  # noqa: E402
from moderator.matching import Matcher  # noqa: E402
from moderator.media_hashes import MediaHashes, hash_decoded  # noqa: E402
from moderator.policy import load_policy  # noqa: E402
from moderator.signals import HASH_MAX_SIDE, PDQ, PHASH, HashResult  # noqa: E402
from storage import store as store_module  # noqa: E402
from storage.media_cache import MediaCache  # noqa: E402
from storage.store import Store  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "retina", "hubble_deep_field", "immunohistochemistry")
SAMPLE = 300


def make_items(folder: Path, n: int) -> list[Path]:
    """n distinct 640x480 JPEGs (q85): crops of the photos at 1.5x, each photo's offsets drawn without
    replacement (so no two items are the same), with a little noise (one of 8 planes, +-3)."""
    from skimage import data

    rng = np.random.default_rng(0)
    photos = [getattr(data, p)() for p in PHOTOS]
    big = [cv2.resize(np.dstack([p] * 3) if p.ndim == 2 else p[..., :3], (1200, 900)) for p in photos]
    noise = [rng.integers(0, 7, (480, 640, 3), dtype=np.uint8) for _ in range(8)]
    offsets = rng.choice(560 * 420, size=n // len(big) + 1, replace=False)
    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> Path:
        y, x = divmod(int(offsets[i // len(big)]), 560)
        crop = np.ascontiguousarray(big[i % len(big)][y:y + 480, x:x + 640])
        crop = cv2.subtract(cv2.add(crop, noise[i % len(noise)]), (3, 3, 3, 0))
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(crop).save(path, quality=85)
        return path

    with ThreadPoolExecutor(2) as pool:  # OpenCV and Pillow's encoder release the GIL
        return list(pool.map(one, range(n)))


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

    rows = [("sniff", "sniff + SHA-256 + MD5", sniff), ("stage_copy", "staged copy (fsync)", stage),
            ("decode_check", "decode check, no banks", verify), ("hash", "hash now: luma, PDQ once", new_hashes),
            ("hash_before", "hash before (reference)", old_hashes)]
    print(f"per item, {len(sample)} 640x480 JPEGs, min of 3 passes, load {os.getloadavg()[0]:.2f}:")
    figures = {}
    for key, label, fn in rows:
        figures[key] = per_item_ms(fn, sample)
        figure(f"import.stage.{key}_ms", figures[key], "ms")
        print(f"  {label:28s} {figures[key]:7.2f} ms")
    figure("import.stage.hash_vs_before", figures["hash_before"] / figures["hash"], "x")
    print(f"  hashing: {figures['hash_before'] / figures['hash']:.2f}x the reference path")
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
            lookup_ms = (time.perf_counter() - start) / len(hashes) * 1000
    figure("import.stage.lookup_ms", lookup_ms, "ms")
    print(f"  {'bank lookup (1,000 entries)':28s} {lookup_ms:7.2f} ms")
    for key, label, fn in (("hash", "hash now", new_hashes), ("hash_before", "hash before", old_hashes)):
        faults, system = faults_per_1000(fn, sample)
        figure(f"import.stage.{key}_minor_faults_per_1000", faults, "count")
        figure(f"import.stage.{key}_system_s_per_1000", system, "s")
        print(f"  {label:12s} per 1,000 items: {faults:10,.0f} minor faults, {system:5.2f} s system time")


# How the writes go: the plain loop (one file at a time), 4 files in flight with one write at a time
# (the previous import, kept as the baseline of the same run), 4 in flight with writes queued ahead
# and committed in groups (now).
MODES = {"w1": (1, False), "w4_serial": (4, False), "w4": (4, True)}


@contextmanager
def writes(queued: bool):
    """Queued writes (now), or one write waited for at a time in the import and in bank matching."""
    saved = import_run.WRITES_IN_FLIGHT, store_module.GROUP_MAX, matching.GROUP_MAX
    if not queued:
        import_run.WRITES_IN_FLIGHT = store_module.GROUP_MAX = matching.GROUP_MAX = 1
    try:
        yield
    finally:
        import_run.WRITES_IN_FLIGHT, store_module.GROUP_MAX, matching.GROUP_MAX = saved


def one_import(data: Path, paths: list[Path], bank_file: Path | None, mode: str) -> tuple[float, str]:
    """Items/s of one whole import (import_and_match into a fresh store) and its summary."""
    from moderator.banks import BankService

    workers, queued = MODES[mode]
    with Store(data) as store:
        if bank_file:
            BankService(store, load_policy(), "bench").import_bank(bank_file, "known", kind="block", fmt="te-lines")
        import_run.IMPORT_WORKERS = workers  # read at each import (the pool is made once, at the first > 1)
        with writes(queued):
            start = time.perf_counter()
            outcome = import_and_match(store, paths, "bench", load_policy())
            elapsed = time.perf_counter() - start
    assert len(outcome.report.imported) == len(paths), outcome.text
    return len(paths) / elapsed, outcome.text


def whole(tmp: Path, paths: list[Path], bank_file: Path, modes: list[str]) -> None:
    size = f"{len(paths) // 1000}k." if len(paths) != 1000 else ""
    print(f"whole import of {len(paths):,} items, items/s (w1: the plain loop; w4_serial: 4 files in flight, "
          f"one write at a time, the previous import; w4: writes queued, committed in groups), load "
          f"{os.getloadavg()[0]:.2f}:")
    for banks in (False, True):
        kind = "bank" if banks else "nobank"
        rates = {}
        for mode in modes:
            rates[mode], text = one_import(tmp / f"store-{len(paths)}-{kind}-{mode}", paths,
                                           bank_file if banks else None, mode)
            figure(f"import.{size}{kind}.{mode}.items_per_s", rates[mode], "items/s")
            print(f"  {'with' if banks else 'no':4s} banks, {mode:9s} {rates[mode]:7.1f}  {text}")
        for base in ("w1", "w4_serial"):
            if "w4" in rates and base in rates:
                figure(f"import.{size}{kind}.w4.vs_{base}", rates["w4"] / rates[base], "x")
                print(f"    w4 is {rates['w4'] / rates[base]:.2f}x {base}")
    if not size:
        split(tmp, paths, bank_file)


def split(tmp: Path, paths: list[Path], bank_file: Path) -> None:
    """With the bank: the import (hashing from its decode) and the bank matching after it, apart."""
    from moderator.banks import BankService

    with Store(tmp / f"store-{len(paths)}-split") as store:
        BankService(store, load_policy(), "bench").import_bank(bank_file, "known", kind="block", fmt="te-lines")
        matcher = Matcher(store, load_policy())
        import_run.IMPORT_WORKERS = 4
        start = time.perf_counter()
        ingest.import_paths(store, paths, "bench", hash_dihedral=matcher.needs_dihedral())
        middle = time.perf_counter()
        matcher.match_pending()
        end = time.perf_counter()
    imported, matched = len(paths) / (middle - start), len(paths) / (end - middle)
    figure("import.bank.split.import_items_per_s", imported, "items/s")
    figure("import.bank.split.match_items_per_s", matched, "items/s")
    print(f"    of which (w4): import with hashing {imported:7.1f} items/s, then bank matching "
          f"(match_pending) {matched:7.1f} items/s")


def write_bank(path: Path, paths: list[Path]) -> None:
    """1,000 entries: random PDQs and the PDQs of 2 % of the items (so some are matched and routed)."""
    rng = np.random.default_rng(1)
    known = [new_hashes(p).hashes[0].hex for p in paths[::50]]
    rows = [rng.bytes(32).hex() for _ in range(1000 - len(known))] + known
    path.write_text("".join(f"pdq {h}\n" for h in rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--modes", default="w1,w4_serial,w4", help=f"of {', '.join(MODES)}, in the order run")
    parser.add_argument("--big-modes", default="w4", help="the modes run at sizes above 1,000 (the loop takes minutes)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes, big_modes = args.modes.split(","), args.big_modes.split(",")
    if unknown := sorted(set(modes + big_modes) - set(MODES)):
        parser.error(f"unknown mode {unknown[0]} (modes: {', '.join(MODES)})")
    started = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        paths = make_items(tmp / "items", max(sizes))
        bank_file = tmp / "bank.txt"
        write_bank(bank_file, paths[: max(sizes)])
        stages(tmp, paths, bank_file)
        for n in sizes:
            whole(tmp, paths[:n], bank_file, modes if n <= 1000 else big_modes)
    print(f"load average {os.getloadavg()[0]:.2f} after; {time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
