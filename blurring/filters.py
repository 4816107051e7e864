"""Wellness filters: grayscale, blur and pixelation that look the same at any resolution, a
line-drawing style, and the spotlight that lifts the filter inside one circle.

Blur sigma, as a fraction of the image's longer side (so 1920 px and 480 px look alike):

| level | sigma / longer side | sigma at 1920 px | what a moderator sees                             |
|-------|---------------------|------------------|---------------------------------------------------|
| 0     | 0 (off)             | 0                | the image                                         |
| 1     | 0.004               | 8 px             | softened; faces still recognisable                |
| 2     | 0.008               | 15 px            | text unreadable; faces blurred but familiar       |
| 3     | 0.015               | 29 px            | faces up to ~1/5 of the frame unidentifiable;     |
|       |                     |                  | people, poses and the scene still readable        |
| 4     | 0.025               | 48 px            | close-up faces (up to ~2/5 of the frame) hidden   |
| 5     | 0.04                | 77 px            | masses of light and dark                          |
| 6     | 0.07                | 134 px           | unrecognisable                                    |

The face limits are where a face detector stops finding skimage's astronaut photo, cropped
tighter and tighter. A blur relative to the frame cannot hide a frame-filling face at level 3
and still leave a wide shot readable: close-ups need level 4.

Pixelate block size, same idea: 0 off, then 0.005, 0.01, 0.02, 0.03, 0.045, 0.07 of the longer
side (10, 19, 38, 58, 86, 134 px at 1920).

Order: grayscale (so everything after runs on one channel), drawing style, blur, pixelate. Blur
and pixelation both run on a grid whose size depends only on the level, so their cost does not
grow with the level and `working_size` can tell a decoder how little it needs to decode.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from moderator.domain import FilterSpec

BLUR_LEVELS = range(7)
BLUR_SIGMA = (0.0, 0.004, 0.008, 0.015, 0.025, 0.04, 0.07)
PIXELATE_BLOCK = (0.0, 0.005, 0.01, 0.02, 0.03, 0.045, 0.07)
STYLES = (None, "drawing")
# The drawing drops tone, texture and colour by itself (Sarridis et al., 2023: ~30 % fewer negative
# feelings, 97 % still interpretable), so it counts for this many blur levels: the default level 3
# gives clean lines, and the stricter levels still abstract the shapes more and more.
DRAWING_BLUR_CREDIT = 2

# Gaussian blur runs on a copy shrunk until sigma is this many pixels there, then is scaled back
# up with bilinear interpolation: a 2.5 px Gaussian is smooth enough that interpolating it leaves
# no visible steps, and the kernel stays 15 taps at every level.
_WORK_SIGMA = 2.5
# Pixelation needs a few source samples per block for the block means to match a full-size average.
_SAMPLES_PER_BLOCK = 4
# The drawing is made at this longer side whatever the input's, so line weight is scale-invariant.
_DRAWING_LONG_SIDE = 960

Size = tuple[int, int]  # (width, height), as OpenCV takes it


def apply_filter(rgb: np.ndarray, spec: FilterSpec, out_size: Size | None = None) -> np.ndarray:
    """The filtered image: C-contiguous uint8, (H, W) when spec.grayscale, else (H, W, 3) RGB.

    rgb: (H, W, 3) RGB or (H, W) gray uint8. out_size: (width, height) of the result when the
    input was decoded smaller (see `working_size`); levels are relative to out_size. An identity
    spec at the input's size returns the input itself, not a copy.
    """
    _check_spec(spec)
    size = out_size or (rgb.shape[1], rgb.shape[0])
    img = _channels(rgb, gray=spec.grayscale)
    if spec.style == "drawing":
        img = _drawing(img, BLUR_SIGMA[max(0, spec.blur - DRAWING_BLUR_CREDIT)])
    elif spec.blur:
        img = _blur(img, BLUR_SIGMA[spec.blur] * max(size), size)
    if spec.pixelate:
        img = _pixelate(img, PIXELATE_BLOCK[spec.pixelate] * max(size), size)
    img = _resize(img, size)
    if not spec.grayscale and img.ndim == 2:  # the drawing is gray; keep the promised shape
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(img)


def working_size(spec: FilterSpec, size: Size) -> Size:
    """The smallest input (width, height) from which `apply_filter(..., out_size=size)` looks the
    same as from a full-size input: what a decoder needs to produce, no more."""
    _check_spec(spec)
    long_side = max(size)
    if spec.style == "drawing":
        need = _DRAWING_LONG_SIDE
    elif spec.blur:
        need = math.ceil(_WORK_SIGMA / BLUR_SIGMA[spec.blur])
    elif spec.pixelate:
        need = math.ceil(_SAMPLES_PER_BLOCK / PIXELATE_BLOCK[spec.pixelate])
    else:
        need = long_side
    return _scaled(size, min(1.0, need / long_side))


def spotlight(
    filtered: np.ndarray, original: np.ndarray, center: tuple[int, int], radius: int
) -> tuple[np.ndarray, float]:
    """`filtered` with the circle (center=(x, y), radius in pixels) shown from `original`, and
    the fraction of the image area revealed (0..1), counted for exposure.

    The edge is feathered over ~8% of the radius so the lens does not flicker as it moves. A gray
    `filtered` with an RGB `original` gives an RGB result. The circle may lie partly outside.
    """
    if filtered.shape[:2] != original.shape[:2]:
        raise ValueError(f"sizes differ: filtered {filtered.shape[:2]}, original {original.shape[:2]}")
    out, source = _common_channels(filtered, original)
    box, alpha = _disc_alpha(out.shape[:2], center, radius)
    if alpha is None:
        return out, 0.0
    rows, cols = box
    if out.ndim == 3:
        alpha = alpha[..., None]
    blend = source[rows, cols] * alpha + out[rows, cols] * (1.0 - alpha)
    out[rows, cols] = np.rint(blend).astype(np.uint8)
    return out, float(alpha.sum() / (out.shape[0] * out.shape[1]))


def _check_spec(spec: FilterSpec) -> None:
    if spec.blur not in BLUR_LEVELS:
        raise ValueError(f"blur level {spec.blur!r} is not one of 0..6")
    if spec.pixelate not in BLUR_LEVELS:
        raise ValueError(f"pixelate level {spec.pixelate!r} is not one of 0..6")
    if spec.style not in STYLES:
        raise ValueError(f"unknown filter style {spec.style!r}; known: {STYLES[1:]}")


def _channels(img: np.ndarray, gray: bool) -> np.ndarray:
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise ValueError(f"expected uint8 (H, W, 3) or (H, W), got {img.dtype} {img.shape}")
    if gray and img.ndim == 3:
        return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return img


def _blur(img: np.ndarray, sigma_out: float, size: Size) -> np.ndarray:
    """Gaussian blur of sigma_out pixels at `size`, computed on a grid where sigma is small."""
    sigma = sigma_out * max(img.shape[:2]) / max(size)
    if sigma > _WORK_SIGMA:
        img = _resize(img, _scaled(_wh(img), _WORK_SIGMA / sigma))
        sigma = sigma_out * max(img.shape[:2]) / max(size)
    blurred = cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return _resize(blurred, size)


def _pixelate(img: np.ndarray, block: float, size: Size) -> np.ndarray:
    grid = (max(1, round(size[0] / block)), max(1, round(size[1] / block)))
    cells = cv2.resize(img, grid, interpolation=cv2.INTER_AREA)
    return cv2.resize(cells, size, interpolation=cv2.INTER_NEAREST)


def _drawing(img: np.ndarray, blur: float) -> np.ndarray:
    """Black ink lines on white: shading, texture and colour (blood, wounds) are dropped, shapes
    and poses stay. The lines are traced from the *blurred* image, with a line scale that grows
    with the blur, so a style never shows more than its blur level allows: crisp lines at blur
    0-1, only the coarse shapes of the blurred image from blur 2 on."""
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    work = _scaled(_wh(gray), _DRAWING_LONG_SIDE / max(gray.shape))
    gray = _resize(gray, work)
    sigma = blur * max(work)
    if sigma:
        # In float: a blurred uint8 image is a staircase, whose steps the threshold would trace
        # as ragged hatching along every contour.
        gray = _blur(gray.astype(np.float32), sigma, work)
    else:  # unblurred: smooth texture away first, or it turns into speckle
        gray = cv2.bilateralFilter(gray, 7, 40, 7).astype(np.float32)
    block = max(9, int(4 * sigma) | 1)  # the threshold's neighbourhood must span the blur
    local_mean = cv2.boxFilter(gray, -1, (block, block), borderType=cv2.BORDER_REPLICATE)
    # Ink where a pixel is darker than its surroundings (OpenCV's adaptive MEAN_C threshold).
    return np.where(gray > local_mean - 4.0, np.uint8(255), np.uint8(0))


def _common_channels(filtered: np.ndarray, original: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a writable copy of filtered, original), both gray or both RGB."""
    if filtered.ndim == 2 and original.ndim == 3:
        return cv2.cvtColor(filtered, cv2.COLOR_GRAY2RGB), original
    if filtered.ndim == 3 and original.ndim == 2:
        return filtered.copy(), cv2.cvtColor(original, cv2.COLOR_GRAY2RGB)
    return filtered.copy(), original


