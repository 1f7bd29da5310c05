"""The overlay video: H.264 in mp4 through PyAV (whose wheels carry libx264), playable in browsers and slide
software; OpenCV's mp4v only when H.264 cannot be had, with a one-line note saying so.

Written to a hidden part file like every output: ``finish`` closes the file and reads its index back (a file
without one, or with fewer frames than were written, is a ``WriteError``), ``publish`` renames it into place.
"""
from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..atomic_writer import (
    PartFileWriter,
    WriteError,
    check_destination,
    discard,
    finish,
    part_path,
)
from ..errors import StudioError, first_line

H264_CRF = "21"  # visually clean overlays at a few Mbit/s for 720p
H264_PRESET = "veryfast"  # leaves the cores to the pose model


class OverlayVideoExporter(PartFileWriter):
    """An mp4 of the input with skeletons drawn (frames come already drawn: BGR uint8 [H, W, 3] of ``size``
    (width, height) pixels, at ``fps`` frames per second). ``codec`` is ``h264`` (or ``mp4v`` after a fallback);
    ``note`` says why when the fallback was taken."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int], prefer_h264: bool = True):
        self.path = check_destination(path)
        self.part = part_path(self.path, keep_suffix=True)  # the container follows the suffix
        self.frames = 0
        self.note: str | None = None
        self._writer: _H264Writer | _Mp4vWriter | None = None
        if prefer_h264:
            try:
                self._writer, self.codec = _H264Writer(self.part, fps, size), "h264"
            except Exception as exc:  # no PyAV, no libx264, or an option this FFmpeg refuses: fall back
                discard(self.part)
                self.note = (f"H.264 is not available here ({first_line(exc)}): the overlay video is mp4v, which "
                             f"browsers do not play")
        if self._writer is None:
            self._writer, self.codec = _Mp4vWriter(self.part, fps, size), "mp4v"

    def write_frame(self, frame_bgr: np.ndarray) -> None:
        try:
            self._writer.write(frame_bgr)
        except OSError as exc:
            raise WriteError(self.path, first_line(exc)) from None
        self.frames += 1

    def finish(self) -> None:
        try:
            self._writer.release()
        except OSError:
            pass  # judged below by what reached the file
        found = video_frame_count(self.part)
        if found != self.frames:
            discard(self.part)
            cause = (f"the encoder stored {found} of {self.frames} frames" if found is not None
                     else "no space left on device" if shutil.disk_usage(self.part.parent).free < 1 << 20
                     else "the video file is incomplete (the encoder failed)")
            raise WriteError(self.path, cause)
        finish(self.part, self.path)

    def abort(self) -> None:
        try:
            self._writer.release()
        except OSError:
            pass
        discard(self.part)


class _H264Writer:
    """libx264 through PyAV: yuv420p (what browsers decode), an even frame size (odd ones get one edge pixel
    repeated), the index at the front of the file (``+faststart``, playable while it downloads)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import av

        self.size = size
        self.even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
        self.container = av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            self.stream = self.container.add_stream("libx264", rate=Fraction(fps).limit_denominator(100_000),
                                                    options={"crf": H264_CRF, "preset": H264_PRESET})
            self.stream.width, self.stream.height = self.even
            self.stream.pix_fmt = "yuv420p"
            self.stream.codec_context.thread_count = 1  # the pose model owns the thread budget
            self.stream.codec_context.open()
        except BaseException:
            self.container.close()
            raise

    def write(self, frame_bgr: np.ndarray) -> None:
        import av

        if self.even != self.size:
            frame_bgr = cv2.copyMakeBorder(frame_bgr, 0, self.even[1] - self.size[1], 0, self.even[0] - self.size[0],
                                           cv2.BORDER_REPLICATE)
        try:
            self.container.mux(self.stream.encode(av.VideoFrame.from_ndarray(frame_bgr, format="bgr24")))
        except av.FFmpegError as exc:
            raise OSError(str(exc)) from None

    def release(self) -> None:
        import av

        if self.container is None:
            return
        container, self.container = self.container, None
        try:
            container.mux(self.stream.encode())  # the frames the encoder still holds
        except av.FFmpegError as exc:
            raise OSError(str(exc)) from None
        finally:
            container.close()


class _Mp4vWriter:
    """OpenCV's MPEG-4 part 2 writer, the fallback. It reports no errors (a full disk only prints warnings): the
    index check in ``finish`` catches what it lost."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            discard(path)
            raise StudioError(f"cannot create the overlay video {path.name.lstrip('.')} (no mp4 encoder available)")

    def write(self, frame_bgr: np.ndarray) -> None:
        self.writer.write(frame_bgr)

    def release(self) -> None:
        self.writer.release()


def video_frame_count(path: Path) -> int | None:
    """Frames in a finished mp4 as its index says (no decoding); None without an index (a write cut short)."""
    if not _has_mp4_index(path):
        return None
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return None
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        return count if count >= 0 else None
    finally:
        capture.release()


def _has_mp4_index(path: Path) -> bool:
    """Whether the mp4's top-level boxes include ``moov``, the index a muxer writes (read, not decoded)."""
    try:
        with open(path, "rb") as f:
            while True:
                header = f.read(8)
                if len(header) < 8:
                    return False
                size, kind = int.from_bytes(header[:4], "big"), header[4:]
                if kind == b"moov":
                    return True
                if size == 1:  # a 64-bit size follows
                    size = int.from_bytes(f.read(8), "big") - 8
                if size < 8:
                    return False
                f.seek(size - 8, 1)
    except OSError:
        return False
