"""Person detection: any Ultralytics YOLO model (detect or pose: its boxes), or the full frame.

Ultralytics is kept offline: no update checks, no automatic pip installs, and weights
are only ever read from an explicit local file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import DetectorError, first_line

for _name, _value in (("YOLO_OFFLINE", "1"), ("YOLO_AUTOINSTALL", "false"), ("YOLO_VERBOSE", "false")):
    os.environ.setdefault(_name, _value)


@dataclass
class Detections:
    boxes: np.ndarray  # float32 [N, 4] x1, y1, x2, y2 in frame pixels
    scores: np.ndarray  # float32 [N]

    def __len__(self) -> int:
        return len(self.boxes)


class PersonDetector(Protocol):
    name: str

    def detect(self, frame_bgr: np.ndarray) -> Detections: ...


class FullFrameDetector:
    """One box covering the whole frame: for a single person in front of a camera."""

    name = "full frame"

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        h, w = frame_bgr.shape[:2]
        return Detections(np.array([[0, 0, w, h]], dtype=np.float32), np.ones(1, dtype=np.float32))


class YoloPersonDetector:
    """Ultralytics YOLO restricted to the *person* class."""

    def __init__(
        self,
        weights: str | Path,
        conf: float = 0.4,
        iou: float = 0.5,
        device: str = "cpu",
        imgsz: int = 640,
        max_det: int = 100,
    ):
        path = Path(weights)
        if not path.exists():
            raise DetectorError(f"detector weights not found: {path}")
        try:
            from ultralytics import YOLO

            self.model = YOLO(str(path), task=_task_for(path))
            names = self.model.names
        except Exception as exc:  # Ultralytics raises many types; all mean "cannot use this file"
            raise DetectorError(f"cannot load detector {path.name}: {first_line(exc)}") from None
        persons = [i for i, n in names.items() if str(n).lower() == "person"]
        if not persons:
            raise DetectorError(f"detector {path.name} has no 'person' class (classes: {list(names.values())[:5]}...)")
        self.person_class = persons[0]
        self.conf, self.iou, self.imgsz, self.max_det = conf, iou, imgsz, max_det
        self.device = "cpu" if device == "cpu" else (0 if device in ("cuda", "auto") else device)
        self.name = path.name

    def detect(self, frame_bgr: np.ndarray) -> Detections:
        result = self.model.predict(
            frame_bgr,
            conf=self.conf,
            iou=self.iou,
            classes=[self.person_class],
            imgsz=self.imgsz,
            max_det=self.max_det,
            device=self.device,
            verbose=False,
        )[0]
        boxes = result.boxes
        return Detections(
            boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
            boxes.conf.cpu().numpy().astype(np.float32).reshape(-1),
        )


def _task_for(path: Path) -> str | None:
    # Exported models (OpenVINO folders, ONNX) do not always say their task; a detect model is the usual one.
    return None if path.suffix == ".pt" else "detect"


def make_detector(
    spec: str | None,
    conf: float = 0.4,
    iou: float = 0.5,
    device: str = "cpu",
    warn=print,
) -> PersonDetector:
    """``none`` → full frame; a path → YOLO. A path that cannot be used falls back to the full frame
    with one line through ``warn``, so a single-person video still works offline."""
    if spec is None or spec.lower() in ("none", "full", "full-frame"):
        return FullFrameDetector()
    try:
        return YoloPersonDetector(spec, conf=conf, iou=iou, device=device)
    except DetectorError as exc:
        warn(f"warning: {exc}; using the full frame as one person box instead (--detector none to silence)")
        return FullFrameDetector()
