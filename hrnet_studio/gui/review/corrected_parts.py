"""The app's view of a corrected frame with faces and hands that follow the corrected joints, as the exports have them:
the whole-body stage run again on the persons a review put in place of the predicted ones, once per frame and
correction (a frame shown again, or a redraw, reuses the landmarks)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ...errors import user_message
from ...inference.pipeline import PosePipeline
from ...inference.results import PersonPose

KEEP = 32  # corrected frames whose landmarks are remembered


class CorrectedParts:
    """The landmarks of the corrected frames shown lately, keyed by pipeline, frame and corrected joints."""

    def __init__(self, show_error: Callable[[str], None]) -> None:
        self._show_error = show_error  # a one-line message in the window
        self._known: OrderedDict[tuple, list[dict]] = OrderedDict()
        self._failed: set[int] = set()  # pipelines whose stage failed: said once, not on every frame

    def follow(self, pipeline: PosePipeline | None, frame_bgr: np.ndarray, frame_index: int,
               persons: list[PersonPose]) -> list[PersonPose]:
        """``persons`` (a corrected frame's, in frame pixels) with ``parts`` filled by ``pipeline``'s whole-body stage
        on ``frame_bgr`` (BGR uint8 [H, W, 3]); unchanged without a stage."""
        if pipeline is None or pipeline.wholebody is None or id(pipeline) in self._failed:
            return persons
        key = (id(pipeline), id(pipeline.wholebody), frame_index,
               b"".join(p.keypoints.tobytes() + p.scores.tobytes() for p in persons))
        parts = self._known.get(key)
        if parts is None:
            try:
                pipeline.add_parts(frame_bgr, persons)
            except Exception as exc:  # the corrected body is still drawn
                self._failed.add(id(pipeline))
                self._show_error(user_message(exc, "estimating the faces and hands of a corrected frame"))
                return persons
            parts = [p.parts for p in persons]
            self._known[key] = parts
            while len(self._known) > KEEP:
                self._known.popitem(last=False)
        self._known.move_to_end(key)
        for person, found in zip(persons, parts):
            person.parts = found
        return persons
