"""blurring.filters (and the image half of blurring.preview) on real photos from skimage.data."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.feature import Cascade

from blurring.decode import decode_reduced
from blurring.filters import BLUR_LEVELS, PIXELATE_BLOCK, apply_filter, spotlight, working_size
from blurring.preview import render_preview, to_png
from moderator.domain import FilterSpec

PHOTOS = ["astronaut", "coffee", "chelsea", "rocket", "retina"]
HD = (1920, 1080)


@cache
def photo(name: str, size: tuple[int, int] = HD) -> np.ndarray:
    rgb = getattr(data, name)()
    rgb = rgb if rgb.ndim == 3 else cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    out = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    out.flags.writeable = False  # shared between tests: a filter must never write to its input
    return out


def detail_energy(img: np.ndarray) -> float:
    """Variance of the band a face's identity lives in, measured at 128 px on the longer side.

    Not the raw Laplacian of the uint8 output: past level 2 that only measures the rounding
    staircase of smooth ramps, which every uint8 image has.
    """
    f = img.astype(np.float32)
    scale = 128 / max(img.shape[:2])
    f = cv2.resize(
        f, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA
    )
    return float(np.var(f - cv2.GaussianBlur(f, (0, 0), 2.0)))


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_level_zero_in_colour_is_the_input_itself() -> None:
    rgb = photo("coffee")
    assert apply_filter(rgb, FilterSpec(blur=0, grayscale=False)) is rgb


SPECS = [
    FilterSpec(blur=b, grayscale=g, pixelate=p, style=s)
    for b in BLUR_LEVELS
    for g in (True, False)
    for p in (0, 4)
    for s in (None, "drawing")
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_output_contract(spec: FilterSpec) -> None:
    rgb = photo("chelsea", (640, 360))
    out = apply_filter(rgb, spec)
    assert out.dtype == np.uint8 and out.flags.c_contiguous
    assert out.shape == ((360, 640) if spec.grayscale else (360, 640, 3))


def test_grayscale_input_is_accepted() -> None:
    gray = cv2.cvtColor(photo("rocket"), cv2.COLOR_RGB2GRAY)
    assert apply_filter(gray, FilterSpec(blur=3)).shape == gray.shape
    assert apply_filter(gray, FilterSpec(blur=3, grayscale=False)).shape == gray.shape + (3,)


@pytest.mark.parametrize("grayscale", [True, False])
@pytest.mark.parametrize("name", PHOTOS)
def test_detail_drops_with_every_level(name: str, grayscale: bool) -> None:
    energies = [
        detail_energy(apply_filter(photo(name), FilterSpec(blur=lv, grayscale=grayscale)))
        for lv in BLUR_LEVELS
    ]
    assert all(later < 0.9 * earlier for earlier, later in zip(energies, energies[1:], strict=False)), (
        energies
    )
    assert energies[6] < 0.005 * energies[0]  # level 6: nothing recognisable is left


@pytest.mark.parametrize("level", BLUR_LEVELS[1:])
@pytest.mark.parametrize("name", PHOTOS)
def test_blur_looks_the_same_at_any_resolution(name: str, level: int) -> None:
    spec = FilterSpec(blur=level)
    small = apply_filter(photo(name, (960, 540)), spec)
    large = cv2.resize(apply_filter(photo(name), spec), (960, 540), interpolation=cv2.INTER_AREA)
    assert mean_abs_diff(small, large) < 1.0


def _face_boxes(img: np.ndarray) -> list[tuple[int, int, int, int]]:
    detector = _face_detector()
    side = max(img.shape[:2])
    found = detector.detect_multi_scale(
        img=img,
        scale_factor=1.1,
        step_ratio=1,
        min_size=(side // 10, side // 10),
        max_size=(side // 2, side // 2),
    )
    return [(f["c"], f["r"], f["width"], f["height"]) for f in found]


@cache
def _face_detector() -> Cascade:
    return Cascade(data.lbp_frontal_face_cascade_filename())


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _face_found(rgb: np.ndarray, face: tuple[int, int, int, int], level: int) -> bool:
    filtered = apply_filter(rgb, FilterSpec(blur=level, grayscale=False))
    return any(_overlap(face, box) > 0.3 for box in _face_boxes(filtered))


@pytest.mark.parametrize("side", [512, 768, 1024])
def test_level_3_hides_the_face_but_keeps_the_scene(side: int) -> None:
    """A face detector (more robust to blur than recognising whom) finds the astronaut's face at
    levels 0-1 and never from level 3; the level-3 image keeps the scene's coarse layout."""
    rgb = photo("astronaut", (side, side))
    face = max(_face_boxes(rgb), key=lambda box: box[2])  # the astronaut's, not the helmet's
    assert side // 6 < face[2] < side // 4
    found = [_face_found(rgb, face, level) for level in BLUR_LEVELS]
    assert found[0] and found[1], found
    assert not any(found[3:]), found
    gist = [cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (16, 16), interpolation=cv2.INTER_AREA)]
    gist.append(cv2.resize(apply_filter(rgb, FilterSpec(blur=3)), (16, 16), interpolation=cv2.INTER_AREA))
    assert np.corrcoef(gist[0].ravel(), gist[1].ravel())[0, 1] > 0.95


