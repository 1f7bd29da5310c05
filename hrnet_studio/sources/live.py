"""Frame sources for interactive viewing: a video file (the one reader, ``sources.VideoFileSource``), a camera,
an image folder, and a simulated camera (a file paced in real time that can "disconnect") for tests and
benchmarks. ``open_source`` turns what the user picked into one of them.

All share one small interface: ``read()`` gives the next ``Frame`` or ``None`` at the end, and a
camera that stops delivering raises ``SourceError``. Files can also ``seek``.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2

from ..errors import StudioError, VideoError, os_error_cause
from .video_file import Frame, VideoFileSource

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


class SourceError(StudioError):
    """A live source failed while running (camera unplugged, stream cut)."""


class LiveSource(Protocol):
    name: str
    is_live: bool  # a camera: drop stale frames; a file: every frame, in order
    fps: float
    frame_count: int  # 0 when unknown / endless

    def read(self) -> Frame | None: ...

    def seek(self, index: int) -> None: ...

    def close(self) -> None: ...


class ImageFolderSource:
    """The images of a folder in name order, played like a video at ``fps``."""

    is_live = False

    def __init__(self, folder: str | Path, fps: float = 10.0):
        self.path = Path(folder)
        if not self.path.is_dir():
            raise VideoError(f"not a folder: {self.path}")
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise VideoError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {self.path}")
        self.name, self.fps, self.frame_count = self.path.name, fps, len(self.files)
        self._next = 0

    def read(self) -> Frame | None:
        while self._next < len(self.files):
            index = self._next
            self._next += 1
            image = cv2.imread(str(self.files[index]), cv2.IMREAD_COLOR)
            if image is not None:  # an unreadable image is skipped, not fatal
                return Frame(index, index / self.fps, image)
        return None

    def seek(self, index: int) -> None:
        self._next = max(0, min(int(index), len(self.files) - 1))

    @property
    def position(self) -> int:
        return self._next

    def close(self) -> None:
        pass


class CameraSource:
    """A webcam by index, or a network stream by URL (``rtsp://``, ``http://``…, through FFmpeg). Several failed reads
    in a row mean it is gone: ``SourceError``."""

    is_live = True
    frame_count = 0
    MAX_FAILED_READS = 10

    def __init__(self, index: int | str, backend: int | None = None):
        self.index = index
        url = isinstance(index, str)
        if backend is None:
            backend = cv2.CAP_FFMPEG if url else camera_backend()
        self._cap = cv2.VideoCapture(index, backend)
        self.name = f"stream {index}" if url else f"camera {index}"
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"stream {index} cannot be opened (wrong address, or nothing is sending)" if url else
                              f"camera {index} cannot be opened (in use by another program, or not connected)")
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        self._start = time.monotonic()
        self._next = 0

    def read(self) -> Frame | None:
        for _ in range(self.MAX_FAILED_READS):
            ok, image = self._cap.read()
            if ok and image is not None:
                caught = camera_time(self._cap.get(cv2.CAP_PROP_POS_MSEC), time.monotonic())
                frame = Frame(self._next, caught - self._start, image, capture_time=caught)
                self._next += 1
                return frame
            time.sleep(0.02)
        raise SourceError(f"{self.name} stopped delivering frames (disconnected?)")

    def seek(self, index: int) -> None:
        pass

    def close(self) -> None:
        self._cap.release()


def camera_time(position_ms: float, read_at: float, window_s: float = 1.0) -> float:
    """When a camera caught a frame, in seconds on the monotonic clock (``time.monotonic``): the camera's own
    timestamp when the backend gives one on that clock (Linux's V4L2 stamps each buffer when the driver received it,
    on CLOCK_MONOTONIC, and OpenCV reports it as ``CAP_PROP_POS_MSEC``), else ``read_at``, the moment the read
    returned. A timestamp counts as the camera's only when it is no later than the read and at most ``window_s``
    before it: other backends report a position since the stream began, or nothing (0)."""
    stamped = position_ms / 1000.0
    return stamped if 0.0 <= read_at - stamped <= window_s else read_at


class PacedVideoCamera:
    """A video file behaving like a camera: frames come in real time whether or not anyone reads
    them (so slow readers miss frames), and it can "disconnect" after a number of frames."""

    is_live = True
    frame_count = 0

    def __init__(self, path: str | Path, fps: float | None = None, disconnect_after: int | None = None,
                 loop: bool = True, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self._video = VideoFileSource(path)
        self.fps = fps or self._video.fps
        self.name = f"simulated camera ({self._video.name})"
        self.disconnect_after = disconnect_after
        self.loop = loop
        self._clock, self._sleep = clock, sleep  # seconds; a test passes its own
        self._start = clock()
        self._last = -1

    def read(self) -> Frame | None:
        elapsed = self._clock() - self._start
        due = int(elapsed * self.fps)  # the frame the "sensor" shows now
        if due <= self._last:  # the next frame is not out yet: wait for it
            due = self._last + 1
            self._sleep(max(0.0, due / self.fps - elapsed))
        if self.disconnect_after is not None and due >= self.disconnect_after:
            raise SourceError(f"{self.name} stopped delivering frames (disconnected?)")
        count = self._video.frame_count
        target = due % count if self.loop and count else due
        if target != self._video.position:
            self._video.seek(target)
        frame = self._video.read()
        if frame is None:
            return None
        self._last = due
        return Frame(due, due / self.fps, frame.image)

    def seek(self, index: int) -> None:
        pass

    def close(self) -> None:
        self._video.close()


@dataclass
class CameraInfo:
    index: int
    width: int
    height: int

    @property
    def label(self) -> str:
        return f"Camera {self.index} ({self.width}x{self.height})"


def camera_backend() -> int:
    """V4L2 on Linux (the generic choice also tries exotic backends that print errors); else any."""
    return cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY


def probe_cameras(max_index: int = 4) -> list[CameraInfo]:
    """Cameras that open, with their default resolution. Quick on machines without cameras."""
    found = []
    for index in range(max_index):
        if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
            continue
        cap = cv2.VideoCapture(index, camera_backend())
        try:
            if cap.isOpened():
                found.append(CameraInfo(index, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                        int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))))
        finally:
            cap.release()
    return found


def open_source(spec: str | Path) -> LiveSource:
    """A path to a video or an image folder, or ``camera:N``; ``VideoError``/``SourceError`` when it cannot
    be opened (one line)."""
    text = str(spec)
    if text.startswith("camera:"):
        return CameraSource(int(text.split(":", 1)[1]))
    path = Path(text)
    try:
        if path.is_dir():
            return ImageFolderSource(path)
        return VideoFileSource(path)
    except OSError as exc:  # no permission, a network drive gone
        raise SourceError(f"cannot open {path}: {os_error_cause(exc)}") from None


def open_live(spec: str, fps: float | None = None) -> LiveSource:
    """What ``hrnet-studio live`` reads: a camera index (``0``), a stream URL (``rtsp://…``) or a video file, which is
    played at its own pace (or ``fps``) like a camera, once; ``SourceError``/``VideoError`` in one line."""
    text = str(spec)
    if text.isdigit():
        return CameraSource(int(text))
    if "://" in text:
        return CameraSource(text)
    path = Path(text)
    if path.is_dir():
        raise SourceError(f"{path} is a folder: live reads a camera, a stream or a video file")
    try:
        source = PacedVideoCamera(path, fps=fps, loop=False)
    except OSError as exc:
        raise SourceError(f"cannot open {path}: {os_error_cause(exc)}") from None
    source.name = f"{path.name} (played at its own pace)"
    return source
