"""Keypoint writers: CSV (one row per person per frame), COCO-results JSON, overlay video.

Each writes through the atomic writer: a hidden part file beside the target. ``finish()`` flushes it to
disk and checks it (the step that can fail), ``publish()`` renames it into place; an export finishes
every file before it publishes any, so a failed or interrupted export leaves no file that looks
complete. A failed write raises ``WriteError`` naming the file.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from ..atomic_writer import (
    AtomicFile,
    PartFileWriter,
    WriteError,
    check_destination,
    discard,
    finish,
    part_path,
)
from ..errors import StudioError
from ..skeletons import KeypointSet
from .pipeline import FrameResult

BOX_COLUMNS = ["frame", "time_s", "time_flag", "person_id", "box_x1", "box_y1", "box_x2", "box_y2", "box_score"]


def csv_header(keypoints: KeypointSet) -> list[str]:
    return BOX_COLUMNS + [f"{name}_{c}" for name in keypoints.names for c in ("x", "y", "score")]


class CsvExporter:
    """Rows ``frame, time_s, time_flag, person_id, box…, <joint>_x, <joint>_y, <joint>_score…``: ``time_s`` in
    seconds (the frame's presentation time), ``time_flag`` ``gap`` after missing time or ``repeat`` for a time
    that does not advance (empty otherwise), box corners (x1, y1, x2, y2) and joints in frame pixels (2 decimals),
    scores 0-1 (4 decimals); ``person_id`` is the track ID (or the person's place in the frame when tracking is
    off).

    A frame with nobody in it gets one row with only ``frame``, ``time_s`` and ``time_flag`` filled, so
    every frame of the video appears in the file. ``write`` each ``FrameResult``, then ``finish`` (everything
    written and checked) and ``publish`` (the file appears under its name), or ``abort`` (nothing appears).
    """

    def __init__(self, path: str | Path, keypoints: KeypointSet):
        self.path = check_destination(path)
        self._out = AtomicFile(self.path)
        self._writer = csv.writer(self._out)
        self._header = csv_header(keypoints)
        self._writer.writerow(self._header)

    def write(self, result: FrameResult) -> None:
        head = [result.frame_index, f"{result.timestamp_s:.4f}", result.time_flag]
        if not result.persons:
            self._writer.writerow(head + [""] * (len(self._header) - len(head)))
            return
        for slot, p in enumerate(result.persons):
            person_id = p.track_id if p.track_id >= 0 else slot
            values = np.concatenate([p.keypoints, p.scores[:, None]], axis=1).reshape(-1)
            self._writer.writerow(
                head + [person_id] + [f"{v:.2f}" for v in p.bbox] + [f"{p.box_score:.4f}"]
                + [f"{v:.2f}" if i % 3 != 2 else f"{v:.4f}" for i, v in enumerate(values)]
            )

    def finish(self) -> None:
        self._out.finish()

    def publish(self) -> Path:
        return self._out.publish()

    def abort(self) -> None:
        self._out.abort()


class CocoJsonExporter:
    """COCO keypoint results: ``image_id`` = frame index, ``category_id`` 1, ``keypoints`` [x, y, s]×K (frame
    pixels, score 0-1), ``score`` the official rescoring (``scoring.pose_score``), ``bbox`` [x, y, w, h] pixels,
    ``track_id`` when tracking. Same ``write``/``finish``/``publish``/``abort`` cycle as ``CsvExporter``.

    Streamed: each result goes to the part file as it comes, so memory stays flat over any length of video; the
    file is one JSON list, the same bytes ``json.dumps`` gives for the whole list."""

    def __init__(self, path: str | Path, keypoints: KeypointSet):
        self.path = check_destination(path)
        self._out = AtomicFile(self.path)
        self._out.write("[")
        self.count = 0

    def write(self, result: FrameResult) -> None:
        for p in result.persons:
            kpts = np.concatenate([p.keypoints, p.scores[:, None]], axis=1).reshape(-1)
            entry = {
                "image_id": result.frame_index,
                "category_id": 1,
                "keypoints": [round(float(v), 3) for v in kpts],
                "score": round(p.pose_score(), 5),
                "bbox": [round(float(v), 2) for v in (p.bbox[0], p.bbox[1], p.bbox[2] - p.bbox[0], p.bbox[3] - p.bbox[1])],
            }
            if p.track_id >= 0:
                entry["track_id"] = p.track_id
            self._out.write((", " if self.count else "") + json.dumps(entry))
            self.count += 1

    def finish(self) -> None:
        self._out.write("]")
        self._out.finish()

    def publish(self) -> Path:
        return self._out.publish()

    def abort(self) -> None:
        self._out.abort()


class OverlayVideoExporter(PartFileWriter):
    """An mp4 of the input with skeletons drawn (frames come already drawn: BGR uint8 [H, W, 3] of ``size``
    (width, height) pixels, at ``fps`` frames per second).

    OpenCV's writer reports no errors (a full disk only prints warnings), so ``finish`` reads the
    finished file's header back: a file without its index, or with fewer frames than were written,
    is a ``WriteError``.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]):
        self.path = check_destination(path)
        self.part = part_path(self.path, keep_suffix=True)  # OpenCV picks the container from the suffix
        self.frames = 0
        self._writer = cv2.VideoWriter(str(self.part), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            discard(self.part)
            raise StudioError(f"cannot create the overlay video {self.path} (no mp4 encoder available)")

    def write_frame(self, frame_bgr: np.ndarray) -> None:
        self._writer.write(frame_bgr)
        self.frames += 1

    def finish(self) -> None:
        self._writer.release()
        found = video_frame_count(self.part)
        if found != self.frames:
            discard(self.part)
            cause = (f"the encoder stored {found} of {self.frames} frames" if found is not None
                     else "no space left on device" if shutil.disk_usage(self.part.parent).free < 1 << 20
                     else "the video file is incomplete (the encoder failed)")
            raise WriteError(self.path, cause)
        finish(self.part, self.path)

    def abort(self) -> None:
        self._writer.release()
        discard(self.part)


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
    """Whether the mp4's top-level boxes include ``moov``, the index a muxer writes last (read, not decoded)."""
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
