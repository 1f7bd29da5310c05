"""Joint angles from keypoints: the live plots, and over time for analysis exports (angles CSV, MOT files)."""
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


# (name, knee, ankle, heel, big toe): the ankle's dorsiflexion, from the shank and the foot (models with feet)
ANKLES = (
    ("left ankle", "left_knee", "left_ankle", "left_heel", "left_big_toe"),
    ("right ankle", "right_knee", "right_ankle", "right_heel", "right_big_toe"),
)


def available_ankles(keypoints: KeypointSet) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The ankles this keypoint set has knee, ankle, heel and big toe for (a whole-body model's), as joint indices."""
    index = {name: i for i, name in enumerate(keypoints.names)}
    return [(label, tuple(index[n] for n in joints)) for label, *joints in ANKLES if all(n in index for n in joints)]


def ankle_dorsiflexion_deg(knee: np.ndarray, ankle: np.ndarray, heel: np.ndarray, toe: np.ndarray) -> np.ndarray:
    """Dorsiflexion (+) or plantarflexion (−) of the ankle in degrees [N] (points [N, 2] or [2], image pixels):
    90° minus the angle between the shank (ankle → knee) and the foot (heel → big toe), so a foot at right angles
    to the shank is 0, toes raised toward the shin positive, pointed away negative. Seen from the side; NaN where a
    point is missing or a segment has no length."""
    u = np.asarray(knee, float) - np.asarray(ankle, float)
    v = np.asarray(toe, float) - np.asarray(heel, float)
    nu, nv = np.linalg.norm(u, axis=-1), np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.clip((u * v).sum(-1) / (nu * nv), -1.0, 1.0)
    return np.where((nu == 0) | (nv == 0), np.nan, 90.0 - np.degrees(np.arccos(cos)))


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


# ----- over time, for analysis exports ---------------------------------------------------------------------
TRUNK = "trunk inclination"


def signed_angle_deg(a: np.ndarray, vertex: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Signed angles at ``vertex`` [N, 2] from the segment to ``a`` to the segment to ``c`` (image pixels, y down),
    counter-clockwise on screen positive, in degrees in (-180, 180]; NaN where a segment has no length or a
    point is missing."""
    u, v = np.asarray(a, float) - vertex, np.asarray(c, float) - vertex
    u[..., 1] *= -1  # y up, so that counter-clockwise on screen is positive
    v[..., 1] *= -1
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    dot = (u * v).sum(-1)
    out = np.degrees(np.arctan2(cross, dot))
    out = np.where(out <= -180.0, 180.0, out)  # a straight angle is +180 (atan2 says -180 for a signed zero)
    degenerate = (np.linalg.norm(u, axis=-1) == 0) | (np.linalg.norm(v, axis=-1) == 0)
    return np.where(degenerate, np.nan, out)


def trunk_inclination_deg(keypoints: KeypointSet, xy: np.ndarray) -> np.ndarray | None:
    """The trunk's lean from the vertical [N] in degrees: the segment from the mid-hip to the mid-shoulder,
    0 upright, positive leaning to the right of the image (clockwise on screen); None without hips and
    shoulders in the set."""
    index = {name: i for i, name in enumerate(keypoints.names)}
    needed = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")
    if not all(n in index for n in needed):
        return None
    hip = (xy[:, index["left_hip"]] + xy[:, index["right_hip"]]) / 2
    shoulder = (xy[:, index["left_shoulder"]] + xy[:, index["right_shoulder"]]) / 2
    dx, dy = shoulder[:, 0] - hip[:, 0], hip[:, 1] - shoulder[:, 1]  # dy > 0: the shoulders above the hips
    out = np.degrees(np.arctan2(dx, dy))
    return np.where((dx == 0) & (dy == 0), np.nan, out)


def angle_series(keypoints: KeypointSet, xy: np.ndarray, times_s: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every angle the set allows over one person's frames: ``name → (degrees [N], degrees/s [N])``: the joint
    angles of ``ANGLES``, the ankles' dorsiflexion with foot keypoints (``ANKLES``), the trunk's inclination.

    ``xy`` [N, K, 2] frame pixels (NaN where a joint is missing), ``times_s`` [N]. Angles are unwrapped over time
    (a knee passing through ±180° stays continuous) within each run of frames where they exist; the angular
    velocity is the central difference over the true frame times."""
    series = {label: signed_angle_deg(xy[:, a], xy[:, b], xy[:, c]) for label, (a, b, c) in available_angles(keypoints)}
    for label, (knee, ankle, heel, toe) in available_ankles(keypoints):
        series[label] = ankle_dorsiflexion_deg(xy[:, knee], xy[:, ankle], xy[:, heel], xy[:, toe])
    trunk = trunk_inclination_deg(keypoints, xy)
    if trunk is not None:
        series[TRUNK] = trunk
    return {name: _unwrapped_with_velocity(values, times_s) for name, values in series.items()}


def _unwrapped_with_velocity(values: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    angle = np.full(len(values), np.nan)
    velocity = np.full(len(values), np.nan)
    for start, stop in runs_of(np.isfinite(values)):
        part = np.degrees(np.unwrap(np.radians(values[start:stop])))
        angle[start:stop] = part
        if stop - start >= 2:
            velocity[start:stop] = np.gradient(part, times_s[start:stop])
    return angle, velocity


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2]))
