"""Stable person IDs across frames and One-Euro smoothing of keypoints.

Tracks are matched to new detections with the Hungarian algorithm on a similarity that
mixes box IoU and keypoint OKS; unmatched detections start new tracks and tracks unseen
for ``max_age`` frames expire.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of xyxy boxes a [N, 4] and b [M, 4]."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def keypoint_oks(
    kpts_a: np.ndarray, kpts_b: np.ndarray, boxes_b: np.ndarray, sigmas: np.ndarray,
    scores_a: np.ndarray | None = None, score_threshold: float = 0.2,
) -> np.ndarray:
    """OKS matrix between poses a [N, K, 2] and b [M, K, 2]; the scale is the area of b's box.

    Joints that ``a`` is not confident about (score below the threshold) are left out.
    """
    if len(kpts_a) == 0 or len(kpts_b) == 0:
        return np.zeros((len(kpts_a), len(kpts_b)))
    d2 = np.sum((kpts_a[:, None] - kpts_b[None]) ** 2, axis=-1)  # [N, M, K]
    area = np.prod(np.clip(boxes_b[:, 2:] - boxes_b[:, :2], 1, None), axis=1)  # [M]
    var = (2 * sigmas) ** 2  # [K]
    e = d2 / (2 * var[None, None] * area[None, :, None] + np.finfo(float).eps)
    visible = np.ones(kpts_a.shape[:2], bool) if scores_a is None else scores_a > score_threshold
    weight = visible[:, None, :].astype(float)
    return np.sum(np.exp(-e) * weight, axis=2) / np.maximum(weight.sum(axis=2), 1)


def follow_boxes(
    anchors: list[tuple[np.ndarray, np.ndarray, np.ndarray]], current: list[tuple[np.ndarray, np.ndarray]],
    threshold: float, min_joints: int = 3,
) -> np.ndarray:
    """Person boxes for the next frame where the detector does not run: each person's box at the last detection,
    moved by the median shift of the joints sure (score ≥ ``threshold``) then and now, and scaled by how far those
    joints spread now against then (the person came closer or stepped back; clamped to 0.8-1.25×).

    ``anchors``: per person (box float [4] xyxy, keypoints [K, 2], scores [K]) at the last detection; ``current``:
    per person (keypoints [K, 2], scores [K]) in the frame just estimated, in frame pixels. A person with fewer
    than ``min_joints`` joints sure in both keeps the anchor box. Returns float32 [N, 4] xyxy.
    """
    boxes = np.zeros((len(anchors), 4), np.float32)
    for i, ((box, then, then_scores), (now, now_scores)) in enumerate(zip(anchors, current)):
        box = np.asarray(box, np.float32)
        sure = (then_scores >= threshold) & (now_scores >= threshold)
        if sure.sum() < min_joints:
            boxes[i] = box
            continue
        a, b = then[sure], now[sure]
        shift = np.median(b - a, axis=0)
        spread_then = np.sqrt(((a - a.mean(axis=0)) ** 2).sum(axis=1).mean())
        spread_now = np.sqrt(((b - b.mean(axis=0)) ** 2).sum(axis=1).mean())
        scale = float(np.clip(spread_now / spread_then, 0.8, 1.25)) if spread_then > 1 else 1.0
        centre, half = (box[:2] + box[2:]) / 2 + shift, (box[2:] - box[:2]) / 2 * scale
        boxes[i] = np.concatenate([centre - half, centre + half])
    return boxes


@dataclass
class Track:
    track_id: int
    box: np.ndarray
    keypoints: np.ndarray | None
    scores: np.ndarray | None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    misses: int = 0

    def predicted_box(self, horizon: int = 5) -> np.ndarray:
        """Constant-velocity guess of where the box is now, which keeps IDs through crossings.

        Extrapolation stops after ``horizon`` missed frames: a person hidden for long is
        more likely to reappear near where they were last seen than far along their path.
        """
        return self.box + self.velocity * min(self.misses + 1, horizon)


class PoseTracker:
    """Assigns a persistent ``track_id`` to each person of successive frames."""

    def __init__(self, sigmas: np.ndarray, iou_weight: float = 0.5, min_similarity: float = 0.2, max_age: int = 30):
        self.sigmas = np.asarray(sigmas, dtype=np.float64)
        self.iou_weight = iou_weight
        self.min_similarity = min_similarity
        self.max_age = max_age
        self.tracks: list[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        self.tracks.clear()
        self._next_id = 1

    def similarity(self, boxes: np.ndarray, keypoints: np.ndarray | None) -> np.ndarray:
        pred = np.array([t.predicted_box() for t in self.tracks]).reshape(-1, 4)
        last = np.array([t.box for t in self.tracks]).reshape(-1, 4)
        sim = np.maximum(box_iou(pred, boxes), box_iou(last, boxes))
        have_kpts = [t.keypoints is not None for t in self.tracks]
        if keypoints is not None and len(keypoints) and any(have_kpts):
            shift = pred[:, :2] - last[:, :2]
            for i, t in enumerate(self.tracks):
                if t.keypoints is None:
                    continue
                moved = (t.keypoints + shift[i])[None]
                oks = keypoint_oks(moved, keypoints, boxes, self.sigmas, t.scores[None])[0]
                sim[i] = self.iou_weight * sim[i] + (1 - self.iou_weight) * oks
        return sim

    def update(
        self, boxes: np.ndarray, keypoints: np.ndarray | None = None, scores: np.ndarray | None = None
    ) -> np.ndarray:
        """Match this frame's persons to tracks; returns one ID per person (int64 [N])."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = np.zeros(len(boxes), dtype=np.int64)
        matched_tracks: set[int] = set()
        if self.tracks and len(boxes):
            from scipy.optimize import (
                linear_sum_assignment,  # 0.4-0.6 s to import: not before a match is needed
            )

            sim = self.similarity(boxes, keypoints)
            rows, cols = linear_sum_assignment(-sim)
            for r, c in zip(rows, cols):
                if sim[r, c] < self.min_similarity:
                    continue
                track = self.tracks[r]
                new_velocity = (boxes[c] - track.box) / (track.misses + 1)
                track.velocity = 0.5 * track.velocity + 0.5 * new_velocity
                track.box = boxes[c]
                track.keypoints = None if keypoints is None else keypoints[c]
                track.scores = None if scores is None else scores[c].reshape(-1)
                track.misses = 0
                ids[c] = track.track_id
                matched_tracks.add(r)
        for i, t in enumerate(self.tracks):
            if i not in matched_tracks:
                t.misses += 1
        self.tracks = [t for t in self.tracks if t.misses <= self.max_age]
        for c in np.flatnonzero(ids == 0):
            track = Track(
                self._next_id, boxes[c],
                None if keypoints is None else keypoints[c],
                None if scores is None else scores[c].reshape(-1),
            )
            self.tracks.append(track)
            ids[c] = track.track_id
            self._next_id += 1
        return ids


