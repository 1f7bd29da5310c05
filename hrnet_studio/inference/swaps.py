"""Left/right swaps: frames where a person's left and right limb were labelled the other way round, found and repaired.

Seen from the side, a runner's far leg is often labelled as the near one for a few frames; a knee angle then jumps by
100° and back. For each tracked person and limb (the legs: knees, ankles and, with a whole-body model, the feet; the
arms: elbows and wrists) every frame is either as labelled or swapped; the labelling chosen is the one that moves the
limb's joints least from frame to frame, each swapped frame costing ``PRIOR`` (so a frame is only called a swap when
exchanging its sides makes the track much smoother). That is a shortest path over two states per frame (Viterbi),
computed over a window of ``LAG`` frames ahead of the frame decided: a swap up to half the window long is seen from
both ends wherever it starts in the window, and a wrong decision cannot lock in (each swapped frame keeps paying). Distances are in units of the
person's box diagonal, over the joints scored ``MIN_SCORE`` or more on both frames; a track missing for more than
``MAX_GAP`` frames starts afresh.

``SwapRepair.run`` wraps a stream of (frame, result) as the export writes it: frames come out ``LAG`` frames later,
every person marked with the joints of its swapped limbs (``PersonPose.swapped``), and, with ``repair``, those joints
exchanged back (before any filter, angle or TRC sees them). Every swap found is listed in ``found``.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..skeletons import KeypointSet

LIMBS = {
    "legs": ("knee", "ankle", "big_toe", "small_toe", "heel"),
    "arms": ("elbow", "wrist"),
}
# Measured with benchmarks/swaps.py (swaps injected into yolo11n-pose tracks of the five shared clips): PRIOR 0.02,
# LAG 30 found them with precision 0.961 and recall 0.936 (0.05 and 15: 0.960 and 0.872; 0.03 and 30: 0.961, 0.909)
PRIOR = 0.02  # the cost of calling a frame swapped, in box diagonals of joint motion saved
LAG = 30  # frames looked ahead before a frame is decided (and held back by ``SwapRepair.run``)
MIN_SCORE = 0.2  # joints scored under this on either frame are left out of the motion
MAX_GAP = 3  # frames a track may be missing and still continue


@dataclass(frozen=True)
class Swap:
    """One swap found: the frame index, the person (track ID), the limb (``legs`` or ``arms``), and whether it was
    repaired."""

    frame: int
    person: int
    limb: str
    repaired: bool


@dataclass
class _Seen:
    frame: int
    xy: np.ndarray  # [K, 2] as labelled
    scores: np.ndarray  # [K]
    size: float  # the box diagonal, pixels


class SwapFinder:
    """The limbs of a keypoint set, and the decision for one limb of one track over a run of frames."""

    def __init__(self, keypoints: KeypointSet, prior: float | None = None):
        index = {name: i for i, name in enumerate(keypoints.names)}
        self.limbs = {limb: pairs for limb, joints in LIMBS.items()
                      if len(pairs := np.array([(index[f"left_{j}"], index[f"right_{j}"]) for j in joints
                                                if f"left_{j}" in index and f"right_{j}" in index],
                                               dtype=int).reshape(-1, 2))}
        self.prior = PRIOR if prior is None else prior

    def states(self, seen: list[_Seen], pairs: np.ndarray, first: int | None = None) -> np.ndarray:
        """Swapped or not (bool per frame of ``seen``, consecutive frames of one track) for the limb ``pairs``
        [P, 2] (left, right indices): the cheapest labelling. ``first``: the first frame's state, already decided."""
        n = len(seen)
        cost = np.array([0.0, self.prior])
        if first is not None:
            cost = np.array([0.0, np.inf]) if first == 0 else np.array([np.inf, 0.0])
        back = np.zeros((n, 2), dtype=int)
        for t in range(1, n):
            if seen[t].frame - seen[t - 1].frame > MAX_GAP:  # a new start: nothing links the two
                moves = np.zeros((2, 2))
            else:
                moves = _moves(seen[t - 1], seen[t], pairs)
            total = cost[:, None] + moves  # [from, to]
            back[t] = np.argmin(total, axis=0)
            cost = total[back[t], [0, 1]] + np.array([0.0, self.prior])
        state = int(np.argmin(cost))
        out = np.zeros(n, dtype=bool)
        for t in range(n - 1, -1, -1):
            out[t] = bool(state)
            state = back[t, state]
        return out