def test_level_4_hides_a_close_up_face() -> None:
    rgb = cv2.resize(data.astronaut()[10:230, 112:332], (768, 768), interpolation=cv2.INTER_CUBIC)
    face = max(_face_boxes(rgb), key=lambda box: box[2])
    assert face[2] > 768 * 0.35  # a close-up: the face is over a third of the frame
    assert _face_found(rgb, face, 0) and _face_found(rgb, face, 2)
    assert not any(_face_found(rgb, face, level) for level in (4, 5, 6))


@pytest.mark.parametrize("level", [1, 3, 6])
@pytest.mark.parametrize("width, height", [(1920, 1080), (960, 540), (1080, 1920)])
def test_pixelate_block_size_follows_the_longer_side(level: int, width: int, height: int) -> None:
    out = apply_filter(photo("astronaut", (width, height)), FilterSpec(blur=0, pixelate=level))
    block = PIXELATE_BLOCK[level] * max(width, height)
    for line, length in ((out[height // 2], width), (out[:, width // 2], height)):
        cells = max(1, round(length / block))  # whole blocks across, each about `block` wide
        edges = np.flatnonzero(np.diff(line.astype(np.int16))) + 1
        grid = edges / (length / cells)
        assert np.all(np.abs(grid - np.round(grid)) * (length / cells) <= 1.0)  # edges on the grid
        assert (cells - 1) // 2 <= len(edges) <= cells - 1


def test_drawing_is_ink_on_paper() -> None:
    out = apply_filter(photo("astronaut", (960, 540)), FilterSpec(blur=0, style="drawing"))
    assert 0.03 < np.mean(out == 0) < 0.4
    assert np.mean(out == 255) + np.mean(out == 0) == 1.0  # lines, no shading
    flat = np.full((540, 960, 3), 90, np.uint8)
    assert np.all(apply_filter(flat, FilterSpec(blur=0, style="drawing")) == 255)


@pytest.mark.parametrize("level", BLUR_LEVELS)
def test_drawing_never_shows_more_than_its_blur(level: int) -> None:
    """Fine text added to the photo is drawn at blur 0 and not at all from blur 3 on.

    The text is embossed (light glyphs beside their dark shadow) so it adds detail but hardly any
    local brightness. Counted: pixels that change away from the plain drawing's own contours
    (contours may shift by a pixel when the blurred brightness moves by a fraction of a level).
    """
    plain = photo("coffee")
    glyphs = np.zeros(plain.shape[:2], np.uint8)
    for row in range(6):
        cv2.putText(glyphs, "Jane Doe 0123", (60, 120 + 40 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 1, 2)
    emboss = 60 * (glyphs.astype(np.int16) - np.roll(glyphs, 3, axis=1))
    signed = np.clip(plain + emboss[..., None], 0, 255).astype(np.uint8)
    spec = FilterSpec(blur=level, style="drawing")
    before, after = apply_filter(plain, spec), apply_filter(signed, spec)
    kernel = np.ones((3, 3), np.uint8)
    contours = cv2.dilate(cv2.morphologyEx(before, cv2.MORPH_GRADIENT, kernel), kernel, iterations=2) > 0
    drawn = ((before != after) & ~contours)[60:360, 40:400].mean()
    if level == 0:
        assert drawn > 0.03
    if level >= 3:
        assert drawn < 0.005
    colour = apply_filter(plain, FilterSpec(blur=level, grayscale=False, style="drawing"))
    assert colour.shape == plain.shape and np.array_equal(colour[..., 0], colour[..., 2])


@pytest.mark.parametrize(
    "spec",
    [FilterSpec(style="cartoon"), FilterSpec(blur=7), FilterSpec(blur=-1), FilterSpec(pixelate=9)],
    ids=str,
)
def test_bad_specs_raise_value_error(spec: FilterSpec) -> None:
    with pytest.raises(ValueError):
        apply_filter(photo("coffee", (64, 48)), spec)


def test_bad_arrays_raise_value_error() -> None:
    with pytest.raises(ValueError):
        apply_filter(np.zeros((10, 10, 4), np.uint8), FilterSpec())
    with pytest.raises(ValueError):
        apply_filter(np.zeros((10, 10, 3), np.float32), FilterSpec())


@pytest.mark.parametrize(
    "spec",
    [FilterSpec(), FilterSpec(blur=1), FilterSpec(blur=6, grayscale=False), FilterSpec(blur=0, pixelate=2)],
    ids=str,
)
def test_working_size_input_gives_the_same_result(spec: FilterSpec) -> None:
    full = photo("astronaut")
    small = cv2.resize(full, working_size(spec, HD), interpolation=cv2.INTER_AREA)
    assert small.shape[1] < HD[0]
    assert mean_abs_diff(apply_filter(small, spec, out_size=HD), apply_filter(full, spec)) < 1.0


@pytest.mark.parametrize("radius", [10, 50, 200])
@pytest.mark.parametrize("center", [(960, 540), (400, 300)])
def test_spotlight_reveals_a_disc(center: tuple[int, int], radius: int) -> None:
    original = photo("coffee")
    filtered = apply_filter(original, FilterSpec())
    out, fraction = spotlight(filtered, original, center, radius)
    assert out.shape == original.shape  # gray filtered + RGB original -> RGB
    assert fraction == pytest.approx(math.pi * radius**2 / (1920 * 1080), rel=0.03)
    x, y = center
    assert np.array_equal(out[y, x], original[y, x])
    assert np.array_equal(
        out[y, x + radius + radius // 4 + 2], np.repeat(filtered[y, x + radius + radius // 4 + 2], 3)
    )
    assert np.array_equal(out[0, 0], np.repeat(filtered[0, 0], 3))


@pytest.mark.parametrize(
    "center, share",
    [((0, 0), 0.25), ((1920, 540), 0.5), ((960, -1000), 0.0), ((5000, 5000), 0.0)],
)
def test_spotlight_clips_at_the_edges(center: tuple[int, int], share: float) -> None:
    original = photo("rocket")
    filtered = apply_filter(original, FilterSpec(grayscale=False))
    out, fraction = spotlight(filtered, original, center, 300)
    expected = share * math.pi * 300**2 / (1920 * 1080)
    assert fraction == pytest.approx(expected, rel=0.03, abs=1e-4)
    if share == 0:
        assert np.array_equal(out, filtered)


def test_spotlight_edge_cases() -> None:
    original, filtered = (
        photo("chelsea", (320, 240)),
        apply_filter(photo("chelsea", (320, 240)), FilterSpec()),
    )
    out, fraction = spotlight(filtered, original, (160, 120), 0)
    assert fraction == 0.0 and out.shape == (240, 320, 3)
    gray = cv2.cvtColor(original, cv2.COLOR_RGB2GRAY)
    assert spotlight(filtered, gray, (160, 120), 50)[0].ndim == 2
    with pytest.raises(ValueError):
        spotlight(filtered, photo("chelsea", (160, 120)), (10, 10), 5)


@pytest.fixture(scope="module")
def jpeg_12mp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("img") / "12mp.jpg"
    Image.fromarray(photo("astronaut", (4000, 3000))).save(path, quality=90)
    return path


@pytest.mark.parametrize(
    "spec",
    [
        FilterSpec(),
        FilterSpec(blur=1),
        FilterSpec(blur=6),
        FilterSpec(blur=2, grayscale=False),
        FilterSpec(blur=0, pixelate=3),
        FilterSpec(blur=0, grayscale=False),
    ],
    ids=str,
)
def test_render_preview_equals_filtering_the_display_decode(jpeg_12mp: Path, spec: FilterSpec) -> None:
    """Decoding only what the filter can show must not change what is shown."""
    preview = render_preview(jpeg_12mp, spec)
    reference = apply_filter(decode_reduced(jpeg_12mp, HD), spec)
    assert preview.shape == reference.shape == ((1080, 1440) if spec.grayscale else (1080, 1440, 3))
    assert mean_abs_diff(preview, reference) < 1.0


@pytest.mark.parametrize("shape", [(90, 160), (90, 160, 3)])
def test_to_png_round_trips(tmp_path: Path, shape: tuple[int, ...]) -> None:
    array = photo("coffee", (160, 90))
    array = array if len(shape) == 3 else cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)
    path = tmp_path / "out \u00e9.png"  # non-ASCII on purpose
    to_png(array, path)
    assert np.array_equal(np.asarray(Image.open(path)), array)
