"""The whole-body stage: face and hand landmarks on top of each person's body keypoints.

For every person the body model found, a face box is derived from the nose, eyes and ears (MPII: head top and
upper neck) and a box for each hand from its wrist and elbow; the face model (HRNetV2-W18, 68 or 98 points) runs
on all face boxes of the frame in one batch and the hand model (21 points) on all hand boxes in one batch. Each
box then goes through the same top-down path as a person box (×1.25 padding, affine crop, heatmaps, the model's
codec), so the landmarks come back in frame pixels.

Off unless a face or a hand model is chosen (``--face-model`` / ``--hand-model``, or the app's Settings).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import StudioError
from ..models.spec import PoseModelSpec
from ..skeletons import LANDMARK_SETS, KeypointSet
from .codec.decode import Decoder
from .codec.heatmap_codec import HeatmapCodec
from .codec.transforms import person_crops
from .runtime.backends import PoseBackend
from .runtime.heatmaps import predict_heatmaps

PARTS = ("face", "left_hand", "right_hand")
BODY_MIN_SCORE = 0.2  # body keypoints under this score do not place a part box
MIN_SIDE_PX = 8.0  # smaller part boxes are not estimated (too few pixels to say anything)
FACE_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
HEAD_POINTS = ("head_top", "upper_neck")  # MPII's head segment
HAND_POINTS = {"left_hand": ("left_wrist", "left_elbow"), "right_hand": ("right_wrist", "right_elbow")}


@dataclass
class PartLandmarks:
    """One face or hand of one person: ``bbox`` float32 [4] x1, y1, x2, y2 (the derived part box, frame pixels,
    before the crop's ×1.25 padding), ``keypoints`` float32 [K, 2] frame pixels, ``scores`` float32 [K] (heatmap
    peaks, about 0-1), ``landmarks`` the model's keypoint set (names, edges)."""

    bbox: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    landmarks: KeypointSet


def _square(center: np.ndarray, side: float) -> np.ndarray | None:
    if not np.isfinite(side) or side < MIN_SIDE_PX:
        return None
    half = side / 2
    return np.array([center[0] - half, center[1] - half, center[0] + half, center[1] + half], np.float32)


class PartBoxes:
    """Derives face and hand boxes from body keypoints of one keypoint set (COCO-17, MPII-16, or any set that names
    these joints)."""

    def __init__(self, body: KeypointSet):
        index = {name: i for i, name in enumerate(body.names)}
        self.face = [index[n] for n in FACE_POINTS if n in index]
        self.head = [index[n] for n in HEAD_POINTS if n in index]
        self.hands = {part: (index[w], index[e]) for part, (w, e) in HAND_POINTS.items() if w in index and e in index}
        self.eyes = [index[n] for n in ("left_eye", "right_eye") if n in index]
        self.ears = [index[n] for n in ("left_ear", "right_ear") if n in index]

    def can_place(self, part: str) -> bool:
        if part == "face":
            return len(self.face) >= 2 or len(self.head) == 2
        return part in self.hands

    def face_box(self, xy: np.ndarray, scores: np.ndarray) -> np.ndarray | None:
        """A square around the face: the visible face points' centre; side from their spread, the eye distance
        (×2.5) and the ear distance (×1.1), whichever is largest. MPII: the head segment's midpoint and length."""
        seen = [i for i in self.face if scores[i] >= BODY_MIN_SCORE]
        if len(seen) >= 2:
            pts = xy[seen]
            side = float(np.max(pts.max(axis=0) - pts.min(axis=0))) * 1.1
            for pair, factor in ((self.eyes, 2.5), (self.ears, 1.1)):
                if len(pair) == 2 and min(scores[pair]) >= BODY_MIN_SCORE:
                    side = max(side, float(np.linalg.norm(xy[pair[0]] - xy[pair[1]])) * factor)
            return _square(pts.mean(axis=0), side)
        if len(self.head) == 2 and min(scores[self.head]) >= BODY_MIN_SCORE:
            top, neck = xy[self.head[0]], xy[self.head[1]]
            return _square((top + neck) / 2, float(np.linalg.norm(top - neck)) * 0.9)
        return None

    def hand_box(self, part: str, xy: np.ndarray, scores: np.ndarray) -> np.ndarray | None:
        """A square past the wrist along the forearm: centre wrist + 0.35 · (wrist − elbow), side 0.8 · forearm."""
        wrist, elbow = self.hands[part]
        if min(scores[wrist], scores[elbow]) < BODY_MIN_SCORE:
            return None
        forearm = xy[wrist] - xy[elbow]
        return _square(xy[wrist] + 0.35 * forearm, float(np.linalg.norm(forearm)) * 0.8)

    def box(self, part: str, xy: np.ndarray, scores: np.ndarray) -> np.ndarray | None:
        """The ``part`` box [4] x1, y1, x2, y2 for a person's body keypoints ``xy`` [K, 2] and ``scores`` [K], or None
        when the joints it needs are not seen."""
        if not self.can_place(part):
            return None
        return self.face_box(xy, scores) if part == "face" else self.hand_box(part, xy, scores)


