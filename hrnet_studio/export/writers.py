"""Keypoint writers: CSV (one row per person per frame) and COCO-results JSON (the overlay video: ``overlay_video``).

Each writes through the atomic writer: a hidden part file beside the target. ``finish()`` flushes it to
disk and checks it (the step that can fail), ``publish()`` renames it into place; an export finishes
every file before it publishes any, so a failed or interrupted export leaves no file that looks
complete. A failed write raises ``WriteError`` naming the file.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..atomic_writer import (
    AtomicFile,
    check_destination,
)
from ..inference.results import FrameResult
from ..skeletons import KeypointSet
from .table import TableLayout, TableRow


class AtomicExporter:
    """A writer whose rows go to an ``AtomicFile`` (``self._out``): ``finish`` flushes and checks it, ``publish``
    gives it its name, ``abort`` removes it."""

    _out: AtomicFile

    @property
    def part(self) -> Path:
        """The hidden file the rows go to until ``publish``."""
        return self._out.part

    def finish(self) -> None:
        self._out.finish()

    def publish(self) -> Path:
        return self._out.publish()

    def abort(self) -> None:
        self._out.abort()


class CsvExporter(AtomicExporter):
    """The export table (``table``: its columns, units and decimals): one row per person per frame,
    ``person_id`` the track ID (or the person's place in the frame when tracking is off). A frame with nobody in
    it gets one row with only ``frame``, ``time_s`` and ``time_flag`` filled, so every frame of the video appears
    in the file. With ``corrections`` (a reviewed video) the ``corrected`` column names the joints a user
    corrected by hand in each row; with ``fixed`` (``--fix-swaps``) the ``fixed`` column names the joints swapped back
    left/right (``PersonPose.swapped``). ``write`` each ``FrameResult``, then ``finish`` (everything written and
    checked) and ``publish`` (the file appears under its name), or ``abort`` (nothing appears).
    """

    def __init__(self, path: str | Path, keypoints: KeypointSet, corrections: bool = False, captured: bool = False,
                 fixed: bool = False):
        self.path = check_destination(path)
        self._out = AtomicFile(self.path)
        self._writer = csv.writer(self._out)
        self.layout = TableLayout(keypoints, corrected=corrections, captured=captured, fixed=fixed)
        self._writer.writerow(self.layout.header)

    def write(self, result: FrameResult) -> None:
        head = dict(frame=result.frame_index, time_s=result.timestamp_s, time_flag=result.time_flag,
                    capture_time=result.capture_time if result.capture_time is not None else float("nan"))
        if not result.persons:
            self._writer.writerow(self.layout.cells(TableRow(**head)))
            return
        for slot, p in enumerate(result.persons):
            self._writer.writerow(self.layout.cells(TableRow(
                **head, person_id=p.track_id if p.track_id >= 0 else slot, box=p.bbox, box_score=p.box_score,
                xy=p.keypoints, scores=p.scores, corrected=p.corrected, fixed=p.swapped)))


def part_labels(part: str, landmarks: KeypointSet) -> list[str]:
    """Column stems of one part's landmarks: ``face_0`` … for faces (their points have no names), ``left_hand_wrist``
    … for hands."""
    if part == "face":
        return [f"face_{i}" for i in range(landmarks.num_joints)]
    return [f"{part}_{name}" for name in landmarks.names]


class PartsCsvExporter(AtomicExporter):
    """The whole-body stage's landmarks, one row per person per frame beside the body CSV: ``frame, time_s,
    person_id``, then for each part (face, left_hand, right_hand) its box ``<part>_box_x1…y2`` and
    ``<label>_x, <label>_y, <label>_score`` per landmark (``part_labels``), frame pixels and 0-1 scores. A part that
    was not seen (its body joints under 0.2) leaves its cells empty; a frame with nobody gets one row with only
    ``frame`` and ``time_s``. Same ``write``/``finish``/``publish``/``abort`` cycle as ``CsvExporter``."""

    def __init__(self, path: str | Path, part_sets: dict[str, KeypointSet]):
        self.path = check_destination(path)
        self._out = AtomicFile(self.path)
        self._writer = csv.writer(self._out)
        self._parts = part_sets
        header = ["frame", "time_s", "person_id"]
        for part, landmarks in part_sets.items():
            header += [f"{part}_box_{c}" for c in ("x1", "y1", "x2", "y2")]
            header += [f"{label}_{c}" for label in part_labels(part, landmarks) for c in ("x", "y", "score")]
        self._width = len(header)
        self._writer.writerow(header)


    def write(self, result: FrameResult) -> None:
        head = [result.frame_index, f"{result.timestamp_s:.4f}"]
        if not result.persons:
            self._writer.writerow(head + [""] * (self._width - len(head)))
            return
        for slot, p in enumerate(result.persons):
            row = head + [p.track_id if p.track_id >= 0 else slot]
            for part, landmarks in self._parts.items():
                found = p.parts.get(part)
                if found is None:
                    row += [""] * (4 + 3 * landmarks.num_joints)
                    continue
                values = np.concatenate([found.keypoints, found.scores[:, None]], axis=1).reshape(-1)
                row += [f"{v:.2f}" for v in found.bbox]
                row += [f"{v:.2f}" if i % 3 != 2 else f"{v:.4f}" for i, v in enumerate(values)]
            self._writer.writerow(row)



# COCO-WholeBody's result keys for each part: [x, y, score]×K and [x, y, w, h]
JSON_PART_KEYS = {"face": ("face_kpts", "face_box"), "left_hand": ("lefthand_kpts", "lefthand_box"),
                  "right_hand": ("righthand_kpts", "righthand_box")}


class CocoJsonExporter(AtomicExporter):
    """COCO keypoint results: ``image_id`` = frame index, ``category_id`` 1, ``keypoints`` [x, y, s]×K (frame
    pixels, score 0-1), ``score`` the official rescoring (``scoring.pose_score``), ``bbox`` [x, y, w, h] pixels,
    ``track_id`` when tracking; with faces and hands (a whole-body model or stage), each part found as COCO-WholeBody
    names it (``face_kpts``/``face_box``, ``lefthand_…``, ``righthand_…``), and a whole-body model's feet as
    ``foot_kpts`` (``keypoints`` keeps COCO's 17). Same ``write``/``finish``/``publish``/``abort``
    cycle as ``CsvExporter``.

    Streamed: each result goes to the part file as it comes, so memory stays flat over any length of video; the
    file is one JSON list, the same bytes ``json.dumps`` gives for the whole list."""

    def __init__(self, path: str | Path, keypoints: KeypointSet, captured: bool = False):
        self.path = check_destination(path)
        self._out = AtomicFile(self.path)
        self._out.write("[")
        self.count = 0
        self.captured = captured  # a live recording: each entry gets the frame's ``capture_time``
        self.body = 17 if keypoints.name == "coco23" else keypoints.num_joints  # feet go to ``foot_kpts``

    def write(self, result: FrameResult) -> None:
        for p in result.persons:
            kpts = [round(float(v), 3) for v in np.concatenate([p.keypoints, p.scores[:, None]], axis=1).reshape(-1)]
            entry = {
                "image_id": result.frame_index,
                "category_id": 1,
                "keypoints": kpts[:3 * self.body],
                "score": round(p.pose_score(), 5),
                "bbox": [round(float(v), 2) for v in (p.bbox[0], p.bbox[1], p.bbox[2] - p.bbox[0], p.bbox[3] - p.bbox[1])],
            }
            if len(kpts) > 3 * self.body:
                entry["foot_kpts"] = kpts[3 * self.body:]
            if p.track_id >= 0:
                entry["track_id"] = p.track_id
            if self.captured and result.capture_time is not None:
                entry["capture_time"] = round(result.capture_time, 6)
            for part, found in p.parts.items():
                kpts_key, box_key = JSON_PART_KEYS[part]
                values = np.concatenate([found.keypoints, found.scores[:, None]], axis=1).reshape(-1)
                entry[kpts_key] = [round(float(v), 3) for v in values]
                x1, y1, x2, y2 = (float(v) for v in found.bbox)
                entry[box_key] = [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)]
            self._out.write((", " if self.count else "") + json.dumps(entry))
            self.count += 1

    def finish(self) -> None:
        self._out.write("]")
        self._out.finish()

