"""One preview pipeline (blurring.preview.prepare) for the viewer, the CLI and the grid: the filtered
picture always; the original only on request, and never for an item whose policy allows no reveal."""

from __future__ import annotations

import gc
import json
import types
from dataclasses import replace

import numpy as np
import pytest

from blurring.errors import MediaError
from blurring.preview import Original, prepare, render_preview
from moderator.domain import CSAM_FLOOR, FilterSpec, Reveal
from moderator.ingest import import_paths
from tests.conftest import photo, write_image
from tests.desk_helpers import open_desk
from tests.test_animated_media import frames, saturation, write_animation
from tests.test_viewing_rules import item

PEEK_ONLY = FilterSpec(blur=4, reveal=Reveal.PEEK)
BOX = (640, 480)


def arrays_held_by(obj) -> list[np.ndarray]:
    """Every numpy array reachable from obj (closures included; module globals and types are not
    followed): what the object keeps alive."""
    seen, found, todo = set(), [], [obj]
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, (type, types.ModuleType)):
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            found.append(o)
        elif isinstance(o, types.FunctionType):
            todo += [c.cell_contents for c in (o.__closure__ or ())] + list(o.__defaults__ or ())
        else:
            todo += gc.get_referents(o)
    return found


@pytest.fixture
def jpeg(tmp_path):
    return write_image(tmp_path / "a.jpg", photo("astronaut"))


@pytest.fixture
def video(tmp_path):
    from moderator.demo import _write_video

    _write_video(tmp_path / "clip.mp4", [photo("astronaut"), photo("coffee")])
    return tmp_path / "clip.mp4"


# -- reveal "none": nothing unfiltered is made or kept ----------------------------------------------
@pytest.mark.parametrize("load_original", [False, True])
def test_a_csam_image_prepares_no_original_and_holds_no_unfiltered_pixels(jpeg, load_original):
    p = prepare(jpeg, CSAM_FLOOR, BOX, load_original=load_original)
    assert p.original is None
    assert p.filtered.shape == (480, 480)  # gray, at display size (the 512 px square fitted in BOX)
    held = arrays_held_by(p)
    assert len(held) == 1 and held[0] is p.filtered


def test_a_csam_original_is_not_even_decoded_later(jpeg):
    """Nothing in the result can decode the file: with the file gone there is still no error and no
    original, where a revealable item's original then fails to load."""
    csam, normal = prepare(jpeg, CSAM_FLOOR, BOX), prepare(jpeg, FilterSpec(), BOX)
    jpeg.unlink()
    assert csam.original is None
    with pytest.raises(MediaError, match="file not found"):
        normal.original.load()


@pytest.mark.parametrize("ext", ["gif", "webp"])
@pytest.mark.parametrize("load_original", [False, True])
def test_a_csam_animation_keeps_only_its_filtered_sheet(tmp_path, ext, load_original):
    path = write_animation(tmp_path / f"a.{ext}", frames())
    p = prepare(path, CSAM_FLOOR, (960, 540), load_original=load_original)
    assert p.original is None and p.frames >= 4
    held = arrays_held_by(p)
    assert len(held) == 1 and held[0] is p.filtered


def test_a_csam_video_keeps_only_its_filtered_sheet(video):
    p = prepare(video, CSAM_FLOOR, (960, 540), load_original=True)
    assert p.original is None and p.is_video and p.frames == 2
    assert [a is p.filtered for a in arrays_held_by(p)] == [True]


# -- revealable items: the original on request ------------------------------------------------------
@pytest.mark.parametrize("spec", [FilterSpec(), PEEK_ONLY, FilterSpec(blur=0, grayscale=False)])
def test_a_revealable_image_gives_its_original_on_request(jpeg, spec):
    p = prepare(jpeg, spec, BOX)
    assert isinstance(p.original, Original) and not p.original.loaded
    rgb = p.original.load()
    assert rgb.ndim == 3 and rgb.shape[:2] == p.filtered.shape[:2]  # a reveal lines up with the filter
    assert saturation(rgb).max() > 100 and p.original.load() is rgb  # colour, decoded once


