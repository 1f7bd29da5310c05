"""An export's CSV as per-person tracks (and back): every frame of a person's span, NaN where a value is missing."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..skeletons import KeypointSet


@dataclass
class Track:
    """One person over the frames from their first to their last appearance (frames they were not seen in
    included, all NaN): ``xy`` [N, K, 2] frame pixels, ``scores`` [N, K], ``boxes`` [N, 4], ``box_scores`` [N]."""

    person_id: int
    frames: np.ndarray  # [N] frame indices, consecutive
    times: np.ndarray  # [N] seconds (the video's presentation times)
    xy: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    box_scores: np.ndarray
    filled: np.ndarray = field(default=None)  # [N, K] bool: a value interpolated over a gap

    def __post_init__(self) -> None:
        if self.filled is None:
            self.filled = np.zeros(self.scores.shape, bool)


@dataclass
class ExportTable:
    """Every frame of the video (index → time and flag) and the tracks of the persons in it."""

    frames: dict[int, tuple[float, str]]
    tracks: dict[int, Track]


def _number(text: str) -> float:
    return float(text) if text != "" else np.nan


def read_export(path: Path, keypoints: KeypointSet) -> ExportTable:
    """The CSV ``export`` writes (columns ``frame, time_s, time_flag, person_id, box…, <joint>_x/_y/_score``)."""
    k = keypoints.num_joints
    frames: dict[int, tuple[float, str]] = {}
    rows: dict[int, list[list[str]]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            frame = int(row[0])
            frames[frame] = (float(row[1]), row[2])
            if row[3] != "":
                rows.setdefault(int(row[3]), []).append(row)
    tracks = {}
    for person, person_rows in rows.items():
        seen = {int(r[0]): r for r in person_rows}
        span = np.array([f for f in sorted(frames) if min(seen) <= f <= max(seen)])
        values = np.full((len(span), 5 + 3 * k), np.nan)
        for i, frame in enumerate(span):
            if frame in seen:
                values[i] = [_number(v) for v in seen[frame][4:]]
        joints = values[:, 5:].reshape(-1, k, 3)
        tracks[person] = Track(person, span, np.array([frames[f][0] for f in span]), joints[..., :2].copy(),
                               joints[..., 2].copy(), values[:, :4].copy(), values[:, 4].copy())
    return ExportTable(frames, tracks)


def write_export(out, table: ExportTable, header: list[str], keypoints: KeypointSet) -> None:
    """The CSV again, with the tracks' (processed) values and a last column ``filled``: the joints interpolated
    over a gap in that row, space-separated. Rows stay in frame order; frames with nobody keep their empty row."""
    writer = csv.writer(out)
    writer.writerow(header + ["filled"])
    by_frame: dict[int, list[tuple[Track, int]]] = {}
    for track in table.tracks.values():
        for i, frame in enumerate(track.frames):
            if np.isfinite(track.xy[i]).any():
                by_frame.setdefault(int(frame), []).append((track, i))
    width = len(header) - 3
    for frame, (time_s, flag) in sorted(table.frames.items()):
        head = [frame, f"{time_s:.4f}", flag]
        entries = sorted(by_frame.get(frame, []), key=lambda e: e[0].person_id)
        if not entries:
            writer.writerow(head + [""] * width + [""])
            continue
        for track, i in entries:
            box = [fmt_number(v, 2) for v in track.boxes[i]] + [fmt_number(track.box_scores[i], 4)]
            joints = []
            for j in range(keypoints.num_joints):
                score = "" if track.filled[i, j] else fmt_number(track.scores[i, j], 4)
                joints += [fmt_number(track.xy[i, j, 0], 2), fmt_number(track.xy[i, j, 1], 2), score]
            filled = " ".join(keypoints.names[j] for j in np.flatnonzero(track.filled[i]))
            writer.writerow(head + [track.person_id] + box + joints + [filled])


def fmt_number(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals; empty for NaN (a missing value in our CSVs)."""
    return f"{value:.{decimals}f}" if np.isfinite(value) else ""
