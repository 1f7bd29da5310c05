"""Editing one frame of a review: move a joint, re-flag it, delete or add a person, fix identities; undo and redo.

The editor holds the frame being corrected and writes it into the ``Review`` (and the file) after every change,
so nothing is lost when the app closes. Coordinates are frame pixels. No Qt here: the window's review panel
drives it from mouse and keyboard.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inference.results import PersonPose
from .review_file import (
    NOT_LABELLED,
    OCCLUDED,
    VISIBLE,
    IdentityFix,
    Review,
    ReviewedFrame,
    ReviewedPerson,
)

NEXT_VISIBILITY = {VISIBLE: OCCLUDED, OCCLUDED: NOT_LABELLED, NOT_LABELLED: VISIBLE}
VISIBILITY_WORDS = {VISIBLE: "visible", OCCLUDED: "occluded", NOT_LABELLED: "not labelled"}


@dataclass
class _Snapshot:
    frame: ReviewedFrame
    fixes: list[IdentityFix]
    in_review: bool
    later: dict[int, ReviewedFrame]  # corrected later frames (identity fixes change them too)


class FrameEditor:
    """Corrections to frame ``frame_index`` of ``review``, starting from the review's version of the frame or from
    the model's ``predicted`` persons."""

    def __init__(self, review: Review, frame_index: int, predicted: list[PersonPose], save: bool = True,
                 known_ids: set[int] | None = None):
        """``known_ids``: track IDs in use elsewhere in the video (a new person gets an ID none of them has)."""
        self.review = review
        self.save_each_change = save
        existing = review.frame(frame_index)
        self.frame = existing.copy() if existing is not None else ReviewedFrame(
            frame_index, [ReviewedPerson.from_pose(p) for p in predicted])
        self.selected: tuple[int, int] | None = None  # (person, joint)
        self.known_ids = set(known_ids or ()) | {p.track_id for p in predicted} | {p.track_id for p in self.persons}
        self._undo: list[_Snapshot] = []
        self._redo: list[_Snapshot] = []

    @property
    def frame_index(self) -> int:
        return self.frame.frame_index

    @property
    def persons(self) -> list[ReviewedPerson]:
        return self.frame.persons

    @property
    def is_corrected(self) -> bool:
        return self.review.frame(self.frame_index) is not None

    # ----- finding and selecting -----------------------------------------------------------------------
    def joint_at(self, x: float, y: float, radius: float) -> tuple[int, int] | None:
        """The labelled joint nearest (x, y) within ``radius`` pixels, as (person, joint), or None."""
        best, best_d = None, radius
        for p, person in enumerate(self.persons):
            d = np.hypot(person.keypoints[:, 0] - x, person.keypoints[:, 1] - y)
            d = np.where(person.visible > 0, d, np.inf)
            k = int(np.argmin(d))
            if d[k] <= best_d:
                best, best_d = (p, k), float(d[k])
        return best

    def person_at(self, x: float, y: float) -> int | None:
        """The smallest box containing (x, y), or None."""
        inside = [(float((b[2] - b[0]) * (b[3] - b[1])), i) for i, b in enumerate(p.bbox for p in self.persons)
                  if b[0] <= x <= b[2] and b[1] <= y <= b[3]]
        return min(inside)[1] if inside else None

    def select(self, person: int, joint: int) -> None:
        self.selected = (person, joint)

    def step_joint(self, step: int) -> None:
        """Select the next (``step`` 1) or previous (−1) joint of the selected person (the first person's first)."""
        if not self.persons:
            self.selected = None
            return
        if self.selected is None:
            self.selected = (0, 0 if step > 0 else len(self.persons[0].keypoints) - 1)
            return
        p, k = self.selected
        self.selected = (p, (k + step) % len(self.persons[p].keypoints))

    # ----- edits (each one undoable) -------------------------------------------------------------------------
    def move_joint(self, person: int, joint: int, x: float, y: float) -> None:
        """Put a joint at (x, y); a joint that was not labelled becomes visible."""
        self._before()
        target = self.persons[person]
        target.keypoints[joint] = (x, y)
        if target.visible[joint] == NOT_LABELLED:
            target.visible[joint] = VISIBLE
        target.corrected[joint] = True
        self.selected = (person, joint)
        self._after()

    def cycle_visibility(self, person: int | None = None, joint: int | None = None) -> int | None:
        """Visible → occluded → not labelled → visible, for the given or the selected joint; the new flag."""
        if person is None or joint is None:
            if self.selected is None:
                return None
            person, joint = self.selected
        self._before()
        target = self.persons[person]
        target.visible[joint] = NEXT_VISIBILITY[int(target.visible[joint])]
        target.corrected[joint] = True
        self._after()
        return int(target.visible[joint])

    def delete_person(self, person: int) -> None:
        self._before()
        del self.persons[person]
        self.selected = None
        self._after()

    def add_person(self, box: np.ndarray, estimated: PersonPose | None, num_joints: int) -> int:
        """A person the detector missed, in ``box`` (x1, y1, x2, y2): its joints as estimated for that box (all
        counted as corrected: the user vouched for the box), or none labelled yet. Returns its place."""
        self._before()
        box = np.asarray(box, float)
        box = np.array([min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])])
        used = [p.track_id for p in self.persons] + [f.b for f in self.review.fixes] + list(self.known_ids)
        new_id = max(used + [self._highest_id()], default=-1) + 1
        self.known_ids.add(new_id)
        if estimated is not None:
            person = ReviewedPerson.from_pose(estimated)
            person.bbox, person.track_id = box, new_id
        else:
            person = ReviewedPerson(box, np.tile(box[:2], (num_joints, 1)), np.zeros(num_joints, int),
                                    np.zeros(num_joints), np.zeros(num_joints, bool), new_id)
        person.added, person.box_score = True, 1.0
        person.corrected[:] = True
        self.persons.append(person)
        self.selected = (len(self.persons) - 1, 0)
        self._after()
        return len(self.persons) - 1

    def swap_ids(self, a: int, b: int) -> None:
        """Exchange track IDs ``a`` and ``b`` from this frame on (this frame and every later one)."""
        self._fix_identity("swap", a, b)

    def merge_ids(self, a: int, b: int) -> None:
        """Track ``a`` is ``b`` from this frame on."""
        self._fix_identity("merge", a, b)

    def _fix_identity(self, kind: str, a: int, b: int) -> None:
        if a == b:
            return
        self._before()
        fix = IdentityFix(kind, int(a), int(b), self.frame_index)
        for person in self.persons:
            person.track_id = fix.apply(person.track_id, self.frame_index)
        self.review.fixes.append(fix)
        for index, frame in self.review.frames.items():  # corrected later frames follow the fix too
            if index > self.frame_index:
                for person in frame.persons:
                    person.track_id = fix.apply(person.track_id, index)
        self._after()

    def _highest_id(self) -> int:
        ids = [p.track_id for f in self.review.frames.values() for p in f.persons]
        return max(ids, default=-1)

    # ----- undo / redo ------------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self._snapshot())
        self._restore(self._undo.pop())
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self._snapshot())
        self._restore(self._redo.pop())
        return True

    def _snapshot(self) -> _Snapshot:
        later = {i: f.copy() for i, f in self.review.frames.items() if i > self.frame_index}
        return _Snapshot(self.frame.copy(), list(self.review.fixes), self.is_corrected, later)

    def _restore(self, snap: _Snapshot) -> None:
        self.frame = snap.frame.copy()
        self.review.fixes[:] = snap.fixes
        self.review.frames.update({i: f.copy() for i, f in snap.later.items()})
        if snap.in_review:
            self.review.set_frame(self.frame)
        else:
            self.review.discard_frame(self.frame_index)
        if self.selected is not None and self.selected[0] >= len(self.persons):
            self.selected = None
        self._save()

    def _before(self) -> None:
        self._undo.append(self._snapshot())
        self._redo.clear()

    def _after(self) -> None:
        self.review.set_frame(self.frame)
        self._save()

    def _save(self) -> None:
        if self.save_each_change:
            self.review.save()
