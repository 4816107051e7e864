"""Benchmark: the filtered preview of a 12 MP JPEG at 1920x1080 against the naive path and a bare
reduced decode, with the budgets from DESIGN.md. A report: it always exits 0.

    .venv/bin/python bench/bench_preview.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFilter
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a plain script

from blurring.decode import decode_reduced  # noqa: E402
from blurring.filters import BLUR_SIGMA, apply_filter, spotlight  # noqa: E402
from blurring.preview import render_preview  # noqa: E402
from moderator.domain import FilterSpec  # noqa: E402

RUNS = 15
DISPLAY = (1920, 1080)
FULL = (4000, 3000)


def make_12mp_jpeg(path: Path) -> Path:
    """A real photo at 4000x3000 with mild sensor-like noise, so the JPEG is not trivially small."""
    rgb = cv2.resize(data.astronaut(), FULL, interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0, 4, rgb.shape)
    rgb = np.clip(rgb + noise, 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path, quality=90)
    return path


def naive_preview(path: Path, radius: float) -> Image.Image:
    """What a straightforward viewer does: decode everything, blur at full size, then gray."""
    with Image.open(path) as im:
        im.load()
        return im.filter(ImageFilter.GaussianBlur(radius)).convert("L")


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()  # warm caches and lazy imports: we measure the steady state a worker sees
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    spec = FilterSpec()  # blur 3, grayscale: what every item gets by default
    radius = BLUR_SIGMA[spec.blur] * max(FULL)  # the same look at full size
    print(f"cpus={os.cpu_count()} cv2 threads={cv2.getNumThreads()} runs={RUNS} (median)")
    with tempfile.TemporaryDirectory() as tmp:
        path = make_12mp_jpeg(Path(tmp) / "photo_12mp.jpg")
        print(f"input: {FULL[0]}x{FULL[1]} JPEG q90, {path.stat().st_size / 1e6:.1f} MB; default {spec}")
        naive = median_ms(lambda: naive_preview(path, radius))
        bare = median_ms(lambda: decode_reduced(path, DISPLAY))
        preview = median_ms(lambda: render_preview(path, spec, DISPLAY))
        # The same picture without decoding less: what a caller gets from decode + filter.
        plain = median_ms(lambda: apply_filter(decode_reduced(path, DISPLAY), spec))
        extras = _extras(path)

    rows = [
        (f"(a) naive: full decode + PIL GaussianBlur(r={radius:.0f}) + gray", naive),
        (f"(b) bare decode_reduced to {DISPLAY[0]}x{DISPLAY[1]}", bare),
        ("(c) render_preview, default spec", preview),
        ("    decode_reduced + apply_filter, default spec", plain),
        *[(f"    {name}", ms) for name, ms in extras],
    ]
    for name, ms in rows:
        print(f"{name:<58}{ms:8.1f} ms")
    speedup, overhead = naive / preview, preview / bare
    print(f"naive / preview = {speedup:5.1f}x  (budget >= 10x)   {verdict(speedup >= 10)}")
    print(f"preview / bare  = {overhead:5.2f}x  (budget <= 1.5x)  {verdict(overhead <= 1.5)}")
    return 0


def _extras(path: Path) -> list[tuple[str, float]]:
    """The other looks, end to end and as filter-only costs on an already decoded 1920x1080 frame."""
    frame = cv2.resize(decode_reduced(path, DISPLAY), DISPLAY, interpolation=cv2.INTER_LINEAR)
    drawing, level6 = FilterSpec(blur=0, style="drawing"), FilterSpec(blur=6)
    filtered = apply_filter(frame, FilterSpec())
    return [
        ("render_preview, drawing style (blur 0)", median_ms(lambda: render_preview(path, drawing, DISPLAY))),
        ("render_preview, blur 6", median_ms(lambda: render_preview(path, level6, DISPLAY))),
        (
            "render_preview, colour blur 3",
            median_ms(lambda: render_preview(path, FilterSpec(grayscale=False))),
        ),
        ("apply_filter only, 1920x1080, default", median_ms(lambda: apply_filter(frame, FilterSpec()))),
        ("apply_filter only, 1920x1080, blur 1", median_ms(lambda: apply_filter(frame, FilterSpec(blur=1)))),
        ("apply_filter only, 1920x1080, blur 6", median_ms(lambda: apply_filter(frame, level6))),
        ("apply_filter only, 1920x1080, drawing", median_ms(lambda: apply_filter(frame, drawing))),
        ("spotlight r=200 on 1920x1080", median_ms(lambda: spotlight(filtered, frame, (960, 540), 200))),
    ]


if __name__ == "__main__":
    sys.exit(main())
