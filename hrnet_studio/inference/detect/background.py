"""Detection beside the pose step, for live views: no frame ever waits for the person detector.

    frames ──▶ pose step, every frame: each person's box follows their keypoints ──▶ results
                 │ the frame, when a detection is due      ▲ the boxes of that frame, when they arrive
                 ▼                                          │
               [detector thread] ──────────────────────────┘

With the detector inline (``schedule.py``), the frame that carries a detection waits for it: with Lite-HRNet-18 on a
2-core CPU, about 30 ms of YOLO on top of 15 ms of pose every n-th frame, so the latency spikes. Here the detector
runs in a thread of its own on the frame the pose step hands it (the newest: it takes one only when idle), and the
pose step goes on following everyone's keypoints. When the boxes of frame k arrive, frames later, they are merged
into what is being followed, matched by their overlap with the boxes the persons had *at frame k*:

- a person matched keeps being followed, re-anchored on the detected box (the box then moves with the joints from
  frame k to now, as between detections in the inline schedule);
- a person the detector no longer sees at frame k is dropped (they walked out, or the box had lost them);
- a box that matches nobody is a new person, cropped from the detected box on the next frame: a person appears within
  one detection's time of entering;
- boxes older than the last merged are stale, and dropped.

When nobody is followed and no detection has said so yet (the first frame, the first after a seek) the frame waits
for its own detection, as inline, so that a single image or a video paused at its start shows its persons. Once a
detection has found the scene empty, frames go on without waiting and a person who walks in appears within one
detection's time.

A detection is asked for every n-th frame (``det_every``, or auto from the measured costs) and whenever the
followed persons need one: nobody followed, fewer seen clearly than after the last detection, or one fading. Which
frames are detected depends on timing, so this is for live views only: exports keep the inline schedule, whose
keypoints are the same on every run.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..tracking import box_iou, follow_boxes
from .detector import Detections
from .schedule import FADE, DetectionSchedule, _mean

HISTORY = 120  # frames whose boxes are kept to match a late detection against (4 s at 30 frames/s)
MIN_IOU = 0.3  # a detected box is a followed person when it overlaps their box at the detected frame this much


@dataclass
class Arrival:
    """A detection finished in the background: the frame it ran on, its boxes, what it cost (ms)."""

    index: int
    detections: Detections
    ms: float


class BackgroundDetector:
    """The detector in a thread of its own. ``submit`` hands it a frame (refused while it is busy: it will take a
    newer one), ``take`` returns the boxes of the last frame it finished, once. An exception in the detector is
    raised by the next ``take``, in the caller's thread."""

    def __init__(self, detect: Callable[[np.ndarray], Detections]):
        self._detect = detect
        self._lock = threading.Condition()
        self._job: tuple[int, np.ndarray] | None = None
        self._busy = False
        self._done: Arrival | BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="detect-beside", daemon=True)
        self._thread.start()

    def submit(self, index: int, frame_bgr: np.ndarray) -> bool:
        """Detect persons in frame ``index`` (BGR uint8 [H, W, 3], not changed while read) unless busy."""
        with self._lock:
            if self._busy or self._closed:
                return False
            self._job, self._busy = (index, frame_bgr), True
            self._lock.notify()
            return True

    def take(self) -> Arrival | None:
        """The detection finished since the last call, or None."""
        with self._lock:
            done, self._done = self._done, None
        if isinstance(done, BaseException):
            raise done
        return done

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._job is None and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                (index, frame), self._job = self._job, None
            start = time.perf_counter()
            try:
                done: Arrival | BaseException = Arrival(index, self._detect(frame), (time.perf_counter() - start) * 1000)
            except BaseException as exc:  # handed to the pose step
                done = exc
            with self._lock:
                self._done, self._busy = done, False


@dataclass
class Followed:
    """A person the pose step follows: the box and pose of their last frame, and their anchor (box, keypoints and
    scores at the detection that placed them; None until their first pose after it)."""

    uid: int
    box_score: float
    box: np.ndarray  # float32 [4] xyxy, frame pixels
    keypoints: np.ndarray | None = None  # [K, 2] frame pixels
    scores: np.ndarray | None = None  # [K]
    anchor: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


