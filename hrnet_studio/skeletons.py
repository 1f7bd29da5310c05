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



def _chain(first: int, last: int, closed: bool = False) -> tuple[tuple[int, int], ...]:
    """Edges along first…last (and back to first when ``closed``): the outlines of face landmark sets."""
    edges = tuple((i, i + 1) for i in range(first, last))
    return edges + ((last, first),) if closed else edges


# Face and hand landmark sets of mmpose's HRNetV2-W18 models (parity kit §12): names, flip pairs (each pair once, in
# id order, as 0.x DatasetInfo) and sigmas as mmpose's dataset-info files give them.
HAND_21 = KeypointSet(
    name="hand21",
    names=("wrist",) + tuple(f"{finger}{i}" for finger in ("thumb", "forefinger", "middle_finger", "ring_finger",
                                                            "pinky_finger") for i in range(1, 5)),
    flip_pairs=(),
    edges=tuple(edge for f in range(5) for edge in (((0, 4 * f + 1),) + _chain(4 * f + 1, 4 * f + 4))),
    sigmas=(0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024, 0.022, 0.026, 0.017, 0.021,
            0.021, 0.032, 0.02, 0.019, 0.022, 0.031),
)

FACE_68 = KeypointSet(  # COCO-WholeBody-Face: the 68-point iBUG layout
    name="face68",
    names=tuple(f"face_{i}" for i in range(68)),
    flip_pairs=tuple((i, 16 - i) for i in range(8)) + tuple((17 + i, 26 - i) for i in range(5))
    + ((31, 35), (32, 34), (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46), (48, 54), (49, 53), (50, 52),
       (55, 59), (56, 58), (60, 64), (61, 63), (65, 67)),
    edges=_chain(0, 16) + _chain(17, 21) + _chain(22, 26) + _chain(27, 30) + _chain(31, 35) + _chain(36, 41, True)
    + _chain(42, 47, True) + _chain(48, 59, True) + _chain(60, 67, True),
    sigmas=(0.042, 0.043, 0.044, 0.043, 0.04, 0.035, 0.031, 0.025, 0.02, 0.023, 0.029, 0.032, 0.037, 0.038, 0.043,
            0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012, 0.012, 0.011, 0.011, 0.013, 0.015, 0.009, 0.007, 0.007,
            0.007, 0.012, 0.009, 0.008, 0.016, 0.01, 0.017, 0.011, 0.009, 0.011, 0.009, 0.007, 0.013, 0.008, 0.011,
            0.012, 0.01, 0.034, 0.008, 0.008, 0.009, 0.008, 0.008, 0.007, 0.01, 0.008, 0.009, 0.009, 0.009, 0.007,
            0.007, 0.008, 0.011, 0.008, 0.008, 0.008, 0.01, 0.008),
)

WFLW_98 = KeypointSet(
    name="wflw98",
    names=tuple(f"wflw_{i}" for i in range(98)),
    flip_pairs=tuple((i, 32 - i) for i in range(16)) + tuple((33 + i, 46 - i) for i in range(5))
    + tuple((38 + i, 50 - i) for i in range(4)) + ((55, 59), (56, 58)) + tuple((60 + i, 72 - i) for i in range(5))
    + ((65, 75), (66, 74), (67, 73), (76, 82), (77, 81), (78, 80), (83, 87), (84, 86), (88, 92), (89, 91), (93, 95),
       (96, 97)),
    edges=_chain(0, 32) + _chain(33, 41, True) + _chain(42, 50, True) + _chain(51, 54) + _chain(55, 59)
    + _chain(60, 67, True) + _chain(68, 75, True) + _chain(76, 87, True) + _chain(88, 95, True),
)

# COCO-WholeBody (Jin et al., ECCV 2020) as mmpose's dataset info gives it: COCO's 17 body keypoints, 6 of the feet,
# the 68 face landmarks (iBUG order) and 21 per hand (left, then right); names, flip pairs and sigmas as there.
FEET_6 = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")
FEET_SIGMAS = (0.068, 0.066, 0.066, 0.092, 0.094, 0.094)
HAND_NAMES = ("hand_root",) + HAND_21.names[1:]
FEET_EDGES = ((15, 17), (15, 18), (15, 19), (16, 20), (16, 21), (16, 22))  # each ankle to its big toe, small toe, heel

