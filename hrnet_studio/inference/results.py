"""What the pose pipeline gives for a frame: the persons found, with their keypoints (``PersonPose``), and the
frame's result (``FrameResult``). Writers, review, analysis and the app read these without the pipeline itself."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .scoring import pose_score


@dataclass
class PersonPose:
    bbox: np.ndarray  # float32 [4] x1, y1, x2, y2
    box_score: float
    keypoints: np.ndarray  # float32 [K, 2] frame pixels
    scores: np.ndarray  # float32 [K]
    track_id: int = -1
    corrected: np.ndarray | None = None  # bool [K]: joints a user corrected by hand (a reviewed frame), else None
    swapped: np.ndarray | None = None  # bool [K]: joints of limbs found left/right swapped (``swaps.py``), else None
    parts: dict = field(default_factory=dict)  # "face"/"left_hand"/"right_hand" → wholebody.PartLandmarks

    def pose_score(self, threshold: float = 0.2) -> float:
        """Official rescoring: box score × mean of the keypoint scores above ``threshold``."""
        return pose_score(self.box_score, self.scores, threshold)


@dataclass
class FrameResult:
    frame_index: int
    timestamp_s: float  # seconds (the frame's presentation time for files)
    persons: list[PersonPose]
    timings_ms: dict[str, float] = field(default_factory=dict)
    time_flag: str = ""  # the frame's ``sources.TIME_FLAGS`` entry: "gap", "repeat" or ""
    capture_time: float | None = None  # seconds on the monotonic clock (``time.monotonic``) the frame was read at
