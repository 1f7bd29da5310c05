"""Which frames to look at: a scan of the video ranks frames by what usually marks a wrong pose, and the suggestions
are spread over the video.

Five signals per frame, as DeepLabCut's outlier extraction uses (its ``jump`` and ``uncertain``) plus three of ours:

* ``low confidence``: the least confident person's mean keypoint score is low;
* ``jump``: a joint is far from the mean of its track's positions in the frames before and after (a fraction of
  the person's height);
* ``flip disagreement``: the mirrored crop, run through the network and flipped back, puts the joints elsewhere;
* ``track change``: a track starts or ends here (a person missed, found again or an identity switch);
* ``left/right swap``: a person's limb is labelled the other side here (``inference/swaps.py``: the swaps a
  ``--fix-swaps`` export would repair).

Each signal is turned into a rank over the video (0-1, so none dominates by its units), the ranks are summed,
and the best frames are picked greedily with at least ``min_gap`` frames between two suggestions.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from ..inference.codec.decode import aligned_flip_back
from ..inference.codec.transforms import person_crops
from ..inference.pipeline import PosePipeline
from ..inference.results import FrameResult, PersonPose
from ..inference.swaps import SwapRepair
from ..skeletons import KeypointSet
from ..sources.video_file import Frame
from .review_file import SUGGESTIONS, Suggestion

SIGNALS = ("low confidence", "jump", "flip disagreement", "track change", "left/right swap")
REASON_RANK = 0.9  # a signal is named as a reason when the frame is in its top tenth


@dataclass
class FrameCheck:
    """What the scan measured on one frame: its poses (tracked) and, per person, the flip disagreement."""

    frame_index: int
    persons: list[PersonPose]
    flip_gap: list[float] = field(default_factory=list)  # mean joint distance / person height, per person


def flip_gaps(pipeline: PosePipeline, frame_bgr: np.ndarray, persons: list[PersonPose]) -> list[float]:
    """For each person: how far (mean over joints, as a fraction of the box height) the network's answer on the
    mirrored crop, flipped back, lies from its answer on the crop."""
    if not persons:
        return []
    boxes = np.stack([p.bbox for p in persons])
    codec = pipeline.codec
    crops, centers, scales = person_crops(frame_bgr, boxes, pipeline.spec.input_size, pipeline.spec.normalization,
                                          udp=codec.udp)
    mirrored = pipeline.backend.infer(np.ascontiguousarray(crops[..., ::-1]))
    back = aligned_flip_back(mirrored, pipeline.spec.keypoints.flip_pairs, codec.flip_shift)
    coords, _ = codec.decode(back, centers, scales)
    heights = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    plain = np.stack([p.keypoints for p in persons])
    return [float(v) for v in np.linalg.norm(coords - plain, axis=2).mean(axis=1) / heights]


def scan(pipeline: PosePipeline, frames: Iterable[Frame],
         progress: Callable[[int], bool | None] | None = None) -> list[FrameCheck]:
    """Run the pipeline (tracking on, as set) over ``frames`` and measure each frame; ``progress(frames done)``
    returning False stops early (the frames so far are returned)."""
    pipeline.reset()
    checks = []
    for frame in frames:
        result = pipeline.process(frame.image, frame.index, frame.timestamp_s)
        checks.append(FrameCheck(frame.index, result.persons, flip_gaps(pipeline, frame.image, result.persons)))
        if progress is not None and progress(len(checks)) is False:
            break
    mark_swaps(checks, pipeline.keypoints)
    return checks


def mark_swaps(checks: list[FrameCheck], keypoints: KeypointSet) -> None:
    """Mark each person of the scanned frames whose limb is swapped left/right (``PersonPose.swapped``)."""
    for _ in SwapRepair(keypoints).run((None, FrameResult(c.frame_index, 0.0, c.persons)) for c in checks):
        pass


def signals(checks: list[FrameCheck]) -> np.ndarray:
    """The raw signals per frame, float [F, 5] in ``SIGNALS`` order (0 where a frame has nobody)."""
    out = np.zeros((len(checks), len(SIGNALS)))
    tracks: list[dict[int, PersonPose]] = [{p.track_id: p for p in c.persons if p.track_id >= 0} for c in checks]
    for i, check in enumerate(checks):
        if check.persons:
            out[i, 0] = 1.0 - min(float(np.mean(p.scores)) for p in check.persons)
            out[i, 2] = max(check.flip_gap, default=0.0)
        jumps = []
        for track_id, person in tracks[i].items():
            before = tracks[i - 1].get(track_id) if i > 0 else None
            after = tracks[i + 1].get(track_id) if i + 1 < len(checks) else None
            neighbours = [p.keypoints for p in (before, after) if p is not None]
            if neighbours:
                height = max(float(person.bbox[3] - person.bbox[1]), 1.0)
                expected = np.mean(neighbours, axis=0)
                jumps.append(float(np.linalg.norm(person.keypoints - expected, axis=1).max()) / height)
        out[i, 1] = max(jumps, default=0.0)
        if i > 0:
            out[i, 3] = len(set(tracks[i]) ^ set(tracks[i - 1]))
        out[i, 4] = sum(p.swapped is not None for p in check.persons)
    return out


def suggest(checks: list[FrameCheck], count: int = SUGGESTIONS, min_gap: int | None = None) -> list[Suggestion]:
    """Up to ``count`` frames worth a look, best first, at least ``min_gap`` frames apart (default: the video's
    length over twice ``count``, so the suggestions spread over the whole video). Frames with nobody in them are
    never suggested."""
    if not checks:
        return []
    raw = signals(checks)
    ranks = np.stack([(rankdata(col) - 1) / max(len(col) - 1, 1) if col.any() else np.zeros(len(col))
                      for col in raw.T], axis=1)
    score = ranks.sum(axis=1)
    people = np.array([bool(c.persons) for c in checks])
    span = checks[-1].frame_index - checks[0].frame_index + 1
    gap = min_gap if min_gap is not None else max(1, span // (2 * max(count, 1)))
    picked: list[Suggestion] = []
    for i in np.argsort(-score, kind="stable"):
        if len(picked) >= count:
            break
        index = checks[i].frame_index
        if not people[i] or any(abs(index - s.frame_index) < gap for s in picked):
            continue
        reasons = [name for name, r, v in zip(SIGNALS, ranks[i], raw[i]) if r >= REASON_RANK and v > 0]
        picked.append(Suggestion(index, float(score[i]), reasons or ["overall"]))
    return picked
