"""Video frames at reduced size: probing, keyframes at scene changes, a contact sheet, and a reader.

An animated image (GIF, WebP, APNG, multi-page TIFF) gets keyframes by the same scene-change rule
(`animation_keyframes`), its frames decoded by Pillow through blurring.decode.iter_frames.

OpenCV (FFmpeg backend) decodes the picture stream only; audio is never decoded. A long video is
sampled by grabbing (decode without colour conversion) and seeking, never converted frame by frame.

Memory: a frame is decoded at full size (FFmpeg's picture, then OpenCV's BGR copy, ~6 bytes a
pixel), so frames over MAX_FRAME_PIXELS (36 MP: 8K DCI 8192x4320 fits) are refused from the
container's header before the first frame is decoded; a 16000x16000 MJPEG would take ~1.9 GB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from blurring.decode import iter_frames, probe_image
from blurring.errors import MediaError
from blurring.sniff import sniff_file
from moderator.domain import MediaKind

Size = tuple[int, int]  # (width, height)

# Forward jumps up to this many frames are grabbed; longer ones seek. A seek restarts decoding at
# the previous keyframe, which costs about as much as grabbing a second of video.
_GRAB_LIMIT = 30
# Scene-change detection looks at this many evenly spaced frames at most, at this tiny size.
_CANDIDATES = 96
_HIST_SIZE = (128, 72)
# Bhattacharyya distance between colour histograms of consecutive samples above which a cut is
# declared: moving content in one shot stays well below it, a change of scene is far above.
_CUT_DISTANCE = 0.3
_SHEET_BACKGROUND = 24
# An animation with more than one frame shows at least this many (or all it has), even without a
# cut: each frame is a picture someone chose to show, and one hidden behind a benign first frame
# must not stay hidden because its colours resemble the first.
_MIN_ANIMATION_FRAMES = 4
MAX_FRAME_PIXELS = 36_000_000


@dataclass(frozen=True)
class VideoInfo:
    width: int  # as displayed (OpenCV applies the rotation metadata)
    height: int
    fps: float
    frame_count: int
    duration_s: float


@dataclass(frozen=True, eq=False)
class Keyframe:
    index: int
    time_s: float
    rgb: np.ndarray


def probe_video(path: str | Path) -> VideoInfo:
    """Size, rate and length; MediaError if OpenCV cannot open it or decode a first frame."""
    with FrameReader(path, max_size=_HIST_SIZE) as reader:
        return reader.info


class FrameReader:
    """Frames of one video, RGB uint8 fitted inside max_size; a context manager that releases the
    decoder. `read(i)` seeks, `next()` / `step(n)` move from the last frame read and return None
    past either end."""

    def __init__(self, path: str | Path, max_size: Size = (960, 540)) -> None:
        # Only containers the sniffer knows reach FFmpeg, which would otherwise open anything it
        # has a demuxer for (still images, playlists that name other files).
        kind, mime = sniff_file(path)
        if kind is not MediaKind.VIDEO:
            raise MediaError(f"not a video ({mime})")
        self.max_size = max_size
        self._cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        self._pos = -1  # index of the last frame returned to the caller
        self._decoded = -1  # index of the last frame the decoder produced
        try:
            self.info = self._probe()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def position(self) -> int:
        """Index of the last frame returned (-1 before the first)."""
        return self._pos

    def close(self) -> None:
        self._cap.release()

    def read(self, index: int) -> np.ndarray:
        if not 0 <= index < self.info.frame_count:
            raise IndexError(f"frame {index} outside 0..{self.info.frame_count - 1}")
        return _fit(self._read_bgr(index), self.max_size)

    def next(self) -> np.ndarray | None:
        return self.step(1)

    def step(self, n: int) -> np.ndarray | None:
        index = self._pos + n
        if not 0 <= index < self.info.frame_count:
            return None
        return self.read(index)

    def _read_bgr(self, index: int) -> np.ndarray:
        gap = index - self._decoded
        if gap <= 0 or gap > _GRAB_LIMIT:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        else:
            for _ in range(gap - 1):
                self._cap.grab()
        ok, frame = self._cap.read()
        if not ok or frame is None:
            raise MediaError(f"cannot decode video frame {index}")
        self._pos = self._decoded = index
        return frame

    def _probe(self) -> VideoInfo:
        if not self._cap.isOpened():
            raise MediaError("not a readable video")
        # Opening parses headers only; the first read() allocates the frame, so refuse before it.
        _check_frame_size(int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
                          int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0))
        ok, first = self._cap.read()
        if not ok or first is None:
            raise MediaError("video has no decodable frame")
        _check_frame_size(first.shape[1], first.shape[0])  # a header that understated the size
        self._decoded = 0
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = fps if math.isfinite(fps) and fps > 0 else 0.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if count <= 0:  # a stream without an index: count by grabbing, once
            count = self._count_frames()
        duration = count / fps if fps else 0.0
        return VideoInfo(first.shape[1], first.shape[0], fps, count, duration)

    def _count_frames(self) -> int:
        count = 1
        while self._cap.grab():
            count += 1
        self._decoded = count - 1
        return count


def _check_frame_size(width: int, height: int) -> None:
    if width * height > MAX_FRAME_PIXELS:
        raise MediaError(f"video frames too large: {width}x{height} exceeds {MAX_FRAME_PIXELS / 1_000_000:g} MP")


def keyframes(
    path: str | Path, max_frames: int = 12, max_size: Size = (480, 270), *, fill_every_s: float = 10.0
) -> list[Keyframe]:
    """Frames that show what the video contains, in time order: the first frame, the first frame
    of each scene (colour-histogram cuts), and, when there are few cuts, evenly spaced frames so
    that no stretch longer than ~fill_every_s goes unseen. Never more than max_frames."""
    if max_frames < 1:
        raise ValueError("max_frames must be at least 1")
    with FrameReader(path, max_size=_HIST_SIZE) as reader:
        info = reader.info
        samples = _sample_indices(info.frame_count, _CANDIDATES)
        hists = _histograms(reader, samples)
    samples = samples[: len(hists)]
    fill_target = min(max_frames, max(1, math.ceil(info.duration_s / fill_every_s)))
    picks = _pick(_cut_strengths(hists), len(samples), max_frames, fill_target)
    with FrameReader(path, max_size=max_size) as reader:
        return [_keyframe(reader, samples[p], info.fps) for p in picks]


def animation_keyframes(
    path: str | Path, max_frames: int = 12, max_size: Size = (480, 270), *, fill_every_s: float = 1.0
) -> list[Keyframe]:
    """Keyframes of an animated image, as `keyframes` picks them for a video (the first frame, scene
    cuts, evenly spaced fill), but filling at least _MIN_ANIMATION_FRAMES and one per fill_every_s.
    A still image gives its one frame. Two passes over the frames: tiny ones for the cuts, then
    the picks at max_size."""
    if max_frames < 1:
        raise ValueError("max_frames must be at least 1")
    samples = _sample_indices(probe_image(path).frames, _CANDIDATES)
    sampled = list(iter_frames(path, _HIST_SIZE, indices=samples))
    hists = [_histogram(rgb) for _i, _t, rgb in sampled]
    duration = sampled[-1][1]
    fill_target = min(max_frames, max(_MIN_ANIMATION_FRAMES, math.ceil(duration / fill_every_s)))
    picks = _pick(_cut_strengths(hists), len(samples), max_frames, fill_target)
    chosen = iter_frames(path, max_size, indices=[samples[p] for p in picks])
    return [Keyframe(index=i, time_s=t, rgb=rgb) for i, t, rgb in chosen]


def contact_sheet(
    frames: list[np.ndarray], max_size: Size = (1920, 1080), cols: int | None = None, gap: int = 4
) -> np.ndarray:
    """A grid of frames inside max_size (cells never upscale frames), in reading order.

    Gray (H, W) when every frame is gray, else RGB (H, W, 3); the cell shape is the first frame's
    and other shapes are letterboxed. cols=None picks the layout with the largest cells.
    """
    if not frames:
        raise ValueError("contact_sheet needs at least one frame")
    fh, fw = frames[0].shape[:2]
    cols = cols or _best_cols(len(frames), (fw, fh), max_size, gap)
    rows = math.ceil(len(frames) / cols)
    scale = min(_cell_scale(cols, rows, (fw, fh), max_size, gap), 1.0)
    cw, ch = max(1, int(fw * scale)), max(1, int(fh * scale))
    gray = all(f.ndim == 2 for f in frames)
    shape = (rows * ch + gap * (rows - 1), cols * cw + gap * (cols - 1)) + (() if gray else (3,))
    sheet = np.full(shape, _SHEET_BACKGROUND, np.uint8)
    for i, frame in enumerate(frames):
        top, left = (i // cols) * (ch + gap), (i % cols) * (cw + gap)
        if not gray and frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        sheet[top : top + ch, left : left + cw] = _letterbox(frame, (cw, ch))
    return sheet


def _sample_indices(frame_count: int, limit: int) -> list[int]:
    if frame_count <= limit:
        return list(range(frame_count))
    return sorted({round(x) for x in np.linspace(0, frame_count - 1, limit)})


def _histograms(reader: FrameReader, samples: list[int]) -> list[np.ndarray]:
    """Histograms of the samples up to the first that does not decode: a container's frame count
    can be an estimate that overshoots the end by a frame or two."""
    hists: list[np.ndarray] = []
    for index in samples:
        try:
            hists.append(_histogram(reader.read(index)))
        except MediaError:
            if not hists:
                raise
            break
    return hists


def _histogram(rgb: np.ndarray) -> np.ndarray:
    hist = cv2.calcHist([rgb], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256])
    return cv2.normalize(hist, None, alpha=1.0, norm_type=cv2.NORM_L1)


def _cut_strengths(hists: list[np.ndarray]) -> dict[int, float]:
    """{sample position: distance to the previous sample} for every cut."""
    cuts = {}
    for pos in range(1, len(hists)):
        distance = cv2.compareHist(hists[pos - 1], hists[pos], cv2.HISTCMP_BHATTACHARYYA)
        if distance > _CUT_DISTANCE:
            cuts[pos] = distance
    return cuts


def _pick(cuts: dict[int, float], n_samples: int, max_frames: int, fill_target: int) -> list[int]:
    """Sample positions to show: 0, the strongest cuts, then midpoints of the widest gaps."""
    strongest = sorted(cuts, key=cuts.get, reverse=True)[: max_frames - 1]
    picks = sorted({0, *strongest})
    while len(picks) < fill_target:
        bounds = [*picks, n_samples]
        width, start = max((b - a, a) for a, b in zip(bounds, bounds[1:], strict=False))
        if width < 2:
            break
        picks = sorted({*picks, start + width // 2})
    return picks


def _keyframe(reader: FrameReader, index: int, fps: float) -> Keyframe:
    return Keyframe(index=index, time_s=index / fps if fps else 0.0, rgb=reader.read(index))


def _best_cols(n: int, frame: Size, max_size: Size, gap: int) -> int:
    """Columns giving the largest cells; among layouts that need no downscale, the one whose
    shape is closest to max_size's."""
    target = math.log(max_size[0] / max_size[1])

    def score(cols: int) -> tuple[float, float]:
        rows = math.ceil(n / cols)
        scale = min(_cell_scale(cols, rows, frame, max_size, gap), 1.0)
        sheet = (cols * frame[0] * scale + gap * (cols - 1)) / (rows * frame[1] * scale + gap * (rows - 1))
        return scale, -abs(math.log(sheet) - target)

    return max(range(1, n + 1), key=score)