class OneEuroFilter:
    """One-Euro filter (Casiez et al., CHI 2012) on an array of any shape.

    Little smoothing when a point moves fast (low lag), much when it is still (low jitter).
    ``min_cutoff`` (Hz) sets the jitter reduction at rest, ``beta`` how fast lag is cut
    when the point moves.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x_prev: np.ndarray | None = None
        self.dx_prev: np.ndarray | None = None
        self.t_prev: float | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.x_prev is None or self.t_prev is None or t <= self.t_prev:
            self.x_prev, self.dx_prev, self.t_prev = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self.t_prev
        dx = (x - self.x_prev) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1 - a_d) * self.dx_prev
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        a = self._alpha(cutoff, dt)
        x_hat = a * x + (1 - a) * self.x_prev
        self.x_prev, self.dx_prev, self.t_prev = x_hat, dx_hat, t
        return x_hat


class KeypointSmoother:
    """One One-Euro filter per track ID; filters of tracks not seen for a while are dropped."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0, max_age_s: float = 2.0):
        self.params = dict(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)
        self.max_age_s = max_age_s
        self.filters: dict[int, OneEuroFilter] = {}

    def reset(self) -> None:
        self.filters.clear()

    def __call__(self, track_id: int, keypoints: np.ndarray, t: float) -> np.ndarray:
        f = self.filters.get(track_id)
        if f is None:
            f = self.filters[track_id] = OneEuroFilter(**self.params)
        out = f(keypoints, t).astype(np.float32)
        self.filters = {
            k: v for k, v in self.filters.items() if v.t_prev is not None and t - v.t_prev <= self.max_age_s
        }
        return out