class BackgroundSchedule(DetectionSchedule):
    """When to ask the background detector, the boxes of every frame, and the merge of detections that arrive."""

    def reset(self) -> None:
        super().reset()
        self.persons: list[Followed] = []
        self._history: dict[int, dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}  # frame → uid → pose
        self._next_uid = 0
        self._merged = False  # the next frame is the first after a detection: it sets the count of clear persons
        self._merged_index = -1  # the frame of the last detection merged: an older one arriving late is stale
        self.found_nobody = False  # the last detection merged left nobody to follow: an empty scene

    def boxes(self) -> Detections:
        """This frame's boxes, one per followed person in order: the anchor box moved with the joints since, or the
        detected box of a person not yet estimated. float32 [N, 4] xyxy frame pixels."""
        boxes = np.zeros((len(self.persons), 4), np.float32)
        for i, person in enumerate(self.persons):
            if person.anchor is None or person.keypoints is None:
                boxes[i] = person.box
            else:
                boxes[i] = follow_boxes([person.anchor], [(person.keypoints, person.scores)], self.threshold)[0]
        return Detections(boxes, np.array([p.box_score for p in self.persons], np.float32))

    def wants_detection(self) -> bool:
        """Once per frame: a detection is due (every n-th frame) or needed (see the module docstring)."""
        due = super().wants_detection()
        return due or not self._follow_ok

    def merge(self, arrival: Arrival, current: bool = False) -> None:
        """Merge the boxes of frame ``arrival.index`` into the persons followed now (see the module docstring).
        ``current``: the frame in hand (never stale, whatever the numbers of frames before)."""
        self.detect_ms = _mean(self.detect_ms, arrival.ms)
        if arrival.index <= self._merged_index and not current:
            return
        self._merged_index = arrival.index
        then = self._history.get(arrival.index)
        if then is None:  # older than the history (or from before a reset): matched against the boxes of now
            then = {p.uid: (p.box, p.keypoints, p.scores) for p in self.persons}
        known = [p for p in self.persons if p.uid in then]
        detections = arrival.detections
        matched: dict[int, int] = {}  # index in known → index in detections
        if known and len(detections):
            iou = box_iou(np.array([then[p.uid][0] for p in known]), detections.boxes)
            from scipy.optimize import linear_sum_assignment

            for row, col in zip(*linear_sum_assignment(-iou)):
                if iou[row, col] >= MIN_IOU:
                    matched[int(row)] = int(col)
        persons = []
        for row, person in enumerate(known):
            if row not in matched:
                continue  # not seen at that frame: dropped
            col = matched[row]
            _, keypoints, scores = then[person.uid]
            box = detections.boxes[col].astype(np.float32)
            person.anchor = None if keypoints is None else (box.copy(), keypoints, scores)
            person.box_score = float(detections.scores[col])
            if person.anchor is None:
                person.box = box
            persons.append(person)
        persons += [p for p in self.persons if p.uid not in then]  # found after that frame: kept
        for col in sorted(set(range(len(detections))) - set(matched.values())):
            persons.append(Followed(self._next_uid, float(detections.scores[col]),
                                    detections.boxes[col].astype(np.float32)))
            self._next_uid += 1
        self.persons = persons
        self._merged = True
        self.found_nobody = not persons

    def after_pose(self, persons: list, index: int, timings_ms: dict[str, float]) -> None:
        """After frame ``index``'s pose step (``persons`` in the order of ``boxes()``, keypoints not yet smoothed)."""
        self.pose_ms = _mean(self.pose_ms, sum(timings_ms.get(s, 0.0) for s in ("crop", "pose", "decode")))
        seen = {}
        for person, pose in zip(self.persons, persons):
            person.box, person.keypoints, person.scores = pose.bbox.copy(), pose.keypoints.copy(), pose.scores.copy()
            if person.anchor is None:
                person.anchor = (person.box, person.keypoints, person.scores)
            seen[person.uid] = (person.box, person.keypoints, person.scores)
        self._history[index] = seen
        while len(self._history) > HISTORY:  # the oldest first (frames come in order; a camera's skip numbers)
            del self._history[next(iter(self._history))]
        clear = sum(1 for p in persons if p.scores.mean() >= self.threshold
                    and (p.scores >= self.threshold).mean() >= 1 / 3)
        if self._merged:
            self._clear_at_detection, self._merged = clear, False
        fading = any(p.scores.mean() < FADE * p.anchor[2].mean() for p in self.persons)
        self._follow_ok = bool(persons) and clear >= self._clear_at_detection and not fading
