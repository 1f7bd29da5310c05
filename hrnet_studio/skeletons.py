"""Keypoint sets: joint names, flip pairs, skeleton edges and OKS sigmas.

Names follow COCO's own category names; MPII uses the same style so CSV
columns read alike across sets (see DESIGN.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class KeypointSet:
    name: str
    names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    edges: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...] = field(default=())

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def oks_sigmas(self) -> np.ndarray:
        """Per-joint OKS sigmas; joints without a published sigma get 0.089 (COCO's largest)."""
        if len(self.sigmas) == self.num_joints:
            return np.asarray(self.sigmas, dtype=np.float64)
        return np.full(self.num_joints, 0.089)

    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps left/right joints: flipped[:, perm] lines up with the original."""
        perm = np.arange(self.num_joints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm


COCO_17 = KeypointSet(
    name="coco17",
    names=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    edges=(
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12),
        (5, 6), (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2),
        (1, 3), (2, 4), (3, 5), (4, 6),
    ),
    sigmas=(
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
        0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
    ),
)

MPII_16 = KeypointSet(
    name="mpii16",
    names=(
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee",
        "left_ankle", "pelvis", "thorax", "upper_neck", "head_top",
        "right_wrist", "right_elbow", "right_shoulder", "left_shoulder",
        "left_elbow", "left_wrist",
    ),
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    edges=(
        (0, 1), (1, 2), (2, 6), (3, 6), (3, 4), (4, 5), (6, 7), (7, 8),
        (8, 9), (7, 12), (12, 11), (11, 10), (7, 13), (13, 14), (14, 15),
    ),
)

BUILTIN_SETS = {s.name: s for s in (COCO_17, MPII_16)}


def generic_set(num_joints: int) -> KeypointSet:
    """A nameless set for checkpoints with an unknown joint count."""
    return KeypointSet(
        name=f"custom{num_joints}",
        names=tuple(f"kp{i}" for i in range(num_joints)),
        flip_pairs=(),
        edges=(),
    )


def keypoint_set_for(num_joints: int) -> KeypointSet:
    """The built-in set with this many joints (17 → COCO, 16 → MPII), else a generic one."""
    for kps in BUILTIN_SETS.values():
        if kps.num_joints == num_joints:
            return kps
    return generic_set(num_joints)
