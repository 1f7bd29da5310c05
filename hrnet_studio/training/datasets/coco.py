"""COCO keypoints via pycocotools: ground-truth persons for training, GT or detection boxes for validation.

Any COCO-format dataset works, with its own keypoint set: names and skeleton come from the
``person`` category; flip pairs from its ``flip_pairs`` when given, else from left/right names.
"""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np

from ...inference.codec.transforms import box_to_center_scale
from ...skeletons import COCO_17, COCO_WHOLEBODY_133, KeypointSet
from .records import DatasetError, PersonRecord, read_json

SIDE_WORDS = (("left", "right"), ("l_", "r_"), ("_l", "_r"))


def infer_flip_pairs(names: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Pairs of joints whose names differ only by left/right (``left_knee``/``right_knee``, ``l_eye``/``r_eye``)."""
    index = {n.lower(): i for i, n in enumerate(names)}
    pairs = []
    for name, i in index.items():
        for left, right in SIDE_WORDS:
            if left in name:
                j = index.get(name.replace(left, right, 1))
                if j is not None and (min(i, j), max(i, j)) not in pairs:
                    pairs.append((min(i, j), max(i, j)))
                break
    return tuple(sorted(pairs))


def keypoint_set_from_category(category: dict, source: str) -> KeypointSet:
    names = tuple(str(n) for n in category.get("keypoints") or ())
    if not names:
        raise DatasetError(f"{source}: category {category.get('name')!r} lists no keypoints")
    if names == COCO_17.names:
        return COCO_17
    skeleton = tuple((int(a) - 1, int(b) - 1) for a, b in category.get("skeleton") or ())  # COCO is 1-based
    if any(not (0 <= a < len(names) and 0 <= b < len(names)) for a, b in skeleton):
        raise DatasetError(f"{source}: the skeleton of category {category.get('name')!r} names joints that do not exist")
    pairs = category.get("flip_pairs")
    flip = tuple((int(a), int(b)) for a, b in pairs) if pairs else infer_flip_pairs(names)
    name = re.sub(r"\W+", "_", str(category.get("name", "custom"))) + str(len(names))
    return KeypointSet(name=name, names=names, flip_pairs=flip, edges=skeleton)


# A COCO-WholeBody annotation: COCO's 17 body keypoints, then each part in a field of its own, in the 133-set's order
WHOLEBODY_FIELDS = (("keypoints", 17), ("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21),
                    ("righthand_kpts", 21))


def annotation_joints(ann: dict, wholebody: bool) -> list:
    """An annotation's [x, y, v]×K values: ``keypoints``, or for COCO-WholeBody its five fields joined (133)."""
    if not wholebody:
        return ann["keypoints"]
    return [v for key, _ in WHOLEBODY_FIELDS for v in ann[key]]


class CocoKeypoints:
    """A COCO keypoints file and its image folder, checked on open."""

    def __init__(self, annotation_file: str | Path, image_root: str | Path):
        self.annotation_file = Path(annotation_file)
        self.image_root = Path(image_root)
        source = self.annotation_file.name
        data = read_json(self.annotation_file, "annotation file")
        if not isinstance(data, dict):
            raise DatasetError(f"{source} is not a COCO keypoints file (not a JSON object)")
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), list):
                raise DatasetError(f"{source} is not a COCO keypoints file: no {key!r} list")
        persons = [c for c in data["categories"] if c.get("keypoints")]
        if not persons:
            raise DatasetError(f"{source} has no category with keypoints")
        self.category = persons[0]
        self.keypoints = keypoint_set_from_category(self.category, source)
        # COCO-WholeBody: COCO's body category, the feet, face and hands in fields of their own
        self.wholebody = self.keypoints is COCO_17 and any("foot_kpts" in a for a in data["annotations"])
        if self.wholebody:
            self.keypoints = COCO_WHOLEBODY_133
        self._check_annotations(data, source)
        from pycocotools.coco import COCO

        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools narrates to stdout
            self.coco = COCO(str(self.annotation_file))
        self.image_ids = sorted(self.coco.getImgIds())

    def _check_annotations(self, data: dict, source: str) -> None:
        k = self.keypoints.num_joints
        images = {img.get("id") for img in data["images"]}
        for n, ann in enumerate(data["annotations"]):
            where = f"{source}: annotation #{n} (id {ann.get('id')})"
            if ann.get("category_id") != self.category.get("id"):
                continue
            fields = WHOLEBODY_FIELDS if self.wholebody else (("keypoints", k),)
            for key, count in fields:
                kps = ann.get(key)
                if not isinstance(kps, list) or len(kps) != 3 * count:
                    got = len(kps) if isinstance(kps, list) else type(kps).__name__
                    what = "the category has" if key == "keypoints" else f"COCO-WholeBody's {key} has"
                    label = "keypoint" if key == "keypoints" else key
                    raise DatasetError(f"{where} has {got} {label} values; {what} {count} joints, so {3 * count}")
            if ann.get("image_id") not in images:
                raise DatasetError(f"{where} refers to image id {ann.get('image_id')}, which is not in 'images'")
            bbox = ann.get("bbox")
            if not (isinstance(bbox, list) and len(bbox) == 4):
                raise DatasetError(f"{where} has no valid bbox [x, y, w, h]")

    def wholebody_truth(self) -> dict:
        """The annotation file as COCO keypoints of the 133-set: each annotation's five fields joined in
        ``keypoints`` (a COCO-WholeBody file; ``evaluate.coco_wholebody_ap`` scores against it)."""
        data = self.coco.dataset
        return {**data, "annotations": [{**ann, "keypoints": annotation_joints(ann, self.wholebody)}
                                        for ann in data["annotations"]]}

    def image_path(self, image_id: int) -> Path:
        return self.image_root / self.coco.loadImgs(image_id)[0]["file_name"]

    def missing_images(self) -> list[str]:
        return [self.coco.loadImgs(i)[0]["file_name"] for i in self.image_ids if not self.image_path(i).is_file()]

    def gt_records(self, aspect_ratio: float) -> list[PersonRecord]:
        """Persons with at least one labelled joint, boxes sanitised as the official loader (1 px smaller)."""
        records = []
        k = self.keypoints.num_joints
        for image_id in self.image_ids:
            info = self.coco.loadImgs(image_id)[0]
            width, height = info["width"], info["height"]
            ann_ids = self.coco.getAnnIds(imgIds=image_id, iscrowd=False)
            for ann in self.coco.loadAnns(ann_ids):
                if ann.get("category_id") != self.category["id"]:
                    continue
                x, y, w, h = ann["bbox"]
                x1, y1 = max(0, x), max(0, y)
                x2 = min(width - 1, x1 + max(0, w - 1))
                y2 = min(height - 1, y1 + max(0, h - 1))
                if ann.get("area", 0) <= 0 or x2 < x1 or y2 < y1:
                    continue
                values = annotation_joints(ann, self.wholebody)
                if max(values[2::3]) == 0:
                    continue
                kps = np.array(values, dtype=np.float64).reshape(k, 3)
                joints = np.zeros((k, 3))
                joints[:, :2] = kps[:, :2]
                vis = np.zeros((k, 3))
                vis[:, :2] = np.minimum(1, kps[:, 2:3])
                center, scale = box_to_center_scale(np.array([[x1, y1, x2 - x1, y2 - y1]], np.float64), aspect_ratio)
                records.append(PersonRecord(self.image_path(image_id), center[0], scale[0], joints, vis, image_id,
                                            1.0, float(ann.get("area", 0))))
        return records

    def detection_records(self, detection_file: str | Path, aspect_ratio: float,
                          min_score: float = 0.0) -> list[PersonRecord]:
        """Person boxes from a COCO detection-results json (used raw, as the official code)."""
        path = Path(detection_file)
        detections = read_json(path, "detection file")
        if not isinstance(detections, list):
            raise DatasetError(f"{path.name} is not a list of detections")
        k = self.keypoints.num_joints
        records = []
        for n, det in enumerate(detections):
            if det.get("category_id", 1) != 1 or det.get("score", 0) < min_score:
                continue
            if det.get("image_id") not in self.coco.imgs:
                raise DatasetError(f"{path.name}: detection #{n} refers to unknown image id {det.get('image_id')}")
            center, scale = box_to_center_scale(np.array([det["bbox"]], np.float64), aspect_ratio)
            records.append(PersonRecord(self.image_path(det["image_id"]), center[0], scale[0], np.zeros((k, 3)),
                                        np.ones((k, 3)), det["image_id"], float(det["score"])))
        return records
