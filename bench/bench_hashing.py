"""PDQ (+ pHash) of 12 MP JPEGs on one core: the hashing path against the one before it and against
decode + pdqhash at full size, A/B in the same run, and PDQ drift against full-resolution pdqhash.

Run: .venv/bin/python bench/bench_hashing.py [--rounds 5] [--sizes 512,...,2048] [--no-sweep]
Budgets: PDQ of a 12 MP JPEG <= 25 ms on one core (issue 13), the path >= 4x faster than full-size
decode + pdqhash.compute, PDQ drift <= 10 bits against pdqhash on every full-resolution pixel.

A/B pairs, interleaved photo by photo in every round (the machine is shared): the decode (Pillow's
1/2^k draft + shrink, the path before, vs libjpeg-turbo at an M/8 scale + shrink), PDQ on the decoded
plane (pdqhash's C++ box filters over every pixel vs the two matrix products), and the two whole
paths. The floor: libjpeg-turbo's luma decode at 1/8 scale, which still entropy-decodes every byte.
The sweep (on unless --no-sweep) re-runs the measurement that picked HASH_MAX_SIDE: 7 photos at 10
sizes and aspect ratios, 2 to 48 MP, drift and time per candidate side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
import simplejpeg  # noqa: E402
from PIL import Image  # noqa: E402

from bench.figures import figure  # noqa: E402
from blurring.decode import decode_gray_for_hash, decode_reduced_gray  # noqa: E402
from blurring.hashing import pdq_luma, pdq_luma_native  # noqa: E402
from moderator.signals import HASH_MAX_SIDE, PDQ, hash_image_file  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "retina", "hubble_deep_field", "immunohistochemistry")
SWEEP_SIZES = (((4000, 3000), 90), ((4032, 3024), 90), ((3024, 4032), 90), ((6000, 4000), 90),
               ((4000, 2250), 85), ((2448, 3264), 85), ((5472, 3648), 85), ((3000, 3000), 85),
               ((8000, 6000), 85), ((1920, 1080), 85))
SWEEP_SIDES = (512, 640, 768, 1024, 1152, 1280, 1408, 1536, 2048)
WORK = (HASH_MAX_SIDE, HASH_MAX_SIDE)


def make_photo(path: Path, name: str, size: tuple[int, int], seed: int, quality: int = 90) -> Path:
    """A skimage photo upscaled to `size` with mild sensor-like noise (sigma 3), saved as JPEG."""
    from skimage import data

    rgb = getattr(data, name)()
    rgb = np.stack([rgb] * 3, axis=-1) if rgb.ndim == 2 else rgb[..., :3]
    big = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(seed)
    for top in range(0, big.shape[0], 512):  # in bands: a 48 MP photo's noise at once is 0.6 GB
        band = big[top:top + 512].astype(np.float32)
        band += rng.standard_normal(band.shape, dtype=np.float32) * 3
        big[top:top + 512] = np.clip(band, 0, 255).astype(np.uint8)
    Image.fromarray(big).save(path, quality=quality)
    return path


def full_pdq(path: Path) -> str:
    """pdqhash.compute on every pixel of the full-size RGB decode: the reference for drift, and the
    baseline for time."""
    with Image.open(path) as im:
        return np.packbits(pdqhash.compute(np.asarray(im.convert("RGB")))[0].astype(np.uint8)).tobytes().hex()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def floor_decode(path: Path) -> np.ndarray:
    """The luma at 1/8 scale: every entropy-coded byte decoded, almost no IDCT; no scale avoids it."""
    return simplejpeg.decode_jpeg(path.read_bytes(), colorspace="GRAY", min_factor=8)


def paths_to_time(path: Path) -> dict[str, Callable[[], object]]:
    old_plane, new_plane = decode_reduced_gray(path, WORK), decode_gray_for_hash(path, WORK)
    return {
        "decode_pil": lambda: decode_reduced_gray(path, WORK),
        "decode_m8": lambda: decode_gray_for_hash(path, WORK),
        "floor": lambda: floor_decode(path),
        "pdq_native": lambda: pdq_luma_native(old_plane),
        "pdq_fast": lambda: pdq_luma(new_plane),
        "path_before": lambda: pdq_luma_native(decode_reduced_gray(path, WORK)),
        "path": lambda: PDQ.hash_file(path),
        "path_phash": lambda: hash_image_file(path, ("pdq", "phash")),
    }


def timing(paths: list[Path], rounds: int) -> dict[str, float]:
    """Median over photos of each photo's median over rounds, every path of a photo back to back in
    an order that turns each round, so load drifts hit A and B alike."""
    times: dict[str, dict[Path, list[float]]] = {}
    fns = {p: paths_to_time(p) for p in paths}
    for r in range(rounds):
        for p in paths:
            names = list(fns[p])
            names = names[r % len(names):] + names[:r % len(names)]
            for name in names:
                times.setdefault(name, {}).setdefault(p, []).append(timed(fns[p][name]))
            if r < 2:  # full decode + pdqhash: ~0.3-0.6 s a photo, two rounds are enough
                times.setdefault("full", {}).setdefault(p, []).append(timed(lambda p=p: full_pdq(p)))
    return {name: statistics.median(statistics.median(v) for v in per.values()) for name, per in times.items()}


def drift_table(paths: list[Path], refs: list[str], sides: list[int]) -> int:
    """Per candidate side, the drift of the hashing path's PDQ from full-resolution pdqhash; returns
    the max at HASH_MAX_SIDE."""
    print("PDQ drift vs full resolution (bits) per max side, 7 photos at 4000x3000:")
    at_work = 0
    for side in sides:
        drifts = [PDQ.distance(ref, pdq_luma(decode_gray_for_hash(p, (side, side)))[0])
                  for p, ref in zip(paths, refs, strict=True)]
        mark = "  <- HASH_MAX_SIDE" if side == HASH_MAX_SIDE else ""
        print(f"  {side:5d}: {drifts}  max {max(drifts)}{mark}")
        figure(f"hashing.drift7.s{side}.max_bits", max(drifts), "bits")
        at_work = max(drifts) if side == HASH_MAX_SIDE else at_work
    return at_work


def shrunk(path: Path, side: int) -> np.ndarray:
    """The path before this one: the M/8 decode covering side x side, then shrunk to fit inside it as
    blurring.decode._resize did (bilinear up to 1.5x, box filter beyond)."""
    plane = decode_gray_for_hash(path, (side, side))
    h, w = plane.shape
    scale = min(side / w, side / h, 1.0)
    if scale == 1.0:
        return plane
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(plane, size, interpolation=cv2.INTER_LINEAR if 1 / scale <= 1.5 else cv2.INTER_AREA)


def sweep_cases(folder: Path) -> tuple[dict[str, dict[int, list[int]]], dict[int, list[float]], list[str]]:
    """Drift per side of the hashing decode ("now") and of Pillow's 1/2^k decode ("before"), both
    hashed by the same PDQ, and the time of decode + PDQ now, over every case; at HASH_MAX_SIDE also
    PDQ of the M/8 decode shrunk to fit, the path before this one ("shrunk")."""
    drifts: dict[str, dict[int, list[int]]] = {"now": {s: [] for s in SWEEP_SIDES}, "before": {s: [] for s in SWEEP_SIDES},
                                               "shrunk": {HASH_MAX_SIDE: []}}
    ms: dict[int, list[float]] = {s: [] for s in SWEEP_SIDES}
    names = []
    for k, ((size, quality), name) in enumerate((c, n) for c in SWEEP_SIZES for n in PHOTOS):
        path = make_photo(folder / f"sweep-{k}.jpg", name, size, seed=100 + k, quality=quality)
        ref = full_pdq(path)
        names.append(f"{name} {size[0]}x{size[1]}")
        for side in SWEEP_SIDES:
            start = time.perf_counter()
            hexed = pdq_luma(decode_gray_for_hash(path, (side, side)))[0]
            ms[side].append((time.perf_counter() - start) * 1000)
            drifts["now"][side].append(PDQ.distance(ref, hexed))
            drifts["before"][side].append(PDQ.distance(ref, pdq_luma(decode_reduced_gray(path, (side, side)))[0]))
        drifts["shrunk"][HASH_MAX_SIDE].append(PDQ.distance(ref, pdq_luma(shrunk(path, HASH_MAX_SIDE))[0]))
        path.unlink()
    return drifts, ms, names


def sweep(folder: Path) -> None:
    """70 cases (7 photos x SWEEP_SIZES), per candidate side: drift median / p90 / max and cases over
    10 bits, now and before, and the median time of decode + PDQ now (one timing a case)."""
    start = time.perf_counter()
    drifts, ms, names = sweep_cases(folder)
    print(f"sweep: {len(names)} cases in {time.perf_counter() - start:.0f} s, load {os.getloadavg()[0]:.1f}")
    print("  side | median |  p90 |  max | cases > 10 bits | before: max, cases > 10 | decode + PDQ (median)")
    figure("hashing.sweep.cases", len(names), "count")
    for side in SWEEP_SIDES:
        d, b = np.array(drifts["now"][side]), np.array(drifts["before"][side])
        row = {"median_bits": float(np.median(d)), "p90_bits": float(np.percentile(d, 90)), "max_bits": int(d.max()),
               "over10": int((d > 10).sum()), "before_max_bits": int(b.max()), "before_over10": int((b > 10).sum()),
               "ms": statistics.median(ms[side])}
        print(f"  {side:4d} | {row['median_bits']:6g} | {row['p90_bits']:4g} | {row['max_bits']:4d} | "
              f"{row['over10']:15d} | {row['before_max_bits']:11d}, {row['before_over10']:11d} | {row['ms']:6.1f} ms")
        for key, value in row.items():
            figure(f"hashing.sweep.s{side}.{key}", value, "ms" if key == "ms" else "count" if "over10" in key else "bits")
    worst = [(names[i], d, drifts["before"][HASH_MAX_SIDE][i])
             for i, d in enumerate(drifts["now"][HASH_MAX_SIDE]) if d > 8 or drifts["before"][HASH_MAX_SIDE][i] > 8]
    print(f"  cases over 8 bits at {HASH_MAX_SIDE} (now, before): {worst}")
    u = np.array(drifts["shrunk"][HASH_MAX_SIDE])
    print(f"  the path before, the M/8 decode shrunk to fit {HASH_MAX_SIDE}: median {np.median(u):g}, "
          f"max {u.max()}, cases > 10 bits {(u > 10).sum()}")
    figure(f"hashing.sweep.s{HASH_MAX_SIDE}.shrunk_max_bits", int(u.max()), "bits")
    figure(f"hashing.sweep.s{HASH_MAX_SIDE}.shrunk_over10", int((u > 10).sum()), "count")


def report(t: dict[str, float], drift_max: int, drift_before: int) -> None:
    print(f"full decode + pdqhash.compute:        {t['full']:7.1f} ms")
    print(f"luma decode, Pillow 1/2^k draft (before): {t['decode_pil']:5.1f} ms   M/8 scale (now): "
          f"{t['decode_m8']:5.1f} ms   ({t['decode_pil'] / t['decode_m8']:.2f}x)")
    print(f"floor: luma decode at 1/8 scale:      {t['floor']:7.1f} ms")
    print(f"PDQ on the decoded plane (at {HASH_MAX_SIDE}): whole-plane C++ (before) {t['pdq_native']:.2f} ms, "
          f"matrix products (now) {t['pdq_fast']:.2f} ms ({t['pdq_native'] / t['pdq_fast']:.0f}x)")
    print(f"PDQ of a 12 MP JPEG: before {t['path_before']:.1f} ms, now {t['path']:.1f} ms "
          f"({t['path_before'] / t['path']:.2f}x); with pHash {t['path_phash']:.1f} ms")
    ratio = t["full"] / t["path"]
    print(f"{'PASS' if ratio >= 4 else 'FAIL'} speed-up {ratio:.1f}x over full decode + pdqhash (budget >= 4x)")
    print(f"{'PASS' if drift_max <= 10 else 'FAIL'} max drift {drift_max} bits (budget <= 10; the path "
          f"before: {drift_before})")
    print(f"{'PASS' if t['path'] <= 25 else 'FAIL'} PDQ of a 12 MP JPEG {t['path']:.1f} ms (target <= 25 ms)")
    for key, name in (("full_pdqhash_ms", "full"), ("luma_decode_pil_ms", "decode_pil"), ("luma_decode_ms", "decode_m8"),
                      ("floor_decode_ms", "floor"), ("pdq_plane_native_ms", "pdq_native"), ("pdq_plane_ms", "pdq_fast"),
                      ("pdq_12mp_before_ms", "path_before"), ("pdq_12mp_ms", "path"), ("pdq_phash_12mp_ms", "path_phash")):
        figure(f"hashing.{key}", t[name], "ms")
    figure("hashing.speedup_x", ratio, "x")
    figure("hashing.decode_x", t["decode_pil"] / t["decode_m8"], "x")
    figure("hashing.pdq_plane_x", t["pdq_native"] / t["pdq_fast"], "x")
    figure("hashing.path_x", t["path_before"] / t["path"], "x")
    figure("hashing.drift_max_bits", drift_max, "bits")
    figure("hashing.drift_before_max_bits", drift_before, "bits")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,640,768,1024,1280,1536,2048")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-sweep", action="store_true", help="skip the 70-case sweep (about 2 minutes)")
    args = parser.parse_args()
    cv2.setNumThreads(1)  # the budget is per core; hashing runs one item per worker
    print(f"load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        paths = [make_photo(Path(tmp) / f"{n}.jpg", n, (4000, 3000), seed=k) for k, n in enumerate(PHOTOS)]
        refs = [full_pdq(p) for p in paths]
        drift_max = drift_table(paths, refs, [int(s) for s in args.sizes.split(",")])
        drift_max = max(drift_max, *(PDQ.distance(r, PDQ.hash_file(p).hex) for p, r in zip(paths, refs, strict=True)))
        drift_before = max(PDQ.distance(r, pdq_luma_native(decode_reduced_gray(p, WORK))[0][0])
                           for p, r in zip(paths, refs, strict=True))
        report(timing(paths, args.rounds), drift_max, drift_before)
        print(f"load average {os.getloadavg()}")
        if not args.no_sweep:
            sweep(Path(tmp))
            print(f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
