"""blurring.video and video previews on real video files written by OpenCV in the test."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from blurring.errors import MediaError
from blurring.preview import media_kind, render_preview
from blurring.video import FrameReader, VideoInfo, contact_sheet, keyframes, probe_video
from moderator.domain import FilterSpec, MediaKind

SIZE = (320, 180)
FPS = 10
SCENES = ["astronaut", "coffee", "chelsea"]  # 2 s each
CODECS = {"mp4": "mp4v", "avi": "MJPG"}


@cache
def scene_photo(name: str) -> np.ndarray:
    """The photo at twice the frame size, so the camera has room to pan across it."""
    rgb = getattr(data, name)()
    return cv2.resize(rgb, (SIZE[0] * 2, SIZE[1] * 2), interpolation=cv2.INTER_AREA)


def scene_frame(name: str, i: int, frames: int) -> np.ndarray:
    """Frame i of a shot that pans right across the photo while a white ball moves."""
    x = i * SIZE[0] // frames
    frame = scene_photo(name)[SIZE[1] // 2 : SIZE[1] // 2 + SIZE[1], x : x + SIZE[0]].copy()
    cv2.circle(frame, ((20 + 10 * i) % SIZE[0], 40), 12, (255, 255, 255), -1)
    return frame


def write_video(path: Path, scenes: list[str], seconds: float = 2) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*CODECS[path.suffix[1:]]), FPS, SIZE)
    assert writer.isOpened()
    frames = int(seconds * FPS)
    for name in scenes:
        for i in range(frames):
            writer.write(cv2.cvtColor(scene_frame(name, i, frames), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("video")
    out = {ext: write_video(d / f"three_scenes.{ext}", SCENES) for ext in CODECS}
    out["one_shot"] = write_video(d / "one_shot.avi", ["rocket"], seconds=4)
    whole = out["mp4"].read_bytes()
    out["truncated"] = d / "truncated.mp4"  # OpenCV writes the index (moov) last: this has none
    out["truncated"].write_bytes(whole[: len(whole) // 2])
    out["garbage"] = d / "garbage.mp4"
    out["garbage"].write_bytes(whole[:32] + np.random.default_rng(1).bytes(20_000))
    out["text"] = d / "x.mp4"
    out["text"].write_text("this is not a video\n")
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    a = cv2.resize(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), (64, 36), interpolation=cv2.INTER_AREA)
    b = cv2.resize(cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), (64, 36), interpolation=cv2.INTER_AREA)
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("ext", list(CODECS))
def test_probe_video(videos, ext: str) -> None:
    assert probe_video(videos[ext]) == VideoInfo(
        width=320, height=180, fps=10.0, frame_count=60, duration_s=6.0
    )
    assert media_kind(videos[ext])[0] is MediaKind.VIDEO


@pytest.mark.parametrize("ext", list(CODECS))
def test_keyframes_one_per_scene(videos, ext: str) -> None:
    frames = keyframes(videos[ext])
    assert [k.index for k in frames] == [0, 20, 40]
    assert [k.time_s for k in frames] == [0.0, 2.0, 4.0]
    for keyframe, name in zip(frames, SCENES, strict=True):
        assert keyframe.rgb.shape == (180, 320, 3)
        scores = {other: similarity(keyframe.rgb, scene_frame(other, 0, 20)) for other in SCENES}
        assert max(scores, key=scores.get) == name and scores[name] > 0.9


@pytest.mark.parametrize("max_frames, expected", [(1, [0]), (2, [0, 20]), (3, [0, 20, 40])])
def test_keyframes_never_exceed_max_frames(videos, max_frames: int, expected: list[int]) -> None:
    picked = [k.index for k in keyframes(videos["mp4"], max_frames=max_frames)]
    assert len(picked) == max_frames and picked[0] == 0
    assert set(picked) <= {0, 20, 40}  # the cuts are kept before anything else
    if max_frames == 2:  # both cuts are equally strong: either one will do
        assert picked in ([0, 20], [0, 40])
    else:
        assert picked == expected


@pytest.mark.parametrize(
    "fill_every_s, expected", [(10.0, [0]), (1.0, [0, 10, 20, 30]), (0.5, list(range(0, 40, 5)))]
)
def test_keyframes_fill_a_long_shot_evenly(videos, fill_every_s: float, expected: list[int]) -> None:
    assert [k.index for k in keyframes(videos["one_shot"], fill_every_s=fill_every_s)] == expected


def test_keyframes_fit_max_size(videos) -> None:
    frames = keyframes(videos["avi"], max_size=(100, 100))
    assert {k.rgb.shape for k in frames} == {(56, 100, 3)}
    with pytest.raises(ValueError):
        keyframes(videos["avi"], max_frames=0)


@pytest.mark.parametrize(
    "n, max_size, cols, shape",
    [
        (3, (1920, 1080), None, (364, 644, 3)),  # 2 x 2, frames at full size: closest to 16:9
        (3, (1920, 1080), 3, (180, 968, 3)),
        (12, (1920, 1080), None, (548, 1292, 3)),  # 4 x 3 at full size
        (12, (640, 360), None, (272, 640, 3)),  # must shrink: 4 x 3 cells of 157 x 88
        (1, (100, 100), None, (56, 100, 3)),
    ],
)
def test_contact_sheet_layout(n: int, max_size, cols, shape) -> None:
    frames = [scene_frame(SCENES[i % 3], i, 20) for i in range(n)]
    sheet = contact_sheet(frames, max_size=max_size, cols=cols)
    assert sheet.shape == shape
    assert sheet.shape[1] <= max_size[0] and sheet.shape[0] <= max_size[1]


def test_contact_sheet_places_frames_in_reading_order() -> None:
    frames = [scene_frame(name, 0, 20) for name in SCENES]
    sheet = contact_sheet(frames, gap=4)
    assert np.array_equal(sheet[:180, :320], frames[0])
    assert np.array_equal(sheet[:180, 324:644], frames[1])
    assert np.array_equal(sheet[184:, :320], frames[2])
    assert np.all(sheet[184:, 324:] == sheet[180, 0])  # the empty cell is background
    gray = contact_sheet([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    assert gray.ndim == 2 and gray.shape == sheet.shape[:2]
    with pytest.raises(ValueError):
        contact_sheet([])


def test_frame_reader_seeks_and_steps(videos) -> None:
    with FrameReader(videos["avi"], max_size=SIZE) as reader:
        assert reader.position == -1
        sequential = [reader.next() for _ in range(60)]
        assert similarity(sequential[0], scene_frame(SCENES[0], 0, 20)) > 0.95  # starts at frame 0
        assert reader.next() is None and reader.position == 59
        for index in (33, 5, 59, 12, 0):  # forward, backward, the ends
            assert np.array_equal(reader.read(index), sequential[index])
        assert np.array_equal(reader.step(7), sequential[7]) and reader.position == 7
        assert np.array_equal(reader.step(-3), sequential[4])
        assert reader.step(-10) is None
        with pytest.raises(IndexError):
            reader.read(60)
        cap = reader._cap
    assert not cap.isOpened()  # released on exit


def test_frame_reader_reduces_size(videos) -> None:
    with FrameReader(videos["mp4"], max_size=(160, 160)) as reader:
        assert reader.read(30).shape == (90, 160, 3)
        assert reader.info.width == 320  # info keeps the real size


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("truncated", "not a readable video"),
        ("garbage", "not a readable video"),
        ("text", "not an image or video (bytes look like text)"),
        ("missing", "file not found"),
        ("image", "not a video (image/png)"),  # FFmpeg would play a PNG as a one-frame video
    ],
)
def test_bad_videos_raise_media_error(videos, tmp_path, bad: str, reason: str) -> None:
    path = videos.get(bad, tmp_path / "nowhere.mp4")
    if bad == "image":
        path = tmp_path / "still.mp4"
        path.write_bytes(cv2.imencode(".png", scene_photo("coffee"))[1].tobytes())
    for check in (probe_video, keyframes, FrameReader):
        with pytest.raises(MediaError) as caught:
            check(path)
        assert caught.value.reason == reason


def test_text_named_mp4_is_refused_by_its_bytes(videos) -> None:
    with pytest.raises(MediaError, match=r"^not an image or video \(bytes look like text\)$"):
        render_preview(videos["text"], FilterSpec())


@pytest.mark.parametrize("grayscale", [True, False])
def test_render_preview_of_a_video_is_a_filtered_sheet(videos, grayscale: bool) -> None:
    spec = FilterSpec(blur=3, grayscale=grayscale)
    sheet = render_preview(videos["mp4"], spec, max_size=(1280, 720))
    assert sheet.shape == ((364, 644) if grayscale else (364, 644, 3))
    raw = contact_sheet([k.rgb for k in keyframes(videos["mp4"], max_size=(640, 360))])
    assert sheet.shape[:2] == raw.shape[:2]
    cell = (slice(0, 180), slice(0, 320))
    sharp = cv2.Laplacian(cv2.cvtColor(raw, cv2.COLOR_RGB2GRAY)[cell], cv2.CV_64F).var()
    blurred = cv2.Laplacian(
        (sheet if grayscale else cv2.cvtColor(sheet, cv2.COLOR_RGB2GRAY))[cell], cv2.CV_64F
    ).var()
    assert blurred < 0.05 * sharp