def _disc_alpha(
    shape: tuple[int, int], center: tuple[int, int], radius: int
) -> tuple[tuple[slice, slice], np.ndarray | None]:
    """Opacity of the revealed disc over its bounding box (clipped to the image), or None."""
    cx, cy = center
    feather = max(1.0, 0.08 * radius)
    reach = radius + feather / 2
    x0, x1 = max(0, math.floor(cx - reach)), min(shape[1], math.ceil(cx + reach) + 1)
    y0, y1 = max(0, math.floor(cy - reach)), min(shape[0], math.ceil(cy + reach) + 1)
    box = (slice(y0, y1), slice(x0, x1))
    if radius <= 0 or x0 >= x1 or y0 >= y1:
        return box, None
    yy, xx = np.ogrid[y0:y1, x0:x1]
    dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2, dtype=np.float32)
    # Linear ramp centred on the radius, so the opacity sums to pi * r^2 for a whole disc.
    return box, np.clip((reach - dist) / feather, 0.0, 1.0)


def _wh(img: np.ndarray) -> Size:
    return img.shape[1], img.shape[0]


def _scaled(size: Size, scale: float) -> Size:
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _resize(img: np.ndarray, size: Size) -> np.ndarray:
    if _wh(img) == tuple(size):
        return img
    shrinking = size[0] < img.shape[1] or size[1] < img.shape[0]
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
