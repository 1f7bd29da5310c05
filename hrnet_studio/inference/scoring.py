"""A person's pose score from its box and keypoint scores: the official rescoring, used for the exported
COCO results and for evaluation (before OKS-NMS)."""
from __future__ import annotations

import numpy as np


def pose_score(box_score: float, keypoint_scores: np.ndarray, threshold: float = 0.2) -> float:
    """Box score × the mean of the keypoint scores [K] above ``threshold`` (0 when none is)."""
    keypoint_scores = np.asarray(keypoint_scores)
    confident = keypoint_scores[keypoint_scores > threshold]
    return float(box_score * (confident.mean() if confident.size else 0.0))
