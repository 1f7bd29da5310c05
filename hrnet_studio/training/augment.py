"""Training-time geometry as the official HRNet code does it: half-body crops, horizontal flips,
random scale and rotation. Randomness comes from a ``numpy.random.RandomState`` the caller owns, so
a worker, a resumed run or a test can replay it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeletons import COCO_17, MPII_16, KeypointSet

PIXEL_STD = 200.0
UPPER_BODY_WORDS = ("nose", "eye", "ear", "head", "neck", "thorax", "shoulder", "elbow", "wrist", "hand", "mouth")


def upper_body_ids(keypoints: KeypointSet) -> tuple[int, ...]:
    """COCO: ids 0–10; MPII: 7–15 (as the official datasets); other sets: joints named like upper-body parts."""
    if keypoints.names == COCO_17.names:
        return tuple(range(11))
    if keypoints.names == MPII_16.names:
        return tuple(range(7, 16))
    return tuple(i for i, name in enumerate(keypoints.names) if any(w in name.lower() for w in UPPER_BODY_WORDS))


def half_body_transform(
    joints: np.ndarray,
    visible: np.ndarray,
    upper_ids: tuple[int, ...],
    aspect_ratio: float,
    rng: np.random.RandomState,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Centre/scale around the upper or the lower body (official ``half_body_transform``).

    The upper body is chosen when a standard normal draw is below 0.5 (p ≈ 0.69, as the official code)
    and it has more than 2 visible joints; the box is fitted to the aspect ratio and padded ×1.5.
    Returns (None, None) when fewer than 2 joints are selected.
    """
    vis = np.asarray(visible)
    vis = vis[:, 0] if vis.ndim == 2 else vis
    upper = [joints[j] for j in range(len(joints)) if vis[j] > 0 and j in upper_ids]
    lower = [joints[j] for j in range(len(joints)) if vis[j] > 0 and j not in upper_ids]
    if rng.randn() < 0.5 and len(upper) > 2:
        selected = upper
    else:
        selected = lower if len(lower) > 2 else upper
    if len(selected) < 2:
        return None, None
    points = np.array(selected, dtype=np.float32)
    center = points.mean(axis=0)[:2]
    left_top, right_bottom = np.amin(points, axis=0), np.amax(points, axis=0)
    w = right_bottom[0] - left_top[0]
    h = right_bottom[1] - left_top[1]
    if w > aspect_ratio * h:
        h = w * 1.0 / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w * 1.0 / PIXEL_STD, h * 1.0 / PIXEL_STD], dtype=np.float32) * 1.5
    return center, scale


def fliplr_joints(joints: np.ndarray, visible: np.ndarray, width: int,
                  flip_pairs: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Mirror joints about an image of ``width`` px (x' = width − x − 1) and swap left/right.

    As the official code, invisible joints come back as zeros; the inputs are not modified.
    """
    joints = np.array(joints, dtype=np.float64, copy=True)
    visible = np.array(visible, dtype=np.float64, copy=True)
    joints[:, 0] = width - joints[:, 0] - 1
    for a, b in flip_pairs:
        joints[[a, b]] = joints[[b, a]]
        visible[[a, b]] = visible[[b, a]]
    return joints * visible, visible


@dataclass(frozen=True)
class AugmentConfig:
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    flip: bool = True
    half_body_prob: float = 0.3
    half_body_min_joints: int = 8


def random_scale_rotation(scale: np.ndarray, cfg: AugmentConfig, rng: np.random.RandomState,
                          coin: np.random.RandomState) -> tuple[np.ndarray, float]:
    """``s *= clip(randn·sf + 1, 1−sf, 1+sf)``; rotation ``clip(randn·rf, −2rf, 2rf)`` with p = 0.6, else 0."""
    sf, rf = cfg.scale_factor, cfg.rotation_factor
    scale = scale * np.clip(rng.randn() * sf + 1, 1 - sf, 1 + sf)
    rotation = np.clip(rng.randn() * rf, -rf * 2, rf * 2) if coin.random_sample() <= cfg.rotation_prob else 0.0
    return scale, float(rotation)
