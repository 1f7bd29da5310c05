"""A video's review: the frames a user corrected, the identity fixes they made and the frames suggested to them.

Kept as ``<video>.review.json`` beside the video (or in a chosen folder), written atomically after every change
and read again when the video is opened. Coordinates are frame pixels; visibility follows COCO (2 visible,
1 labelled but occluded, 0 not labelled).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..atomic_writer import write_json
from ..errors import StudioError
from ..inference.results import FrameResult, PersonPose
from ..models.metadata import keypoints_from_dict, keypoints_to_dict
from ..skeletons import BUILTIN_SETS, KeypointSet

REVIEW_SUFFIX = ".review.json"
VERSION = 1
VISIBLE, OCCLUDED, NOT_LABELLED = 2, 1, 0

SUGGESTIONS = 10  # frames suggested for a look when the user does not say how many (review suggest, the app)


@dataclass
class ReviewedPerson:
    """One person of a corrected frame."""

    bbox: np.ndarray  # float [4] x1, y1, x2, y2 frame pixels
    keypoints: np.ndarray  # float [K, 2] frame pixels
    visible: np.ndarray  # int [K]: 2 visible, 1 occluded, 0 not labelled
    scores: np.ndarray  # float [K]: the model's scores (1 where placed by hand)
    corrected: np.ndarray  # bool [K]: moved or re-flagged by hand
    track_id: int = -1
    added: bool = False  # a box the user drew for someone the detector missed
    box_score: float = 1.0  # the detector's (1 for a drawn box)

    @classmethod
    def from_pose(cls, pose: PersonPose, threshold: float = 0.0) -> ReviewedPerson:
        """A prediction as a starting point: joints at or above ``threshold`` visible, the rest not labelled."""
        k = len(pose.keypoints)
        visible = np.where(np.asarray(pose.scores) >= threshold, VISIBLE, NOT_LABELLED).astype(int)
        return cls(np.asarray(pose.bbox, float).copy(), np.asarray(pose.keypoints, float).copy(), visible,
                   np.asarray(pose.scores, float).copy(), np.zeros(k, bool), int(pose.track_id),
                   box_score=float(pose.box_score))

    def to_pose(self) -> PersonPose:
        """As the pipeline's ``PersonPose``, with ``corrected`` set (joints not labelled score 0)."""
        scores = np.where(self.visible > 0, np.where(self.corrected, 1.0, self.scores), 0.0)
        return PersonPose(self.bbox.astype(np.float32), self.box_score, self.keypoints.astype(np.float32), scores.astype(np.float32), self.track_id,
                          corrected=self.corrected.copy())

    def to_dict(self) -> dict:
        return {"bbox": [round(float(v), 2) for v in self.bbox], "track_id": self.track_id, "added": self.added,
                "box_score": round(float(self.box_score), 4),
                "keypoints": [[round(float(x), 2), round(float(y), 2), int(v)]
                              for (x, y), v in zip(self.keypoints, self.visible)],
                "scores": [round(float(s), 4) for s in self.scores],
                "corrected": [int(i) for i in np.flatnonzero(self.corrected)]}

    @classmethod
    def from_dict(cls, data: dict, num_joints: int) -> ReviewedPerson:
        kps = np.asarray(data["keypoints"], float).reshape(-1, 3)
        if len(kps) != num_joints:
            raise ValueError(f"a person has {len(kps)} joints, not {num_joints}")
        corrected = np.zeros(num_joints, bool)
        corrected[[int(i) for i in data.get("corrected", [])]] = True
        scores = np.asarray(data.get("scores", [1.0] * num_joints), float)
        return cls(np.asarray(data["bbox"], float).reshape(4), kps[:, :2].copy(), kps[:, 2].astype(int),
                   scores.reshape(num_joints), corrected, int(data.get("track_id", -1)), bool(data.get("added")),
                   float(data.get("box_score", 1.0)))


@dataclass
class ReviewedFrame:
    """The persons of one frame as the user left it: what export and training take for that frame."""

    frame_index: int
    persons: list[ReviewedPerson] = field(default_factory=list)

    def copy(self) -> ReviewedFrame:
        return copy.deepcopy(self)


@dataclass(frozen=True)
class IdentityFix:
    """From ``from_frame`` on: ``swap`` exchanges track IDs ``a`` and ``b``; ``merge`` renames ``a`` to ``b``."""

    kind: str  # "swap" or "merge"
    a: int
    b: int
    from_frame: int

    def apply(self, track_id: int, frame_index: int) -> int:
        if frame_index < self.from_frame:
            return track_id
        if track_id == self.a:
            return self.b
        if self.kind == "swap" and track_id == self.b:
            return self.a
        return track_id


@dataclass
class Suggestion:
    frame_index: int
    score: float  # higher: more worth a look
    reasons: list[str]


