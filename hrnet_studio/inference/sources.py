"""Frame sources for export. A video file is validated up front; `stages.in_thread` reads it ahead."""
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
    """A video file, checked when opened: missing, empty or undecodable files raise ``VideoError``."""

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
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        if not (0 < self.fps < 1000):
            self.fps = 30.0
        self.frame_count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        self.height, self.width = first.shape[:2]
        self._cap, self._first = cap, first
        self.frames_read = 0

    def __iter__(self) -> Iterator[Frame]:
        """Every decodable frame, in order; stops at the end or at the first frame that fails."""
        cap, image = self._cap, self._first
        self._first = None
        if image is None:  # a second pass: start again
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = cap.read()
            image = image if ok else None
        index = 0
        while image is not None:
            yield Frame(index, index / self.fps, image)
            index += 1
            self.frames_read = index
            ok, image = cap.read()
            if not ok:
                image = None

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
