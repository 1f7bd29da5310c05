"""An export's CSV as per-person tracks (and back): every frame of a person's span, NaN where a value is missing."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...skeletons import KeypointSet
from ..table import TableLayout, TableRow, read_table


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
    corrected: np.ndarray | None = None  # [N, K] bool: corrected by hand (a reviewed video's export), else None
    fixed: np.ndarray | None = None  # [N, K] bool: swapped back left/right (an export with --fix-swaps), else None

    def __post_init__(self) -> None:
        if self.filled is None:
            self.filled = np.zeros(self.scores.shape, bool)


@dataclass
class ExportTable:
    """Every frame of the video (index → time and flag) and the tracks of the persons in it."""

    frames: dict[int, tuple[float, str]]
    tracks: dict[int, Track]
    layout: TableLayout  # the columns of the CSV it was read from


def read_export(path: Path, keypoints: KeypointSet) -> ExportTable:
    """The CSV ``export`` writes (``inference/export_table``: every value read by its column's name)."""
    layout, table_rows = read_table(path, keypoints)
    k = keypoints.num_joints
    frames: dict[int, tuple[float, str]] = {}
    rows: dict[int, dict[int, TableRow]] = {}
    for row in table_rows:
        frames[row.frame] = (row.time_s, row.time_flag)
        if row.person_id is not None:
            rows.setdefault(row.person_id, {})[row.frame] = row
    tracks = {}
    for person, seen in rows.items():
        span = np.array([f for f in sorted(frames) if min(seen) <= f <= max(seen)])
        track = Track(person, span, np.array([frames[f][0] for f in span]), np.full((len(span), k, 2), np.nan),
                      np.full((len(span), k), np.nan), np.full((len(span), 4), np.nan), np.full(len(span), np.nan),
                      corrected=np.zeros((len(span), k), bool) if layout.corrected else None,
                      fixed=np.zeros((len(span), k), bool) if layout.fixed else None)
        for i, frame in enumerate(span):
            row = seen.get(int(frame))
            if row is not None:
                track.xy[i], track.scores[i], track.boxes[i], track.box_scores[i] = row.xy, row.scores, row.box, \
                    row.box_score
                if track.corrected is not None:
                    track.corrected[i] = row.corrected
                if track.fixed is not None:
                    track.fixed[i] = row.fixed
        tracks[person] = track
    return ExportTable(frames, tracks, layout)


def write_export(out, table: ExportTable, keypoints: KeypointSet) -> None:
    """The CSV again, with the tracks' (processed) values and the ``filled`` column (the joints interpolated over
    a gap in that row); a reviewed video's ``corrected`` column and a repaired one's ``fixed`` column are kept. Rows
    stay in frame order; frames with nobody keep their empty row."""
    layout = TableLayout(keypoints, corrected=table.layout.corrected, filled=True, fixed=table.layout.fixed)
    writer = csv.writer(out)
    writer.writerow(layout.header)
    by_frame: dict[int, list[tuple[Track, int]]] = {}
    for track in table.tracks.values():
        for i, frame in enumerate(track.frames):
            if np.isfinite(track.xy[i]).any():
                by_frame.setdefault(int(frame), []).append((track, i))
    for frame, (time_s, flag) in sorted(table.frames.items()):
        entries = sorted(by_frame.get(frame, []), key=lambda e: e[0].person_id)
        if not entries:
            writer.writerow(layout.cells(TableRow(frame, time_s, flag)))
        for track, i in entries:
            writer.writerow(layout.cells(TableRow(
                frame, time_s, flag, track.person_id, track.boxes[i], track.box_scores[i], track.xy[i],
                track.scores[i], None if track.corrected is None else track.corrected[i], track.filled[i],
                fixed=None if track.fixed is None else track.fixed[i])))