def _moves(before: _Seen, after: _Seen, pairs: np.ndarray) -> np.ndarray:
    """How far the limb's joints move from ``before`` to ``after`` [2, 2] (before's state, after's state: as labelled
    0, swapped 1), summed over usable joints, in box diagonals."""
    left, right = pairs[:, 0], pairs[:, 1]
    usable = ((before.scores[left] >= MIN_SCORE) & (before.scores[right] >= MIN_SCORE)
              & (after.scores[left] >= MIN_SCORE) & (after.scores[right] >= MIN_SCORE))
    if not usable.any():
        return np.zeros((2, 2))
    left, right = left[usable], right[usable]
    sides = [(before.xy[left], before.xy[right]), (before.xy[right], before.xy[left])]
    now = [(after.xy[left], after.xy[right]), (after.xy[right], after.xy[left])]
    size = max(after.size, 1.0)
    return np.array([[(np.linalg.norm(a[0] - b[0], axis=1) + np.linalg.norm(a[1] - b[1], axis=1)).sum() / size
                      for b in now] for a in sides])


class SwapRepair:
    """Finds (and with ``repair`` undoes) the swaps of a stream of tracked results, ``lag`` frames behind it."""

    def __init__(self, keypoints: KeypointSet, repair: bool = False, lag: int | None = None,
                 prior: float | None = None):
        self.finder = SwapFinder(keypoints, PRIOR if prior is None else prior)
        lag = LAG if lag is None else lag
        self.repair, self.lag = repair, lag
        self.found: list[Swap] = []
        self._decided: dict[tuple[int, str], tuple[_Seen, int]] = {}  # (track, limb) -> last decided frame, state

    def run(self, stream: Iterable[tuple[object, object]]) -> Iterator[tuple[object, object]]:
        """(frame, result) as they come (``result.persons`` tracked, frames in order), each out ``lag`` frames
        later, marked and, with ``repair``, repaired. Closing the iterator closes ``stream``."""
        held: deque = deque()
        try:
            for item in stream:
                held.append(item)
                if len(held) > self.lag:
                    yield self._decide(held)
            while held:
                yield self._decide(held)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def _decide(self, held: deque) -> tuple[object, object]:
        frame, result = held[0]
        for person in result.persons:
            person.swapped = None
            if person.track_id < 0 or not self.finder.limbs:
                continue
            seen = [_Seen(r.frame_index, p.keypoints, p.scores, float(np.hypot(*(p.bbox[2:] - p.bbox[:2]))))
                    for _, r in held for p in r.persons if p.track_id == person.track_id]
            marks = np.zeros(len(person.keypoints), dtype=bool)
            for limb, pairs in self.finder.limbs.items():
                before = self._decided.get((person.track_id, limb))
                recent = before is not None and seen[0].frame - before[0].frame <= MAX_GAP
                run = [before[0]] + seen if recent else seen
                states = self.finder.states(run, pairs, before[1] if recent else None)
                swapped = bool(states[1 if recent else 0])
                self._decided[(person.track_id, limb)] = (seen[0], int(swapped))
                if swapped:
                    marks[pairs.reshape(-1)] = True
                    self.found.append(Swap(result.frame_index, person.track_id, limb, self.repair))
            if marks.any():
                person.swapped = marks
                if self.repair:
                    person.keypoints, person.scores = exchanged(person.keypoints, person.scores, marks,
                                                                self.finder.limbs)
        held.popleft()
        return frame, result


def exchanged(xy: np.ndarray, scores: np.ndarray, marks: np.ndarray, limbs: dict[str, np.ndarray]
              ) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints [K, 2] and scores [K] with the left and right joints of every limb whose joints are marked
    exchanged (copies)."""
    xy, scores = xy.copy(), scores.copy()
    for pairs in limbs.values():
        if marks[pairs.reshape(-1)].all():
            left, right = pairs[:, 0], pairs[:, 1]
            xy[left], xy[right] = xy[right].copy(), xy[left].copy()
            scores[left], scores[right] = scores[right].copy(), scores[left].copy()
    return xy, scores


def summary(found: list[Swap]) -> list[str]:
    """Lines for an export's summary: the count, then every swap, as runs of consecutive frames per person and limb
    (``person 1, legs: frames 8-9, 40-43``)."""
    if not found:
        return []
    verb = "repaired" if found[0].repaired else "found (not repaired: --fix-swaps repairs them)"
    lines = [f"left/right swaps {verb}: {len(found)} frame(s)"]
    runs: dict[tuple[int, str], list[list[int]]] = {}
    for swap in sorted(found, key=lambda s: (s.person, s.limb, s.frame)):
        spans = runs.setdefault((swap.person, swap.limb), [])
        if spans and swap.frame == spans[-1][1] + 1:
            spans[-1][1] = swap.frame
        else:
            spans.append([swap.frame, swap.frame])
    for (person, limb), spans in runs.items():
        frames = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
        lines.append(f"  person {person}, {limb}: frame{'s' if len(spans) > 1 or spans[0][0] != spans[0][1] else ''} "
                     f"{frames}")
    return lines
