"""Joint angles from keypoints, for the live plots."""
from __future__ import annotations

import numpy as np

from .skeletons import KeypointSet

# (name, first joint, vertex, last joint): the angle at the vertex, in degrees.
ANGLES = (
    ("left knee", "left_hip", "left_knee", "left_ankle"),
    ("right knee", "right_hip", "right_knee", "right_ankle"),
    ("left elbow", "left_shoulder", "left_elbow", "left_wrist"),
    ("right elbow", "right_shoulder", "right_elbow", "right_wrist"),
    ("left hip", "left_shoulder", "left_hip", "left_knee"),
    ("right hip", "right_shoulder", "right_hip", "right_knee"),
    ("left shoulder", "left_elbow", "left_shoulder", "left_hip"),
    ("right shoulder", "right_elbow", "right_shoulder", "right_hip"),
)


def angle_deg(a: np.ndarray, vertex: np.ndarray, c: np.ndarray) -> float:
    """The angle a–vertex–c in degrees (0..180); NaN when a segment has no length."""
    u, v = np.asarray(a, float) - vertex, np.asarray(c, float) - vertex
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))))


def available_angles(keypoints: KeypointSet) -> list[tuple[str, tuple[int, int, int]]]:
    """The named angles this keypoint set has all three joints for, as joint indices."""
    index = {name: i for i, name in enumerate(keypoints.names)}
    return [(label, (index[a], index[b], index[c])) for label, a, b, c in ANGLES
            if a in index and b in index and c in index]
