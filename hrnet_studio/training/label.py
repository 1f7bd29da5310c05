"""Teacher auto-labelling: sample frames of videos, label the people with a teacher model, and write a
COCO-format dataset that a user can correct or train on.

Teachers: an Ultralytics pose model (``yolo11n-pose.pt``: boxes and COCO-17 keypoints in one pass) or
any registered HRNet (with a person detector). People the teacher is unsure of are dropped.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..atomic_writer import make_folder, write_bytes, write_json
from ..errors import StudioError, first_line
from ..skeletons import COCO_17, KeypointSet
from ..sources.video_file import VideoFileSource
from .options import LabelOptions


@dataclass
class TeacherPoses:
    boxes: np.ndarray  # [N, 4] x1, y1, x2, y2
    box_scores: np.ndarray  # [N]
    keypoints: np.ndarray  # [N, K, 2]
    scores: np.ndarray  # [N, K]


class Teacher(Protocol):
    name: str
    keypoints: KeypointSet

    def __call__(self, frame_bgr: np.ndarray) -> TeacherPoses: ...


class UltralyticsPoseTeacher:
    """An Ultralytics pose model (e.g. yolo11n-pose.pt): its person boxes and COCO-17 keypoints."""

    keypoints = COCO_17

    def __init__(self, weights: str | Path, device: str = "cpu", imgsz: int = 640, trust: bool = False):
        path = Path(weights)
        if not path.is_file():
            raise StudioError(f"teacher not found: {path}")
        try:
            from ..models.ultralytics_files import open_yolo

            self.model = open_yolo(path, trust=trust)
        except StudioError:
            raise
        except Exception as exc:  # Ultralytics raises many types; all mean "cannot use this file"
            raise StudioError(f"cannot load teacher {path.name}: {first_line(exc)}") from None
        shape = getattr(self.model.model, "kpt_shape", None) if hasattr(self.model, "model") else None
        if self.model.task != "pose" or not shape or shape[0] != 17:
            raise StudioError(f"{path.name} is not a COCO-17 pose model (task {self.model.task!r}); use a *-pose.pt "
                              f"model or an HRNet as teacher")
        self.name, self.device, self.imgsz = path.name, device, imgsz

    def __call__(self, frame_bgr: np.ndarray) -> TeacherPoses:
        result = self.model.predict(frame_bgr, imgsz=self.imgsz, device=self.device, verbose=False, classes=[0])[0]
        n = len(result.boxes)
        if n == 0 or result.keypoints is None:
            return TeacherPoses(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 17, 2)), np.zeros((0, 17)))
        conf = result.keypoints.conf
        return TeacherPoses(result.boxes.xyxy.cpu().numpy(), result.boxes.conf.cpu().numpy(),
                            result.keypoints.xy.cpu().numpy(),
                            conf.cpu().numpy() if conf is not None else np.ones((n, 17)))


class PipelineTeacher:
    """Any registered HRNet with a person detector, through the same PosePipeline as the app."""

    def __init__(self, pipeline, name: str):
        self.pipeline, self.name = pipeline, name
        self.keypoints = pipeline.spec.keypoints

    def __call__(self, frame_bgr: np.ndarray) -> TeacherPoses:
        persons = self.pipeline.estimate(frame_bgr, self.pipeline.detector.detect(frame_bgr))
        k = self.keypoints.num_joints
        if not persons:
            return TeacherPoses(np.zeros((0, 4)), np.zeros(0), np.zeros((0, k, 2)), np.zeros((0, k)))
        return TeacherPoses(np.stack([p.bbox for p in persons]), np.array([p.box_score for p in persons]),
                            np.stack([p.keypoints for p in persons]), np.stack([p.scores for p in persons]))


@dataclass
class LabelReport:
    images: int = 0
    persons: int = 0
    dropped: int = 0
    annotation_file: Path | None = None
    per_video: dict[str, int] = field(default_factory=dict)


def category_for(keypoints: KeypointSet) -> dict:
    return {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(keypoints.names),
            "skeleton": [[a + 1, b + 1] for a, b in keypoints.edges],  # COCO skeletons are 1-based
            "flip_pairs": [list(p) for p in keypoints.flip_pairs]}


def label_videos(videos: list[Path], teacher: Teacher, out_dir: Path, options: LabelOptions | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> LabelReport:
    """Write ``out_dir/images/*.jpg`` and ``out_dir/annotations.json`` (COCO keypoints, teacher labels)."""
    options = options or LabelOptions()
    if options.every < 1:
        raise StudioError("--every must be at least 1")
    out_dir = Path(out_dir)
    images_dir = make_folder(out_dir / "images")
    images, annotations = [], []
    report = LabelReport()
    k = teacher.keypoints.num_joints
    for video in videos:
        source = VideoFileSource(video)  # a bad video fails here, before anything is labelled from it
        total = source.frame_count // options.every + 1 if source.frame_count else 0
        labelled = 0
        try:
            for frame in source:
                if frame.index % options.every:
                    continue
                if options.max_frames and labelled >= options.max_frames:
                    break
                poses = teacher(frame.image)
                image_id = len(images) + 1
                name = f"{Path(video).stem}_{frame.index:06d}.jpg"
                kept = 0
                for box, box_score, kps, scores in zip(poses.boxes, poses.box_scores, poses.keypoints, poses.scores):
                    confident = scores >= options.keypoint_threshold
                    if box_score < options.min_box_score or confident.sum() < options.min_keypoints:
                        report.dropped += 1
                        continue
                    values = np.zeros((k, 3))
                    values[confident, :2] = kps[confident]
                    values[confident, 2] = 2
                    x1, y1, x2, y2 = (float(v) for v in box)
                    annotations.append({
                        "id": len(annotations) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                        "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1),
                        "keypoints": [round(float(v), 2) for v in values.ravel()],
                        "num_keypoints": int(confident.sum()), "score": float(box_score)})
                    kept += 1
                h, w = frame.image.shape[:2]
                images.append({"id": image_id, "file_name": name, "width": w, "height": h,
                               "video": Path(video).name, "frame_index": frame.index})
                encoded, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
                if not encoded:
                    raise StudioError(f"cannot encode frame {frame.index} of {Path(video).name} as JPEG")
                write_bytes(images_dir / name, jpeg.tobytes())
                report.persons += kept
                labelled += 1
                if progress:
                    progress(Path(video).name, labelled, total)
        finally:
            source.close()
        report.per_video[Path(video).name] = labelled
        report.images += labelled
    data = {"info": {"description": f"auto-labelled by {teacher.name}", "teacher": teacher.name},
            "images": images, "annotations": annotations, "categories": [category_for(teacher.keypoints)]}
    report.annotation_file = write_json(out_dir / "annotations.json", data)
    return report
