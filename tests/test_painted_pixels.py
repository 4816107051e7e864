"""What the desk paints, read back from the real viewer widget: colourful, sharp photos and a video
are shown without colour and without fine detail by default, after every reveal ends, and on a
suspected-CSAM item whatever key is pressed; a held peek shows colour and detail (so these checks
can fail)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from moderator.ingest import import_paths
from moderator.settings import Settings
from tests.conftest import photo, write_image
from tests.desk_helpers import on_screen, open_desk, painted_picture, saturation, sharpness, sharpness_at

SETTINGS = Settings(reveal_seconds=0.3, palate_cleanser=False)
STILLS = {"astronaut.jpg": "astronaut", "chelsea.jpg": "chelsea", "coffee.png": "coffee"}
SCENES = ("astronaut", "coffee", "chelsea")
GRAY = 6  # most channel spread a painted grayscale pixel may have (a colour photo has > 100)
BLURRED = 0.05  # most sharpness a filtered picture may keep, as a share of the unfiltered one's


VIDEO_SIZE = (640, 360)


def scene(name: str) -> np.ndarray:
    """A photo as one scene of the test video: squeezed to the video's size."""
    return cv2.resize(photo(name), VIDEO_SIZE, interpolation=cv2.INTER_AREA)


def write_video(path: Path, scenes: list[np.ndarray], fps: int = 10, frames_per_scene: int = 15) -> Path:
    """An MPEG-4 clip, one still scene after another, written by cv2.VideoWriter."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, VIDEO_SIZE)
    for rgb in scenes:
        frame = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        for _ in range(frames_per_scene):
            writer.write(frame)
    writer.release()
    return path


def import_stills(store, work: Path) -> None:
    for file, name in STILLS.items():
        write_image(work / file, photo(name))
    import_paths(store, [work], "tester")


def import_locked(store, work: Path) -> None:
    write_image(work / "a.jpg", photo("astronaut"))
    (work / "m.jsonl").write_text(json.dumps({"path": "a.jpg", "category": "csam_suspected"}) + "\n")
    import_paths(store, [work / "m.jsonl"], "tester")


def import_clip(store, work: Path) -> None:
    import_paths(store, [write_video(work / "clip.mp4", [scene(n) for n in SCENES])], "tester")


def import_locked_clip(store, work: Path) -> None:
    write_video(work / "clip.mp4", [scene(n) for n in SCENES])
    (work / "m.jsonl").write_text(json.dumps({"path": "clip.mp4", "category": "csam_suspected"}) + "\n")
    import_paths(store, [work / "m.jsonl"], "tester")


def desk_on_copy(qtbot, store_templates, tmp_path, policy, name, build):
    """The desk on a copy of a template store, the mouse over the middle of the viewer."""
    store = store_templates.copy(name, build, tmp_path / "data")
    window = open_desk(qtbot, store, policy, SETTINGS)
    QTest.mouseMove(window.viewer, QPoint(window.viewer.width() // 2, window.viewer.height() // 2))
    return store, window


def _desk(qtbot, store_templates, tmp_path, policy, name, importer):
    store, window = desk_on_copy(qtbot, store_templates, tmp_path, policy, name, importer)
    yield window
    window.close()  # before the store closes (pytest-qt would close it too, but later)
    store.close()


@pytest.fixture
def desk(qtbot, store_templates, tmp_path, policy):
    yield from _desk(qtbot, store_templates, tmp_path, policy, "stills", import_stills)


@pytest.fixture
def locked_desk(qtbot, store_templates, tmp_path, policy):
    yield from _desk(qtbot, store_templates, tmp_path, policy, "locked", import_locked)


@pytest.fixture
def video_desk(qtbot, store_templates, tmp_path, policy):
    yield from _desk(qtbot, store_templates, tmp_path, policy, "clip", import_clip)


def source_of(window) -> np.ndarray:
    """The unfiltered photo of the item on screen, as the test wrote it (not as the desk decoded it)."""
    return photo(STILLS[window.reviewer.current.source_name])


def assert_filtered(painted: np.ndarray, unfiltered_sharpness: float) -> None:
    spread = np.percentile(saturation(painted), 99.9)
    assert spread <= GRAY, f"colour on screen: channel spread {spread:.0f}"
    ratio = sharpness(painted) / unfiltered_sharpness
    assert ratio < BLURRED, f"detail on screen: {ratio:.0%} of the unfiltered picture's sharpness"


def assert_unfiltered(painted: np.ndarray, unfiltered_sharpness: float) -> None:
    assert np.percentile(saturation(painted), 99) > 60, "a peek shows no colour"
    assert sharpness(painted) > 0.3 * unfiltered_sharpness, "a peek shows no detail"


# -- still images ---------------------------------------------------------------------------------
def test_every_still_is_painted_gray_and_blurred_by_default(qtbot, desk):
    seen = set()
    for _ in range(len(STILLS)):
        qtbot.waitUntil(lambda: on_screen(desk))
        painted = painted_picture(desk.viewer)
        assert_filtered(painted, sharpness_at(source_of(desk), painted.shape))
        seen.add(desk.reviewer.current.source_name)
        QTest.keyClick(desk.viewer, Qt.Key.Key_J)
    assert seen == set(STILLS)


def test_a_held_peek_paints_colour_and_detail_and_its_release_filters_again(qtbot, desk):
    before = painted_picture(desk.viewer)
    unfiltered = sharpness_at(source_of(desk), before.shape)
    assert_filtered(before, unfiltered)
    qtbot.keyPress(desk.viewer, Qt.Key.Key_Space)
    assert desk.viewer.peeking
    assert_unfiltered(painted_picture(desk.viewer), unfiltered)
    qtbot.keyRelease(desk.viewer, Qt.Key.Key_Space)
    assert_filtered(painted_picture(desk.viewer), unfiltered)


@pytest.mark.parametrize("key", [Qt.Key.Key_R, Qt.Key.Key_L], ids=["timed-reveal", "timed-spotlight"])
def test_a_timed_reveal_paints_colour_then_filters_again_by_itself(qtbot, desk, key):
    QTest.keyClick(desk.viewer, key)
    assert desk.reveal.kind is not None
    shown = painted_picture(desk.viewer)
    assert np.percentile(saturation(shown), 99) > 60  # colour while it lasts (the whole, or a circle)
    qtbot.waitUntil(lambda: desk.reveal.kind is None, timeout=5000)
    after = painted_picture(desk.viewer)
    assert_filtered(after, sharpness_at(source_of(desk), after.shape))


def test_a_held_peek_that_times_out_filters_again(qtbot, desk):
    qtbot.keyPress(desk.viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not desk.viewer.peeking, timeout=5000)  # the key is still down
    painted = painted_picture(desk.viewer)
    assert_filtered(painted, sharpness_at(source_of(desk), painted.shape))
    qtbot.keyRelease(desk.viewer, Qt.Key.Key_Space)


# Every key that reveals, spotlights or changes the blur; digits decide, so they are not here.
LOCK_KEYS = [Qt.Key.Key_Space, Qt.Key.Key_R, Qt.Key.Key_L, Qt.Key.Key_Alt,
             Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight]
BLUR_KEYS = {Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight}


@pytest.mark.parametrize("key", LOCK_KEYS, ids=lambda k: k.name.removeprefix("Key_"))
def test_suspected_csam_stays_gray_and_blurred_whatever_key_is_pressed(qtbot, locked_desk, key):
    viewer = locked_desk.viewer
    unfiltered = sharpness_at(photo("astronaut"), painted_picture(viewer).shape)
    assert_filtered(painted_picture(viewer), unfiltered)
    for _ in range(6 if key in BLUR_KEYS else 1):  # a blur key, pressed down to (or past) level 0
        qtbot.keyPress(viewer, key)
        qtbot.waitUntil(lambda: on_screen(locked_desk) and not locked_desk.runner.busy)
        assert_filtered(painted_picture(viewer), unfiltered)  # while the key is held
        qtbot.keyRelease(viewer, key)
        qtbot.waitUntil(lambda: on_screen(locked_desk) and not locked_desk.runner.busy)
        assert_filtered(painted_picture(viewer), unfiltered)


# -- video ----------------------------------------------------------------------------------------
def frame_number(viewer) -> int:
    """The frame the player shows, from the caption ("frame 12 / 45 · playing · no audio")."""
    words = viewer.caption.split()
    return int(words[1]) if words[:1] == ["frame"] else 0


def peeked(qtbot, window) -> np.ndarray:
    """What the viewer paints while Space is held (then released again)."""
    qtbot.keyPress(window.viewer, Qt.Key.Key_Space)
    assert window.viewer.peeking
    painted = painted_picture(window.viewer)
    qtbot.keyRelease(window.viewer, Qt.Key.Key_Space)
    return painted


def test_a_video_contact_sheet_is_painted_gray_and_blurred_and_a_peek_shows_it(qtbot, video_desk):
    sheet = painted_picture(video_desk.viewer)
    assert video_desk.viewer.prepared.frames == len(SCENES)
    unfiltered = peeked(qtbot, video_desk)
    assert_unfiltered(unfiltered, sharpness_at(scene("astronaut"), (unfiltered.shape[0] // 2, unfiltered.shape[1] // 2)))
    assert_filtered(sheet, sharpness(unfiltered))
    assert_filtered(painted_picture(video_desk.viewer), sharpness(unfiltered))  # after the peek


def test_stepped_and_played_video_frames_are_painted_gray_and_blurred(qtbot, video_desk):
    v = video_desk.viewer
    QTest.keyClick(v, Qt.Key.Key_Period)
    qtbot.waitUntil(lambda: v.caption.startswith("frame 1 /") and not video_desk.player._busy)
    frame = painted_picture(v)
    assert frame.shape[1] > frame.shape[0] * 1.6  # one 16:9 frame now, not the sheet
    unfiltered = peeked(qtbot, video_desk)
    assert_unfiltered(unfiltered, sharpness_at(scene("astronaut"), unfiltered.shape))
    assert_filtered(frame, sharpness(unfiltered))
    assert_filtered(painted_picture(v), sharpness(unfiltered))  # after the peek
    QTest.keyClick(v, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: frame_number(v) >= 20, timeout=10000)  # the second scene
    assert_filtered(painted_picture(v), sharpness_at(scene("coffee"), frame.shape))  # while it plays
    QTest.keyClick(v, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: "paused" in v.caption and not video_desk.player._busy)
    assert_filtered(painted_picture(v), sharpness_at(scene("coffee"), frame.shape))


@pytest.fixture
def locked_video_desk(qtbot, store_templates, tmp_path, policy):
    store, window = desk_on_copy(qtbot, store_templates, tmp_path, policy, "locked-clip", import_locked_clip)
    yield window
    window.close()
    store.close()


def test_a_suspected_csam_video_keeps_no_unfiltered_frame_and_never_paints_one(qtbot, locked_video_desk):
    v = locked_video_desk.viewer
    QTest.keyClick(v, Qt.Key.Key_Period)
    qtbot.waitUntil(lambda: v.caption.startswith("frame 1 /") and not locked_video_desk.player._busy)
    filtered, original = v._pictures
    assert original is None  # not decoded into a picture the viewer could ever paint
    before = painted_picture(v)
    unfiltered = sharpness_at(scene("astronaut"), before.shape)
    assert_filtered(before, unfiltered)
    qtbot.keyPress(v, Qt.Key.Key_Space)
    assert_filtered(painted_picture(v), unfiltered)  # a peek is refused: still the filtered frame
    qtbot.keyRelease(v, Qt.Key.Key_Space)
