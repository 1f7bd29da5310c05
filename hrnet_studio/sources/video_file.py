"""The one video-file reader: validated on open, read in order (export, labelling, benchmarks) or played and
sought (the app's player, calibration sampling). `stages.in_thread` reads it ahead for exports."""
from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import VideoError

# FFmpeg's own warnings on a broken file are noise next to our one-line message.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


TIME_FLAGS = ("gap", "repeat")  # a frame after missing time (> 1.5 frame intervals); one not after the last


@dataclass
class Frame:
    index: int
    timestamp_s: float  # seconds from the first frame: the container's presentation time where it has one
    image: np.ndarray  # BGR uint8 [H, W, 3]
    time_flag: str = ""  # "" or one of TIME_FLAGS (files only)
    capture_time: float = field(default_factory=time.monotonic)  # seconds, monotonic clock: when it was read


class VideoFileSource:
    """A video file, checked when opened: missing, empty or undecodable files raise ``VideoError``.

    ``read()`` gives the next ``Frame`` or ``None`` at the end; ``seek(index)`` moves to a frame; iterating gives
    every decodable frame from the first. ``timestamp_s`` is the frame's presentation time from the container
    (true times for variable-frame-rate phone videos), counted from the first frame; ``index / fps`` where the
    container has none. A frame that follows missing time, or does not come after the previous one, is flagged.
    """

    is_live = False  # the player's flag: a file gives every frame, in order (a camera drops stale ones)

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"video not found: {self.path}")
        if self.path.is_dir():
            raise VideoError(f"expected a video file, got a folder: {self.path}")
        if self.path.stat().st_size == 0:
            raise VideoError(f"video file is empty (0 bytes): {self.path}")
        cap = cv2.VideoCapture(str(self.path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None:
            cap.release()
            raise VideoError(f"{self.path.name} is not a video OpenCV can decode (wrong format or corrupt file)")
        self.name = self.path.name
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        if not (0 < self.fps < 1000):
            self.fps = 30.0
        self.frame_count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        self.height, self.width = first.shape[:2]
        self._cap, self._first = cap, first  # the frame decoded by the check is the first one served
        self._next = 0
        self.frames_read = 0  # the furthest frame decoded so far (for ``truncated``)
        self._start_ms = self._pts_ms()
        self._uses_pts = self._start_ms is not None
        self._first_time = 0.0
        self._last_time: float | None = None  # of the frame read before, for the flags (None after a seek)
        self._intervals: deque[float] = deque(maxlen=31)

    def read(self) -> Frame | None:
        """The next frame, or None at the end (or where the file stops decoding)."""
        if self._first is not None:
            image, self._first = self._first, None
            time_s = self._first_time
        else:
            ok, image = self._cap.read()
            if not ok or image is None:
                return None
            time_s = self._time_of(self._next)
        frame = Frame(self._next, time_s, image, self._flag(time_s))
        self._last_time = time_s
        self._next += 1
        self.frames_read = max(self.frames_read, self._next)
        return frame

    def seek(self, index: int) -> None:
        """Move to frame ``index`` (clamped to the video), so that ``read()`` gives it next."""
        index = max(0, min(int(index), max(self.frame_count - 1, 0)))
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._first = None
        self._next = index
        self._last_time = None

    def _pts_ms(self) -> float | None:
        value = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        return value if math.isfinite(value) and value >= 0 else None

    def _time_of(self, index: int) -> float:
        """Seconds from the first frame for the frame just decoded."""
        pts = self._pts_ms() if self._uses_pts else None
        if pts is not None and index > 0 and pts == self._start_ms and self._last_time == 0.0:
            self._uses_pts = False  # a backend that reports no times: every frame says the first one's
            pts = None
        return (pts - self._start_ms) / 1000.0 if pts is not None else index / self.fps

    def _flag(self, time_s: float) -> str:
        """``repeat`` for a time not after the last frame's; ``gap`` for an interval over 1.5 × the usual one (the
        median of the last 31, as a variable frame rate drifts; ``1 / fps`` until there are three)."""
        if self._last_time is None:
            return ""
        interval = time_s - self._last_time
        if interval <= 0:
            return "repeat"
        usual = float(np.median(self._intervals)) if len(self._intervals) >= 3 else 1.0 / self.fps
        self._intervals.append(interval)
        return "gap" if interval > 1.5 * usual else ""

    @property
    def position(self) -> int:
        """The index of the frame ``read()`` gives next."""
        return self._next

    def __iter__(self) -> Iterator[Frame]:
        """Every decodable frame from the first, in order; stops at the end or at the first frame that fails."""
        if self._next:
            self.seek(0)
        while (frame := self.read()) is not None:
            yield frame

    @property
    def truncated(self) -> bool:
        """True when fewer frames decoded than the container announced (a cut or damaged file)."""
        return self.frame_count > 0 and self.frames_read < self.frame_count

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
