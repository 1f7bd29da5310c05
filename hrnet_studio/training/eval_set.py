"""The one builder of evaluation sets: the persons a model is scored on and what scoring them needs (the COCO file
for OKS AP, MPII head sizes for PCKh). Used by validation during training and by ``hrnet-studio eval``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import StudioError
from ..inference.codec.heatmap_codec import HeatmapCodec
from ..inference.codec.transforms import IMAGENET
from ..inference.runtime.backends import PoseBackend
from ..models.spec import Normalization
from ..skeletons import LANDMARK_SETS, MPII_16, NME_PAIRS, KeypointSet
from .datasets.coco import CocoKeypoints
from .datasets.joints_dataset import JointsDataset
from .datasets.mpii import load_mpii
from .datasets.mpii_truth import (
    PckhTruth,
    find_truth_file,
    load_pckh_truth,
    match_truth,
)
from .datasets.records import PersonRecord, check_images
from .evaluate import (
    coco_keypoint_ap,
    coco_wholebody_ap,
    landmark_auc,
    landmark_epe,
    landmark_nme,
    landmark_pck,
    pck,
    pckh,
)
from .predict import coco_results, predict_records

FORMATS = ("coco", "mpii")
PCK_THRESHOLDS = (0.05, 0.1, 0.2)  # PCK against COCO-format labels, as fractions of the person's size


@dataclass
class EvalSet:
    """Persons to score a model on, with their labels and what scoring them needs.

    COCO persons are boxes (ground truth, or ``detections``) fitted to the model's input aspect, so their records
    are made for a codec (``dataset``); MPII persons are fixed."""

    keypoints: KeypointSet
    coco: CocoKeypoints | None = None  # COCO: scored with OKS AP against this file
    detections: Path | None = None  # COCO: person boxes from a detection-results json (default: ground truth)
    mpii_records: list[PersonRecord] = field(default_factory=list)
    truth: PckhTruth | None = None  # MPII: head sizes and joints for PCKh, one row per record
    truth_file: Path | None = None  # ... read from this file

    @property
    def metric(self) -> str | None:
        """The score that ranks models on this set: ``coco_ap``, ``mpii_pckh``, or None (no truth to score with)."""
        return "coco_ap" if self.coco is not None else "mpii_pckh" if self.truth is not None else None

    def records(self, aspect_ratio: float) -> list[PersonRecord]:
        """The persons, COCO boxes fitted to ``aspect_ratio`` (input width / height)."""
        if self.coco is None:
            return self.mpii_records
        if self.detections:
            return self.coco.detection_records(self.detections, aspect_ratio)
        return self.coco.gt_records(aspect_ratio)

    def dataset(self, codec: HeatmapCodec, normalization: Normalization = IMAGENET) -> JointsDataset:
        """The persons as network input for a model with this codec and normalisation (no augmentation)."""
        w, h = codec.input_size
        return JointsDataset(self.records(w / h), self.keypoints, codec, False, normalization=normalization)

    def score(self, backend: PoseBackend, dataset: JointsDataset, flip_test: bool = True, batch: int = 32,
              progress: Callable[[int, int], None] | None = None, results_file: Path | None = None,
              landmarks: str | None = None) -> dict:
        """COCO: the ten OKS AP/AR figures (0-1) and ``pck@0.05``, ``pck@0.1``, ``pck@0.2`` (%) against the labels
        (``PCK_THRESHOLDS``, fractions of the person's size), the COCO results written
        to ``results_file`` when given. MPII: PCKh@0.5 per part, ``Mean`` and ``Mean@0.1`` (%) and ``per_joint``.
        A face or hand model (``landmarks``: its keypoint set's name, e.g. ``face68``, ``wflw98``, ``hand21``) on a
        COCO-format file gets mmpose's landmark metrics instead (``landmark_scores``); a COCO-WholeBody file gets AP
        and AR per part (``coco_wholebody_ap``: ``body_ap``, ``foot_ap``, … ``wholebody_ap``) before the whole
        body's ten figures.
        ``dataset`` is ``self.dataset(...)`` (kept by callers that score every epoch). {} without a metric."""
        if self.metric is None:
            return {}
        coords, scores = predict_records(backend, dataset, flip_test, batch, progress)
        if self.truth is not None:
            return pckh(coords, self.truth.joints, self.truth.missing, self.truth.headsizes)
        sigmas = self.keypoints.oks_sigmas()
        results = coco_results(dataset.records, coords, scores, sigmas)
        if results_file is not None:
            from ..atomic_writer import write_json

            write_json(results_file, results)
        if landmarks in LANDMARK_SETS:
            return landmark_scores(dataset.records, coords, landmarks)
        if self.coco.wholebody:
            stats = coco_wholebody_ap(self.coco.wholebody_truth(), results)
        else:
            stats = coco_keypoint_ap(self.coco.annotation_file, results, sigmas)
        return {**stats, **{f"pck@{t}": pck_of_records(dataset.records, coords, t) for t in PCK_THRESHOLDS}}


def build_eval_set(fmt: str, annotations: str | Path, images: str | Path, detections: str | Path | None = None,
                   pckh_gt: str | Path | None = None, need_truth: bool = True,
                   say: Callable[[str], None] | None = None) -> EvalSet:
    """The persons of an annotation file, their images checked to be there (``DatasetError`` in one line).

    COCO: ground-truth boxes, or ``detections`` (a COCO detection-results json). MPII: the annotated persons,
    with head sizes from ``pckh_gt`` or the file found beside the annotations; without one, ``need_truth``
    makes it an error, else ``say`` tells and the set has no metric."""
    if fmt == "coco":
        coco = CocoKeypoints(annotations, images)
        eval_set = EvalSet(coco.keypoints, coco=coco, detections=Path(detections) if detections else None)
        check_images(eval_set.records(1.0), annotations, images)  # which images: the same for any aspect
        return eval_set
    if fmt != "mpii":
        raise StudioError(f"unknown data format {fmt!r}: use {' or '.join(FORMATS)}")
    if detections:
        raise StudioError("--detections is for COCO datasets; MPII is scored on its annotated persons")
    records = load_mpii(annotations, images)
    check_images(records, annotations, images)
    path = pckh_gt or find_truth_file(annotations)
    if path is None:
        if need_truth:
            raise StudioError(f"PCKh needs head sizes: pass --pckh-gt gt_valid.mat (or valid.h5); none is beside "
                              f"{Path(annotations).name}")
        if say and records:
            say("no gt_valid.mat or valid.h5 beside the validation file: the best model is picked by loss")
        return EvalSet(MPII_16, mpii_records=records)
    truth = match_truth(load_pckh_truth(path), records, Path(annotations).name) if records else None
    return EvalSet(MPII_16, mpii_records=records, truth=truth, truth_file=Path(path))


def landmark_scores(records: list[PersonRecord], coords: np.ndarray, landmark_set: str) -> dict:
    """Faces: ``nme`` (a fraction of the outer-eye-corner distance, ``NME_PAIRS``). Hands: ``pck@0.2`` (of the box's
    long side), ``auc`` (0-30 px) and ``epe`` (pixels). mmpose's definitions (``evaluate.py``)."""
    gt = np.stack([r.joints[:, :2] for r in records])
    vis = np.stack([r.visible[:, 0] for r in records])
    if LANDMARK_SETS[landmark_set] == "face":
        return {"nme": landmark_nme(coords, gt, vis, NME_PAIRS[landmark_set])}
    size = np.array([float(np.max(r.scale)) * 200 / 1.25 for r in records])
    return {"pck@0.2": landmark_pck(coords, gt, vis, size, 0.2), "auc": landmark_auc(coords, gt, vis),
            "epe": landmark_epe(coords, gt, vis)}


def pck_of_records(records: list[PersonRecord], coords: np.ndarray, threshold: float = 0.2) -> float:
    """PCK (%) against the records' labels; a person's size is the long side of its box (scale × 200 / 1.25)."""
    if not records or not any(r.visible[:, 0].any() for r in records):
        return float("nan")
    gt = np.stack([r.joints[:, :2] for r in records])
    vis = np.stack([r.visible[:, 0] for r in records])
    size = np.array([float(np.max(r.scale)) * 200 / 1.25 for r in records])
    return pck(coords, gt, vis, size, threshold)
