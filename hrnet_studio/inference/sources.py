"""The one video-file reader: validated on open, read in order (export, labelling, benchmarks) or played and
sought (the app's player, calibration sampling). `stages.in_thread` reads it ahead for exports."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import VideoError

# FFmpeg's own warnings on a broken file are noise next to our one-line message.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


@dataclass
class Frame:
    index: int
    timestamp_s: float
    image: np.ndarray  # BGR uint8


class VideoFileSource:
    """A video file, checked when opened: missing, empty or undecodable files raise ``VideoError``.

    ``read()`` gives the next ``Frame`` (BGR uint8, ``timestamp_s = index / fps``) or ``None`` at the end;
    ``seek(index)`` moves to a frame; iterating gives every decodable frame from the first.
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

    def read(self) -> Frame | None:
        """The next frame, or None at the end (or where the file stops decoding)."""
        if self._first is not None:
            image, self._first = self._first, None
        else:
            ok, image = self._cap.read()
            if not ok or image is None:
                return None
        frame = Frame(self._next, self._next / self.fps, image)
        self._next += 1
        self.frames_read = max(self.frames_read, self._next)
        return frame

    def seek(self, index: int) -> None:
        """Move to frame ``index`` (clamped to the video), so that ``read()`` gives it next."""
        index = max(0, min(int(index), max(self.frame_count - 1, 0)))
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        self._first = None
        self._next = index

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