COCO_23 = KeypointSet(  # body and feet: the body view of a whole-body model, for analysis
    name="coco23",
    names=COCO_17.names + FEET_6,
    flip_pairs=COCO_17.flip_pairs + ((17, 20), (18, 21), (19, 22)),
    edges=COCO_17.edges + FEET_EDGES,
    sigmas=COCO_17.sigmas + FEET_SIGMAS,
)


def _hand_edges(wrist: int, first: int) -> tuple[tuple[int, int], ...]:
    """A hand's bones in the whole-body set: the body's wrist to each finger's first joint, then along the finger."""
    return tuple(edge for f in range(5) for edge in (((wrist, first + 4 * f + 1),)
                                                       + _chain(first + 4 * f + 1, first + 4 * f + 4)))


COCO_WHOLEBODY_133 = KeypointSet(
    name="coco_wholebody133",
    names=COCO_23.names + tuple(f"face-{i}" for i in range(68))
    + tuple(f"left_{n}" for n in HAND_NAMES) + tuple(f"right_{n}" for n in HAND_NAMES),
    flip_pairs=COCO_23.flip_pairs + tuple((23 + a, 23 + b) for a, b in FACE_68.flip_pairs)
    + tuple((91 + i, 112 + i) for i in range(21)),
    edges=COCO_23.edges + _hand_edges(9, 91) + _hand_edges(10, 112),
    sigmas=COCO_23.sigmas + FACE_68.sigmas + HAND_21.sigmas * 2,
)


@dataclass(frozen=True)
class WholeBodyLayout:
    """How a whole-body set's keypoints split for the rest of the app: the body (and feet) each person carries, and
    the face and hands as landmarks of their own (``person.parts``), each a slice [first, first + K) of the set."""

    body: KeypointSet
    parts: tuple[tuple[str, int, KeypointSet], ...]  # (part, first index, its landmark set)

    def split(self, values: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Per-keypoint ``values`` [..., 133, ...] along axis 0 → the body's [23, ...] and each part's."""
        return values[:self.body.num_joints], {part: values[first:first + landmarks.num_joints]
                                               for part, first, landmarks in self.parts}


WHOLEBODY_LAYOUTS = {COCO_WHOLEBODY_133.name: WholeBodyLayout(
    COCO_23, (("face", 23, FACE_68), ("left_hand", 91, HAND_21), ("right_hand", 112, HAND_21)))}
# COCO-WholeBody's evaluation parts (mmpose's CocoWholeBodyMetric): keypoint index ranges [first, end)
WHOLEBODY_EVAL_PARTS = {"body": (0, 17), "foot": (17, 23), "face": (23, 91), "left_hand": (91, 112),
                        "right_hand": (112, 133), "wholebody": (0, 133)}


def wholebody_layout(keypoints: KeypointSet) -> WholeBodyLayout | None:
    """The layout of a whole-body set, None for any other."""
    return WHOLEBODY_LAYOUTS.get(keypoints.name)


def output_keypoints(keypoints: KeypointSet) -> KeypointSet:
    """The keypoints each person comes out with for a model of set ``keypoints``: the set itself, or a whole-body
    set's body and feet (its face and hands come as ``person.parts``)."""
    layout = wholebody_layout(keypoints)
    return layout.body if layout else keypoints


BUILTIN_SETS = {s.name: s for s in (COCO_17, MPII_16, HAND_21, FACE_68, WFLW_98, COCO_WHOLEBODY_133, COCO_23)}
LANDMARK_SETS = {"face68": "face", "wflw98": "face", "hand21": "hand"}  # the whole-body stage's face and hand sets
NME_PAIRS = {"face68": (36, 45), "wflw98": (60, 72)}  # outer eye corners: the NME's normaliser (mmpose's configs)


def generic_set(num_joints: int) -> KeypointSet:
    """A nameless set for checkpoints with an unknown joint count."""
    return KeypointSet(
        name=f"custom{num_joints}",
        names=tuple(f"kp{i}" for i in range(num_joints)),
        flip_pairs=(),
        edges=(),
    )


def keypoint_set_for(num_joints: int) -> KeypointSet:
    """The built-in set with this many joints (17 → COCO, 16 → MPII, 21 → hand, 68 → face, 98 → WFLW face,
    133 → COCO-WholeBody, 23 → COCO with feet), else a generic one."""
    for kps in BUILTIN_SETS.values():
        if kps.num_joints == num_joints:
            return kps
    return generic_set(num_joints)
