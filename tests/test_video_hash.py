"""vPDQ-style video hashing on real encoded videos, and the 80 % distinct-frame rule."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from moderator.hash_index import HashIndex
from moderator.video_hash import FrameHash, hash_video, sample_indices, video_matches
from tests.conftest import photo

FPS = 10


def make_video(path: Path, names: list[str], seconds_each: float, size: tuple[int, int]) -> Path:
    """Each photo held on screen for a while, drifting a pixel or two with sensor noise (a slideshow
    clip), composed at 320x240 and encoded at `size`."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, size)
    rng = np.random.default_rng(len(names))
    for name in names:
        base = cv2.resize(photo(name), (324, 244), interpolation=cv2.INTER_AREA)
        for i in range(round(seconds_each * FPS)):
            shift = i % 3
            frame = base[shift : shift + 240, shift : shift + 320].astype(np.int16)
            frame = np.clip(frame + rng.integers(-4, 5, frame.shape), 0, 255).astype(np.uint8)
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    scenes = ["astronaut", "coffee", "chelsea", "rocket"]
    return {
        "original": make_video(folder / "original.mp4", scenes, 1.5, (320, 240)),
        "reencoded": make_video(folder / "small.mp4", scenes, 1.5, (240, 180)),
        "unrelated": make_video(folder / "other.mp4", ["retina", "hubble_deep_field"], 3.0, (320, 240)),
    }


def bank_of(frames: list[FrameHash]) -> HashIndex:
    index = HashIndex(256)
    index.add([f.hex for f in frames])
    return index


def test_frames_are_sampled_once_a_second_and_deduplicated(videos):
    frames = hash_video(videos["original"])
    assert all(f.index % FPS == 0 for f in frames)
    assert [f.time_s for f in frames] == [f.index / FPS for f in frames]
    # Samples at 0..5 s show 4 scenes (two are held over two samples): one frame hash per scene.
    assert [f.index for f in frames] == [0, 20, 30, 50]
    assert all(f.usable for f in frames)


def test_video_matches_a_bank_of_its_own_frames(videos):
    bank = bank_of(hash_video(videos["original"]))
    result = video_matches(hash_video(videos["original"]), bank, threshold=31)
    assert result.matched and result.fraction == 1.0
    assert all(m.distance == 0 for m in result.matches)


def test_reencoded_smaller_copy_still_matches(videos):
    bank = bank_of(hash_video(videos["original"]))
    result = video_matches(hash_video(videos["reencoded"]), bank, threshold=31)
    assert result.matched, result.fraction


def test_unrelated_video_does_not_match(videos):
    bank = bank_of(hash_video(videos["original"]))
    result = video_matches(hash_video(videos["unrelated"]), bank, threshold=31)
    assert not result.matched and result.fraction == 0.0


def random_frames(rng: np.random.Generator, n: int, quality: int = 100) -> list[FrameHash]:
    return [FrameHash(i * 30, float(i), rng.bytes(32).hex(), quality) for i in range(n)]


@pytest.mark.parametrize(("in_bank", "matched"), [(10, True), (8, True), (7, False), (0, False)])
def test_eighty_percent_of_distinct_frames_must_match(in_bank, matched):
    rng = np.random.default_rng(in_bank)
    frames = random_frames(rng, 10)
    bank = bank_of(frames[:in_bank] + random_frames(rng, 50))
    result = video_matches(frames, bank, threshold=31)
    assert (result.matched, result.fraction, result.frames) == (matched, in_bank / 10, 10)


def test_repeated_and_low_quality_frames_do_not_count():
    rng = np.random.default_rng(1)
    frames = random_frames(rng, 4)
    dark = random_frames(rng, 6, quality=10)  # fades to black: no usable hash, never evidence
    repeats = [FrameHash(f.index + 300, f.time_s + 10, f.hex, f.quality) for f in frames]
    bank = bank_of(frames)
    result = video_matches(frames + dark + repeats, bank, threshold=31)
    assert (result.matched, result.frames, result.fraction) == (True, 4, 1.0)
    assert not video_matches(dark, bank, threshold=31).matched


def test_sample_indices():
    assert list(sample_indices(60, 10.0)) == [0, 10, 20, 30, 40, 50]
    assert list(sample_indices(5, 0.0)) == [0, 1, 2, 3, 4]  # unknown rate: every frame
    assert len(sample_indices(30 * 3600 * 2, 30.0, max_frames=600)) == 600
