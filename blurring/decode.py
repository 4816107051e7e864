"""Decode images at reduced scale, straight to the size they will be shown or hashed at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps


def decode_reduced(path: str | Path, max_size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 (H, W, 3) that fits inside max_size; never upscales; EXIF orientation applied.

    JPEG uses DCT scaling (`Image.draft`) so a 12 MP photo is never decoded at full size.
    """
    with Image.open(path) as im:
        transposed = _swaps_axes(im)
        w, h = max_size
        draft_size = (h, w) if transposed else (w, h)
        if im.format == "JPEG":
            im.draft("RGB", draft_size)
        im = ImageOps.exif_transpose(im)
        im = _to_rgb(im)
        rgb = np.asarray(im)
    return _fit(rgb, max_size)


def _swaps_axes(im: Image.Image) -> bool:
    return im.getexif().get(0x0112, 1) in (5, 6, 7, 8)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (128, 128, 128, 255))
        return Image.alpha_composite(background, im).convert("RGB")
    if im.mode.startswith("I;16") or im.mode == "I":
        arr = np.asarray(im, dtype=np.float32)
        arr = (arr / max(float(arr.max()), 1.0) * 255).astype(np.uint8)
        return Image.fromarray(arr).convert("RGB")
    return im.convert("RGB")


def _fit(rgb: np.ndarray, max_size: tuple[int, int]) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(max_size[0] / w, max_size[1] / h, 1.0)
    if scale >= 1.0:
        return np.ascontiguousarray(rgb)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