class Review:
    """Everything reviewed in one video; ``save`` after each change (atomic, so a crash loses nothing saved)."""

    def __init__(self, path: str | Path, video: str, keypoints: KeypointSet):
        self.path = Path(path)
        self.video = video
        self.keypoints = keypoints
        self.frames: dict[int, ReviewedFrame] = {}
        self.fixes: list[IdentityFix] = []
        self.suggestions: list[Suggestion] = []

    @staticmethod
    def path_for(video: str | Path, folder: str | Path | None = None) -> Path:
        """``<video>.review.json`` beside the video, or in ``folder`` when given."""
        video = Path(video)
        return (Path(folder) if folder else video.parent) / (video.name + REVIEW_SUFFIX)

    @classmethod
    def open(cls, video: str | Path, keypoints: KeypointSet, folder: str | Path | None = None,
             path: str | Path | None = None) -> Review:
        """The review of ``video`` (read when there is one, else empty), at ``path`` or ``path_for(video, folder)``.
        A review of another keypoint set or a malformed file is a one-line ``StudioError``."""
        path = Path(path) if path else cls.path_for(video, folder)
        review = cls(path, Path(video).name, keypoints)
        if path.is_file():
            review._read()
        return review

    @classmethod
    def load(cls, path: str | Path) -> Review:
        """A review file on its own, without a model: its keypoint set is the one it was made with."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            names = tuple(data["keypoints"])
            stored = data.get("keypoint_set")
            keypoints = keypoints_from_dict(stored) if stored else next(
                s for s in BUILTIN_SETS.values() if s.names == names)
            video = str(data["video"])
        except FileNotFoundError:
            raise StudioError(f"review file not found: {path}") from None
        except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
            raise StudioError(f"review file {path} is unreadable ({type(exc).__name__}): fix or delete it") from None
        review = cls(path, video, keypoints)
        review._read()
        return review

    @classmethod
    def find(cls, video: str | Path, keypoints: KeypointSet, folder: str | Path | None = None) -> Review | None:
        """The review of ``video`` when there is one with at least one correction or identity fix, else None."""
        if not cls.path_for(video, folder).is_file():
            return None
        review = cls.open(video, keypoints, folder)
        return review if review.frames or review.fixes else None

    @property
    def corrected_frames(self) -> list[int]:
        return sorted(self.frames)

    def frame(self, index: int) -> ReviewedFrame | None:
        return self.frames.get(index)

    def set_frame(self, frame: ReviewedFrame) -> None:
        self.frames[frame.frame_index] = frame.copy()

    def discard_frame(self, index: int) -> None:
        self.frames.pop(index, None)

    def map_id(self, track_id: int, frame_index: int) -> int:
        """A predicted track ID as the identity fixes say it should read in ``frame_index``."""
        for fix in self.fixes:
            track_id = fix.apply(track_id, frame_index)
        return track_id

    def apply(self, result: FrameResult) -> FrameResult:
        """A prediction with the review applied: a corrected frame's persons replace the predicted ones; other
        frames keep their poses with the identity fixes applied to their track IDs."""
        reviewed = self.frames.get(result.frame_index)
        if reviewed is not None:
            persons = [p.to_pose() for p in reviewed.persons]
        else:
            persons = [replace(p, track_id=self.map_id(p.track_id, result.frame_index) if p.track_id >= 0 else -1)
                       for p in result.persons]  # everything else kept (face and hand landmarks too)
        return FrameResult(result.frame_index, result.timestamp_s, persons, result.timings_ms, result.time_flag,
                           result.capture_time)

    # ----- the file --------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"version": VERSION, "video": self.video, "keypoints": list(self.keypoints.names),
                "keypoint_set": keypoints_to_dict(self.keypoints),
                "frames": [{"frame": f.frame_index, "persons": [p.to_dict() for p in f.persons]}
                           for f in sorted(self.frames.values(), key=lambda f: f.frame_index)],
                "identity_fixes": [{"kind": x.kind, "a": x.a, "b": x.b, "from_frame": x.from_frame}
                                   for x in self.fixes],
                "suggestions": [{"frame": s.frame_index, "score": round(s.score, 4), "reasons": s.reasons}
                                for s in self.suggestions]}

    def save(self) -> Path:
        return write_json(self.path, self.to_dict(), indent=1)

    def _read(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StudioError(f"review file {self.path} is unreadable ({type(exc).__name__}): fix or delete it") \
                from None
        if not isinstance(data, dict):
            raise StudioError(f"review file {self.path} is not a review (expected a JSON object)")
        names = data.get("keypoints")
        if names != list(self.keypoints.names):
            raise StudioError(f"review file {self.path.name} was made for another keypoint set "
                              f"({len(names or [])} joints): pick the model it was made with, or move the file away")
        k = self.keypoints.num_joints
        try:
            for entry in data.get("frames", []):
                persons = [ReviewedPerson.from_dict(p, k) for p in entry["persons"]]
                self.frames[int(entry["frame"])] = ReviewedFrame(int(entry["frame"]), persons)
            self.fixes = [IdentityFix(str(x["kind"]), int(x["a"]), int(x["b"]), int(x["from_frame"]))
                          for x in data.get("identity_fixes", [])]
            self.suggestions = [Suggestion(int(s["frame"]), float(s["score"]), list(s.get("reasons", [])))
                                for s in data.get("suggestions", [])]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise StudioError(f"review file {self.path} has a malformed entry ({type(exc).__name__}: {exc}): "
                              f"fix or delete it") from None
        if any(x.kind not in ("swap", "merge") for x in self.fixes):
            raise StudioError(f"review file {self.path} has an identity fix that is neither swap nor merge")
