"""Filtered video playback: frames are decoded and filtered on a worker, one at a time, no audio.

Starts paused on the contact sheet; `play` runs at the video's frame rate, dropping frames when
decoding falls behind rather than queueing them; `step` moves one frame. The reveal rules are the
viewer's, so a frame is never shown unfiltered unless a reveal spell is on.

The decoder (an OpenCV VideoCapture) is opened, read and released only on a worker, under one lock:
`detach` bumps a generation and queues the release, so a read still queued for the old item never
opens a decoder again, and none is left open when the window closes.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer

from blurring.filters import apply_filter
from blurring.video import FrameReader
from moderator.domain import FilterSpec, Item, MediaKind, Reveal
from ui.images import to_qimage
from ui.tasks import TaskRunner
from ui.viewer import MediaViewer


class VideoPlayer(QObject):
    def __init__(self, runner: TaskRunner, viewer: MediaViewer, parent: QObject | None = None):
        super().__init__(parent)
        self._runner, self._viewer = runner, viewer
        self._lock = threading.Lock()  # one decoder, used by one worker at a time
        self._reader: FrameReader | None = None
        self._reader_path: str | None = None
        self._generation = 0  # bumped by detach: reads asked for before it are dropped
        self._read_asked = False  # a read since the last detach, so a decoder may be open
        self._item: Item | None = None
        self._spec: FilterSpec | None = None
        self._index = -1
        self._count = 0
        self._busy = False
        self.playing = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_timer_tick)

    @property
    def active(self) -> bool:
        return self._item is not None

    def attach(self, item: Item | None, spec: FilterSpec | None) -> None:
        """Follow the current item: a video can be played, anything else detaches."""
        if item is not None and self._item is not None and item.id == self._item.id and spec == self._spec:
            return
        self.detach()
        if item is not None and item.kind is MediaKind.VIDEO:
            self._item, self._spec = item, spec

    def detach(self) -> None:
        self.pause()
        self._item, self._spec, self._index, self._count = None, None, -1, 0
        self._busy = False
        self._generation += 1
        if self._read_asked:
            self._read_asked = False
            self._runner.run(self._release_reader)  # queued after any read still pending

    def toggle_play(self) -> None:
        if not self.active:
            return
        if self.playing:
            self.pause()
            self._caption()
            return
        self.playing = True
        fps = self._reader.info.fps if self._reader else 10.0
        self._timer.start(int(1000 / max(1.0, min(fps or 10.0, 30.0))))
        self._request(self._index + 1)

    def pause(self) -> None:
        self.playing = False
        self._timer.stop()

    def step(self, n: int) -> None:
        if self.active:
            self.pause()
            self._request(max(0, self._index + n))

    # -- internals ----------------------------------------------------------------------------
    def _on_timer_tick(self) -> None:
        if not self._busy:
            self._request(self._index + 1)

    def _request(self, index: int) -> None:
        if self._busy or self._item is None:
            return
        if self._count and index >= self._count:
            self.pause()
            self._caption()
            return
        self._busy = True
        item, spec, generation = self._item, self._spec, self._generation
        self._read_asked = True
        self._runner.run(lambda: self._read(item, spec, index, generation),
                         lambda result: self._on_frame(generation, result),
                         lambda exc: self._on_error(generation, exc))

    def _read(self, item: Item, spec: FilterSpec, index: int, generation: int):
        with self._lock:
            if generation != self._generation:  # detached meanwhile: never open a decoder again
                return None
            if self._reader is None or self._reader_path != item.media_path:
                self._release_locked()
                self._reader = FrameReader(item.media_path, max_size=(1280, 720))
                self._reader_path = item.media_path
            rgb = self._reader.read(min(index, self._reader.info.frame_count - 1))
            count = self._reader.info.frame_count
        # A never-reveal item (suspected CSAM) keeps no unfiltered frame, not even off screen.
        original = None if spec.reveal is Reveal.NONE else to_qimage(rgb)
        return index, count, to_qimage(apply_filter(rgb, spec)), original

    def _on_frame(self, generation: int, result) -> None:
        if generation != self._generation:  # asked for before a detach (the result is None)
            return
        self._busy = False
        self._index, self._count, filtered, original = result
        self._viewer.show_frame(filtered, original, self._caption_text())
        if self.playing and self._index >= self._count - 1:
            self.pause()
            self._caption()

    def _on_error(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._busy = False
        self.pause()
        self._viewer.caption = f"cannot play: {getattr(exc, 'reason', exc)}"
        self._viewer.update()

    def _caption(self) -> None:
        self._viewer.caption = self._caption_text()
        self._viewer.update()

    def _caption_text(self) -> str:
        state = "playing" if self.playing else "paused"
        return f"frame {self._index + 1} / {self._count} · {state} · no audio"

    def _release_reader(self) -> None:
        with self._lock:
            self._release_locked()

    def _release_locked(self) -> None:
        reader, self._reader, self._reader_path = self._reader, None, None
        if reader is not None:
            reader.close()
