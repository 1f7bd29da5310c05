"""Keypoint writers: CSV (one row per person per frame), COCO-results JSON, overlay video.

Each writes to a temporary file beside the target and renames it into place only on
``commit()``, so an interrupted export never leaves a file that looks complete.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import StudioError
from ..skeletons import KeypointSet
from .pipeline import FrameResult

BOX_COLUMNS = ["frame", "time_s", "person_id", "box_x1", "box_y1", "box_x2", "box_y2", "box_score"]


def csv_header(keypoints: KeypointSet) -> list[str]:
    return BOX_COLUMNS + [f"{name}_{c}" for name in keypoints.names for c in ("x", "y", "score")]


class AtomicOutput:
    """A ``<name>.part`` file that becomes ``<name>`` on commit and disappears on abort."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise StudioError(f"output path is a folder: {self.path}")
        if not self.path.parent.exists():
            raise StudioError(f"output folder does not exist: {self.path.parent}")
        if not os.access(self.path.parent, os.W_OK):
            raise StudioError(f"cannot write to the output folder: {self.path.parent}")
        self.part = self.path.with_name(f".{self.path.name}.part")

    def commit(self) -> None:
        os.replace(self.part, self.path)

    def abort(self) -> None:
        self.part.unlink(missing_ok=True)


class CsvExporter(AtomicOutput):
    """Rows ``frame, time_s, person_id, box…, <joint>_x, <joint>_y, <joint>_score…``.

    A frame with nobody in it gets one row with only ``frame`` and ``time_s`` filled, so
    every frame of the video appears in the file.
    """

    def __init__(self, path: str | Path, keypoints: KeypointSet):
        super().__init__(path)
        self._file = open(self.part, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._header = csv_header(keypoints)
        self._writer.writerow(self._header)

    def write(self, result: FrameResult) -> None:
        head = [result.frame_index, f"{result.timestamp_s:.4f}"]
        if not result.persons:
            self._writer.writerow(head + [""] * (len(self._header) - 2))
            return
        for slot, p in enumerate(result.persons):
            person_id = p.track_id if p.track_id >= 0 else slot
            values = np.concatenate([p.keypoints, p.scores[:, None]], axis=1).reshape(-1)
            self._writer.writerow(
                head + [person_id] + [f"{v:.2f}" for v in p.bbox] + [f"{p.box_score:.4f}"]
                + [f"{v:.2f}" if i % 3 != 2 else f"{v:.4f}" for i, v in enumerate(values)]
            )

    def commit(self) -> None:
        self._file.close()
        super().commit()

    def abort(self) -> None:
        self._file.close()
        super().abort()


class CocoJsonExporter(AtomicOutput):
    """COCO keypoint results: ``image_id`` = frame index, ``category_id`` 1, ``keypoints`` [x, y, s]×K."""

    def __init__(self, path: str | Path, keypoints: KeypointSet):
        super().__init__(path)
        self.results: list[dict] = []

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
            self.results.append(entry)

    def commit(self) -> None:
        with open(self.part, "w", encoding="utf-8") as f:
            json.dump(self.results, f)
        super().commit()


class OverlayVideoExporter(AtomicOutput):
    """An mp4 of the input with skeletons drawn (frames come already drawn)."""

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]):
        super().__init__(path)
        self.part = self.part.with_suffix(".mp4")  # OpenCV picks the container from the suffix
        self._writer = cv2.VideoWriter(str(self.part), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            raise StudioError(f"cannot create the overlay video {self.path} (no mp4 encoder available)")

    def write_frame(self, frame_bgr: np.ndarray) -> None:
        self._writer.write(frame_bgr)

    def commit(self) -> None:
        self._writer.release()
        super().commit()

    def abort(self) -> None:
        self._writer.release()
        super().abort()