def test_the_original_is_decoded_when_asked_not_when_prepared(tmp_path):
    path = write_image(tmp_path / "a.png", photo("astronaut"))
    p = prepare(path, FilterSpec(), BOX)
    assert arrays_held_by(p) == [p.filtered]  # no unfiltered pixels until someone asks
    red = np.zeros_like(photo("astronaut"))
    red[..., 0] = 255
    write_image(path, red)  # the same size, other pixels: what load() shows was read just now
    assert (p.original.load()[..., 0] > 250).all() and (p.original.load()[..., 1] < 5).all()
    assert len(arrays_held_by(p)) == 2  # and once loaded it is kept (the helper sees it there)


@pytest.mark.parametrize("ext", ["gif", "png", "tiff"])
def test_an_animation_reveals_a_colour_sheet_of_the_same_frames(tmp_path, ext):
    p = prepare(write_animation(tmp_path / f"a.{ext}", frames()), FilterSpec(), (960, 540))
    sheet = p.original.load()
    assert p.frames >= 4 and not p.is_video and p.filtered.ndim == 2
    assert sheet.shape[:2] == p.filtered.shape[:2] and saturation(sheet).max() > 100


@pytest.mark.parametrize("spec", [FilterSpec(), FilterSpec(blur=1, grayscale=False), FilterSpec(style="drawing", blur=0)])
def test_loading_the_original_up_front_filters_the_same_picture(jpeg, spec):
    """The viewer's one-decode path (filter from the display-size original) matches the lazy one."""
    lazy, eager = prepare(jpeg, spec, BOX), prepare(jpeg, spec, BOX, load_original=True)
    assert eager.original.loaded and eager.filtered.shape == lazy.filtered.shape
    diff = np.abs(eager.filtered.astype(np.int16) - lazy.filtered.astype(np.int16))
    assert diff.mean() < 1.0 and np.array_equal(eager.original.load(), lazy.original.load())


def test_render_preview_is_the_filtered_half_of_prepare(jpeg, video):
    for path in (jpeg, video):
        assert np.array_equal(render_preview(path, FilterSpec(), BOX), prepare(path, FilterSpec(), BOX).filtered)


# -- the viewer's adapter ---------------------------------------------------------------------------
def test_the_viewers_pictures_hold_no_original_for_csam(qtbot, jpeg):
    from ui.images import prepare as prepare_qimages

    it = replace(item("csam_suspected"), media_path=str(jpeg))
    csam = prepare_qimages(it, CSAM_FLOOR, BOX)
    assert csam.original is None and csam.filtered.isGrayscale()
    normal = prepare_qimages(it, FilterSpec(), BOX)
    assert normal.original is not None and not normal.original.isGrayscale()
    assert normal.original.size() == normal.filtered.size()


def test_the_desk_shows_suspected_csam_without_an_original(qtbot, store, policy, tmp_path):
    write_image(tmp_path / "a.jpg", photo("astronaut"))
    write_image(tmp_path / "b.jpg", photo("coffee"))
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"path": "a.jpg", "category": "csam_suspected", "priority": 9}, {"path": "b.jpg"}]) + "\n")
    import_paths(store, [tmp_path / "m.jsonl"], "tester")
    window = open_desk(qtbot, store, policy)
    shown = window.viewer.prepared
    assert window.reviewer.current.category == "csam_suspected"
    assert shown.spec.reveal is Reveal.NONE and shown.original is None and shown.filtered.isGrayscale()
    window.reviewer.move(1)
    qtbot.waitUntil(lambda: window.viewer.prepared is not None and window.viewer.prepared.item_id != shown.item_id)
    assert window.viewer.prepared.original is not None  # a normal item can still be peeked at
    window.runner.wait()
