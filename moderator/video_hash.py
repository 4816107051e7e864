"""vPDQ-style video hashing: PDQ of frames sampled about once a second, and the 80 % frame-match rule.

An animated image (GIF, WebP, APNG, multi-page TIFF) is hashed the same way, but every frame, not
one a second (`hash_animation`): its frames are few (blurring.frames.MAX_FRAMES) and each is a
picture on its own, so matching queries each distinct frame like a still image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from blurring.decode import iter_frames, probe_image
from blurring.video import FrameReader
from moderator.hash_index import HashIndex
from moderator.signals import HASH_MAX_SIDE, PDQ, PDQ_MIN_QUALITY

SAMPLE_FPS = 1.0  # vPDQ's usual rate: scene content rarely changes faster, and cost stays linear
MAX_FRAMES = 600  # a 2-hour video is sampled more sparsely rather than taking minutes to hash
# Consecutive samples this close are the same picture held on screen: PDQ's own decode drift is up
# to 10 bits (docs/perf/hashing.md), so below it two frames cannot be told apart by matching anyway.
DEDUPE_DISTANCE = 10
MIN_FRACTION = 0.8


@dataclass(frozen=True)
class FrameHash:
    index: int  # frame number in the stream
    time_s: float
    hex: str
    quality: int

    @property
    def usable(self) -> bool:
        return self.quality >= PDQ_MIN_QUALITY


@dataclass(frozen=True)
class FrameMatch:
    """Evidence: a query frame and its nearest bank frame hash."""

    frame: FrameHash
    bank_id: int
    distance: int


@dataclass(frozen=True)
class VideoMatch:
    matched: bool
    fraction: float  # matched distinct usable frames / distinct usable frames
    frames: int  # distinct usable frames considered
    matches: tuple[FrameMatch, ...]


def sample_indices(frame_count: int, fps: float, max_frames: int = MAX_FRAMES) -> range:
    """Frame numbers to hash: about SAMPLE_FPS per second, at most max_frames in all."""
    step = max(1, round(fps / SAMPLE_FPS)) if fps > 0 else 1
    step = max(step, math.ceil(frame_count / max_frames))
    return range(0, frame_count, step)


def hash_video(path: str | Path, max_frames: int = MAX_FRAMES) -> list[FrameHash]:
    """PDQ of sampled frames, in time order, dropping each one within DEDUPE_DISTANCE of the last kept.

    Low-quality frames (black, fades) are kept with their quality; matching ignores them.
    """
    kept: list[FrameHash] = []
    with FrameReader(path, max_size=(HASH_MAX_SIDE, HASH_MAX_SIDE)) as reader:
        fps = reader.info.fps
        for index in sample_indices(reader.info.frame_count, fps, max_frames):
            result = PDQ.hash_pixels(reader.read(index))
            if kept and PDQ.distance(kept[-1].hex, result.hex) <= DEDUPE_DISTANCE:
                continue
            time_s = index / fps if fps > 0 else 0.0
            kept.append(FrameHash(index, round(time_s, 3), result.hex, int(result.quality or 0)))
    return kept


def hash_animation(path: str | Path) -> list[FrameHash]:
    """PDQ of every frame of an animated image, deduplicated as `hash_video` does; [] for an image
    with one frame (its PDQ is the image's). MediaError for a file that is not a readable image."""
    if probe_image(path).frames < 2:
        return []
    kept: list[FrameHash] = []
    for index, time_s, rgb in iter_frames(path, (HASH_MAX_SIDE, HASH_MAX_SIDE)):
        keep_distinct(kept, index, time_s, PDQ.hash_pixels(rgb))
    return kept


def keep_distinct(kept: list[FrameHash], index: int, time_s: float | None, result) -> None:
    """Append a frame's PDQ unless it repeats the frame before (within DEDUPE_DISTANCE): the one rule
    for every frame sequence, however its frames were decoded."""
    if kept and PDQ.distance(kept[-1].hex, result.hex) <= DEDUPE_DISTANCE:
        return
    kept.append(FrameHash(index, time_s, result.hex, int(result.quality or 0)))


def distinct_frames(frame_hashes: Sequence[FrameHash]) -> list[FrameHash]:
    """Usable frames with each exact hash once: a shot that returns is one piece of content, not two."""
    seen: set[str] = set()
    out = []
    for fh in frame_hashes:
        if fh.usable and fh.hex not in seen:
            seen.add(fh.hex)
            out.append(fh)
    return out


def video_matches(
    frame_hashes: Sequence[FrameHash],
    bank_hashes_index: HashIndex,
    threshold: int = PDQ.default_threshold,
    min_fraction: float = MIN_FRACTION,
) -> VideoMatch:
    """A video matches when at least min_fraction of its distinct usable frames are within threshold
    of some frame hash in the bank index; a video with no usable frame never matches."""
    frames = distinct_frames(frame_hashes)
    if not frames:
        return VideoMatch(False, 0.0, 0, ())
    results = bank_hashes_index.query_many([f.hex for f in frames], threshold)
    matches = tuple(FrameMatch(f, *hits[0]) for f, hits in zip(frames, results, strict=True) if hits)
    fraction = len(matches) / len(frames)
    return VideoMatch(fraction >= min_fraction, fraction, len(frames), matches)
