"""When the person detector runs, and where the boxes of the frames in between come from.

With ``det_every`` N > 1 the detect stage runs the detector on every n-th frame; in between, each person's
box follows their keypoints (``tracking.follow_boxes``): the box the detector gave at the last detection,
moved and scaled as the person's sure joints moved since, so the crop stays the one the model sees on
detected frames (a box drawn around the joints instead would crop differently, and the keypoints with it).
The detector comes back at once (the pose stage
runs it on the very next frame) when fewer persons are seen clearly than at the last detection (one walked
out, was hidden, or their box lost them), or when a person's mean keypoint score fades under ``FADE`` times
its score at the last detection. A new person entering is found at the next detection, at most N − 1 frames
late. Which frames are detected depends only on the frames, never on timing, so an
export gives the same keypoints every time.

``det_every`` 0 is *auto* (the live view's default): N follows the measured cost of a detection against the
cost of the pose step, so that detection takes about a quarter of the frame time (N from 1 to 10).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..tracking import follow_boxes
from .detector import Detections


@dataclass
class PersonState:
    """A person as the last frame left them (keypoints copied before any smoothing changes them)."""

    box_score: float
    keypoints: np.ndarray
    scores: np.ndarray


AUTO = 0
FADE = 0.85  # a followed person whose mean keypoint score falls under this share of its score at detection
MAX_AUTO_EVERY = 10


def check_det_every(value: int) -> int:
    """``det_every`` as given by a user: 0 (auto) or at least 1; anything else is one line."""
    from ...errors import StudioError

    if value < 0:
        raise StudioError(f"detect every N frames: N must be 1 or more (0 = auto), got {value}")
    return value


class DetectionSchedule:
    def __init__(self, every: int = 1, threshold: float = 0.3):
        """``every``: run the detector on every n-th frame (0 = auto). ``threshold``: a person is seen clearly when
        their mean keypoint score, and the score of at least a third of their joints, reach it."""
        self.every = every
        self.threshold = threshold
        self.detect_ms = 0.0  # running means of what a detection and a frame's pose step cost
        self.pose_ms = 0.0
        self.reset()

    def reset(self) -> None:
        self._followed: list[PersonState] = []  # the persons the next frame follows
        self._anchors: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # box, keypoints, scores at detection
        self._follow_ok = False
        self._frames = 0  # frames the detect stage has taken since the reset
        self._clear_at_detection = 0

    @property
    def current_every(self) -> int:
        """N in effect now (auto: from the measured costs)."""
        if self.every != AUTO:
            return max(1, self.every)
        if self.detect_ms <= 0 or self.pose_ms <= 0:
            return 1
        return min(MAX_AUTO_EVERY, max(1, math.ceil(3 * self.detect_ms / self.pose_ms)))

    def wants_detection(self) -> bool:
        """Called by the detect stage for each frame, in order: True on every n-th frame."""
        due = self._frames % self.current_every == 0
        self._frames += 1
        return due

    def followed_boxes(self) -> Detections | None:
        """Boxes for a frame the detector skipped, from the last frame's keypoints; None when the detector must run
        (nobody to follow, fewer persons seen clearly than at the last detection, or someone fading)."""
        followed, anchors = self._followed, self._anchors
        if not (followed and self._follow_ok) or len(anchors) != len(followed):
            return None
        boxes = follow_boxes(anchors, [(p.keypoints, p.scores) for p in followed], self.threshold)
        return Detections(boxes, np.array([p.box_score for p in followed], dtype=np.float32))

    def remember(self, persons: list, detected: bool, timings_ms: dict[str, float]) -> None:
        """After a frame's pose step: keep its persons to follow, and the costs for auto."""
        pose_ms = sum(timings_ms.get(stage, 0.0) for stage in ("crop", "pose", "decode"))
        self.pose_ms = _mean(self.pose_ms, pose_ms)
        if detected and "detect" in timings_ms:
            self.detect_ms = _mean(self.detect_ms, timings_ms["detect"])
        if self.every == 1:
            return
        clear = sum(1 for p in persons if p.scores.mean() >= self.threshold
                    and (p.scores >= self.threshold).mean() >= 1 / 3)
        if detected:
            self._clear_at_detection = clear
            self._anchors = [(p.bbox.copy(), p.keypoints.copy(), p.scores.copy()) for p in persons]
        self._followed = [PersonState(p.box_score, p.keypoints.copy(), p.scores.copy()) for p in persons]
        fading = len(self._anchors) == len(persons) and any(
            p.scores.mean() < FADE * anchor[2].mean() for p, anchor in zip(persons, self._anchors))
        self._follow_ok = bool(persons) and clear >= self._clear_at_detection and not fading


def _mean(previous: float, value: float, weight: float = 0.2) -> float:
    return value if previous <= 0 else (1 - weight) * previous + weight * value
