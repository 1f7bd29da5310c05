"""Keypoints for every person record of a dataset, through any PoseBackend (PyTorch or ONNX Runtime).

Used by validation during training and by ``hrnet-studio eval``, so both score models the same way.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..inference.runtime.backends import PoseBackend
from ..inference.runtime.heatmaps import predict_heatmaps
from ..inference.scoring import pose_score
from .datasets.joints_dataset import JointsDataset
from .datasets.records import PersonRecord
from .evaluate import oks_nms


def predict_records(backend: PoseBackend, dataset: JointsDataset, flip_test: bool = True, batch: int = 32,
                    progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Image keypoints [N, K, 2] and scores [N, K] for every record (ground-truth or detection boxes)."""
    k = dataset.keypoints.num_joints
    coords, scores = [], []
    n = len(dataset)
    for start in range(0, n, batch):
        items = [dataset[i] for i in range(start, min(start + batch, n))]
        x = np.stack([item[0].numpy() for item in items])
        heatmaps = predict_heatmaps(backend, x, dataset.keypoints.flip_pairs, flip_test, batch,
                                    shift=dataset.codec.flip_shift)
        centers = np.stack([item[3]["center"] for item in items])
        scales = np.stack([item[3]["scale"] for item in items])
        c, s = dataset.codec.decode(heatmaps, centers, scales)
        coords.append(c)
        scores.append(s[..., 0])
        if progress:
            progress(min(start + batch, n), n)
    if not coords:
        return np.zeros((0, k, 2)), np.zeros((0, k))
    return np.concatenate(coords), np.concatenate(scores)


def coco_results(records: list[PersonRecord], coords: np.ndarray, scores: np.ndarray,
                 sigmas: np.ndarray) -> list[dict]:
    """COCO results with the official rescoring and, per image, OKS-NMS (threshold 0.9)."""
    by_image: dict[int, list[dict]] = {}
    for rec, c, s in zip(records, coords, scores):
        kps = np.concatenate([c, s[:, None]], axis=1)
        by_image.setdefault(rec.image_id, []).append(
            {"image_id": rec.image_id, "category_id": 1, "keypoints": kps, "area": float(np.prod(rec.scale * 200)),
             "score": pose_score(rec.box_score, s)})
    results = []
    for poses in by_image.values():
        for i in oks_nms(poses, sigmas, 0.9):
            p = poses[i]
            results.append({"image_id": p["image_id"], "category_id": 1, "score": p["score"],
                            "keypoints": p["keypoints"].ravel().tolist()})
    return results