def _cell_scale(cols: int, rows: int, frame: Size, max_size: Size, gap: int) -> float:
    width = (max_size[0] - gap * (cols - 1)) / (cols * frame[0])
    height = (max_size[1] - gap * (rows - 1)) / (rows * frame[1])
    return max(0.0, min(width, height))


def _letterbox(img: np.ndarray, size: Size) -> np.ndarray:
    fitted = _fit_rgb_or_gray(img, size)
    h, w = fitted.shape[:2]
    if (w, h) == size:
        return fitted
    cell = np.full((size[1], size[0]) + img.shape[2:], _SHEET_BACKGROUND, np.uint8)
    top, left = (size[1] - h) // 2, (size[0] - w) // 2
    cell[top : top + h, left : left + w] = fitted
    return cell


def _fit_rgb_or_gray(img: np.ndarray, size: Size) -> np.ndarray:
    h, w = img.shape[:2]
    scale = min(size[0] / w, size[1] / h)
    target = (max(1, min(size[0], round(w * scale))), max(1, min(size[1], round(h * scale))))
    if target == (w, h):
        return img
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, target, interpolation=interp)


def _fit(bgr: np.ndarray, max_size: Size) -> np.ndarray:
    """BGR frame -> RGB inside max_size (resize first: the colour swap then touches fewer pixels)."""
    h, w = bgr.shape[:2]
    scale = min(max_size[0] / w, max_size[1] / h, 1.0)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
