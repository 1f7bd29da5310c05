"""What a user's dataset holds before they train on it: its format, images, persons, keypoints and problems."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...skeletons import MPII_16, KeypointSet
from .coco import CocoKeypoints
from .mpii import load_mpii
from .records import DatasetError, PersonRecord, missing_images, read_json

FORMATS = ("coco", "mpii")


def detect_format(annotation_file: str | Path) -> str:
    """``coco`` for a COCO keypoints object, ``mpii`` for the official MPII list of persons."""
    data = read_json(Path(annotation_file), "annotation file")
    if isinstance(data, dict) and "annotations" in data and "categories" in data:
        return "coco"
    if isinstance(data, list) and (not data or (isinstance(data[0], dict) and "joints" in data[0])):
        return "mpii"
    raise DatasetError(f"{Path(annotation_file).name} is neither a COCO keypoints file (images, annotations, "
                       "categories) nor an MPII list of persons (image, center, scale, joints)")


def load_records(annotation_file: str | Path, image_root: str | Path, fmt: str = "auto",
                 aspect_ratio: float = 0.75) -> tuple[str, KeypointSet, list[PersonRecord]]:
    """Every labelled person (ground-truth boxes) of a COCO or MPII dataset."""
    fmt = detect_format(annotation_file) if fmt == "auto" else fmt
    if fmt == "coco":
        coco = CocoKeypoints(annotation_file, image_root)
        return fmt, coco.keypoints, coco.gt_records(aspect_ratio)
    if fmt == "mpii":
        return fmt, MPII_16, load_mpii(annotation_file, image_root)
    raise DatasetError(f"unknown data format {fmt!r}: use {' or '.join(FORMATS)}")


@dataclass
class DatasetReport:
    annotation_file: Path
    image_root: Path
    format: str = ""
    images: int = 0
    persons: int = 0
    keypoints: KeypointSet | None = None
    problems: list[str] = field(default_factory=list)  # anything here stops training

    @property
    def usable(self) -> bool:
        return not self.problems and self.persons > 0

    def summary(self) -> str:
        if self.keypoints is None:
            return "not a usable dataset"
        k = self.keypoints
        return (f"{self.format.upper()} format: {self.images} images, {self.persons} persons, "
                f"{k.num_joints} keypoints ({', '.join(k.names)})")


def inspect_dataset(annotation_file: str | Path, image_root: str | Path, fmt: str = "auto") -> DatasetReport:
    """Reads the dataset the way training will, and lists what would stop it, each with the file or entry."""
    report = DatasetReport(Path(annotation_file), Path(image_root))
    if not report.image_root.is_dir():
        report.problems.append(f"image folder not found: {report.image_root}")
    try:
        report.format, report.keypoints, records = load_records(annotation_file, image_root, fmt)
    except DatasetError as exc:
        report.problems.append(str(exc))
        return report
    report.persons = len(records)
    missing, report.images = missing_images(records)
    if report.image_root.is_dir() and missing:
        report.problems.append(f"{len(missing)} of {report.images} images are not in {report.image_root} "
                               f"(first: {missing[0]})")
    if not records:
        report.problems.append(f"{report.annotation_file.name} has no person with a labelled keypoint")
    return report