class LandmarkModel:
    """A face or hand model on its runtime: boxes in, landmarks out."""

    def __init__(self, backend: PoseBackend, spec: PoseModelSpec, name: str = "", precision: str = "fp32"):
        self.backend = backend
        self.spec = spec
        self.name = name or spec.arch
        self.precision = precision  # what runs, for display: fp32, INT8 or INT8 (unguarded)

    def estimate(self, frame_bgr: np.ndarray, boxes: np.ndarray, decoder: Decoder = "dark", flip_test: bool = False,
                 max_batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Landmarks for part boxes [N, 4] (frame pixels), all in one batch: (keypoints [N, K, 2] frame pixels,
        scores [N, K])."""
        codec = HeatmapCodec.for_spec(self.spec, decoder)
        crops, centers, scales = person_crops(frame_bgr, boxes, self.spec.input_size, self.spec.normalization,
                                              udp=codec.udp)
        heatmaps = predict_heatmaps(self.backend, crops, self.spec.keypoints.flip_pairs, flip_test, max_batch,
                                    shift=codec.flip_shift)
        coords, maxvals = codec.decode(heatmaps, centers, scales)
        return coords, maxvals[..., 0]


BODY_SETS = ("coco17", "mpii16")


class WholeBodyStage:
    """Adds ``parts`` (face, left_hand, right_hand → ``PartLandmarks``) to the persons of a frame."""

    def __init__(self, body: KeypointSet, face: LandmarkModel | None = None, hands: LandmarkModel | None = None):
        self.boxes = PartBoxes(body)
        self.face, self.hands = face, hands
        for model, what, place in ((face, "face", "face"), (hands, "hand", "left_hand")):
            if model is None:
                continue
            kind = LANDMARK_SETS.get(model.spec.keypoints.name)
            if model.spec.keypoints.name in BODY_SETS:
                raise StudioError(f"{model.name} is a body model ({model.spec.keypoints.name}), not a {what} model")
            if kind is not None and kind != what:
                raise StudioError(f"{model.name} is a {kind} model, not a {what} model")
            if not self.boxes.can_place(place):
                needs = "nose, eyes and ears (or head_top and upper_neck)" if what == "face" else "wrists and elbows"
                raise StudioError(f"{what} landmarks need a body model whose keypoints include {needs}; the body "
                                  f"model's set ({body.name}) has none")

    @property
    def part_sets(self) -> dict[str, KeypointSet]:
        """The landmark set of each part this stage adds, in ``PARTS`` order."""
        sets = {}
        if self.face is not None:
            sets["face"] = self.face.spec.keypoints
        if self.hands is not None:
            sets["left_hand"] = sets["right_hand"] = self.hands.spec.keypoints
        return sets

    def add_parts(self, frame_bgr: np.ndarray, persons: list, decoder: Decoder = "dark", flip_test: bool = False,
                  max_batch: int = 32) -> int:
        """Fill ``person.parts`` for each person; returns the number of part boxes estimated."""
        jobs: dict[str, list[tuple[object, str, np.ndarray]]] = {"face": [], "hand": []}
        for person in persons:
            person.parts = {}
            for part in self.part_sets:
                box = self.boxes.box(part, person.keypoints, person.scores)
                if box is not None:
                    jobs["face" if part == "face" else "hand"].append((person, part, box))
        for kind, model in (("face", self.face), ("hand", self.hands)):
            if model is None or not jobs[kind]:
                continue
            boxes = np.stack([box for _, _, box in jobs[kind]])
            coords, scores = model.estimate(frame_bgr, boxes, decoder, flip_test, max_batch)
            for (person, part, box), xy, s in zip(jobs[kind], coords, scores):
                person.parts[part] = PartLandmarks(box, xy.astype(np.float32), s.astype(np.float32),
                                                   model.spec.keypoints)
        return len(jobs["face"]) + len(jobs["hand"])
