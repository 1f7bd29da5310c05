"""How a corrected frame looks: drawn over the usual overlay so a user tells corrections from raw predictions at a
glance (white squares on joints corrected by hand, hollow rings on occluded joints, a white box around a person
added by hand, a yellow ring on the selected joint and a "corrected" tag on the frame)."""
from __future__ import annotations

import cv2
import numpy as np

from .review_file import OCCLUDED, ReviewedFrame

WHITE = (255, 255, 255)
SELECTED = (0, 215, 255)  # yellow, BGR
TAG = (60, 160, 60)


def draw_review_marks(canvas: np.ndarray, frame: ReviewedFrame, selected: tuple[int, int] | None = None,
                      editing: bool = False) -> None:
    """Draw the marks of ``frame`` onto ``canvas`` ([H, W, 3] uint8 BGR, in place); ``editing`` adds the
    "editing" tag and shows every labelled joint, even those the overlay's threshold hides."""
    size = max(3, round(min(canvas.shape[:2]) / 160))
    for p, person in enumerate(frame.persons):
        if person.added:
            x1, y1, x2, y2 = (int(round(v)) for v in person.bbox)
            cv2.rectangle(canvas, (x1, y1), (x2, y2), WHITE, 1, cv2.LINE_AA)
        for k, ((x, y), v) in enumerate(zip(person.keypoints, person.visible)):
            if v <= 0:
                continue
            centre = (int(round(x)), int(round(y)))
            if editing:
                cv2.circle(canvas, centre, 2, WHITE, -1, cv2.LINE_AA)
            if v == OCCLUDED:
                cv2.circle(canvas, centre, size + 2, WHITE, 1, cv2.LINE_AA)
            if person.corrected[k]:
                cv2.rectangle(canvas, (centre[0] - size, centre[1] - size), (centre[0] + size, centre[1] + size),
                              WHITE, 1, cv2.LINE_AA)
            if selected == (p, k):
                cv2.circle(canvas, centre, size + 5, SELECTED, 2, cv2.LINE_AA)
    label = "editing" if editing else "corrected"
    (w, h), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    cv2.rectangle(canvas, (4, 4), (12 + w, 12 + h), TAG, -1)
    cv2.putText(canvas, label, (8, 8 + h), cv2.FONT_HERSHEY_SIMPLEX, 0.5, WHITE, 1, cv2.LINE_AA)
