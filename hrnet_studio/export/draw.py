"""The overlay: skeletons, boxes, IDs and scores drawn onto a frame with OpenCV (no fonts to fetch).

One renderer for everything that shows poses over a picture: the exported overlay video, the app's live view,
its screenshots and its recordings, so that all four show the same drawing of the same frame. Sizes follow the
frame (lines about 1/240 of its shorter side), not the screen.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..skeletons import KeypointSet
from .options import OverlayOptions

PALETTE = [
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66),
    (0, 114, 178), (213, 94, 0), (204, 121, 167), (255, 255, 255),
]


def track_colour(track_id: int) -> tuple[int, int, int]:
    """A stable BGR colour per person ID (colour-blind-safe palette); grey for a person without an ID."""
    r, g, b = PALETTE[track_id % len(PALETTE)] if track_id >= 0 else (200, 200, 200)
    return (b, g, r)


def draw_poses(frame_bgr: np.ndarray, persons: Sequence, keypoints: KeypointSet,
               options: OverlayOptions | None = None) -> int:
    """Draw ``persons`` (each with ``keypoints`` [K, 2] and ``bbox`` x1, y1, x2, y2 in frame pixels, ``scores`` [K],
    ``track_id``; and their face and hand landmarks, ``draw_parts``) onto ``frame_bgr`` ([H, W, 3] uint8) in place.
    Returns the number of joints and landmarks drawn."""
    options = options or OverlayOptions()
    h, w = frame_bgr.shape[:2]
    thickness = max(1, round(min(h, w) / 240))
    drawn = 0
    for person in persons:
        colour = track_colour(person.track_id)
        pts = np.round(person.keypoints).astype(int)
        visible = person.scores >= options.threshold
        if options.boxes:
            x1, y1, x2, y2 = np.round(person.bbox).astype(int)
            cv2.rectangle(frame_bgr, (x1, y1), (x2, y2), colour, thickness)
        if options.ids and person.track_id >= 0:
            x1, y1 = np.round(person.bbox[:2]).astype(int)
            cv2.putText(frame_bgr, f"#{person.track_id}", (x1 + 2, max(y1 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.4 * thickness, colour, thickness, cv2.LINE_AA)
        if options.skeleton:
            for a, b in keypoints.edges:
                if visible[a] and visible[b]:
                    cv2.line(frame_bgr, tuple(pts[a]), tuple(pts[b]), colour, thickness + 1, cv2.LINE_AA)
            for j in np.flatnonzero(visible):
                cv2.circle(frame_bgr, tuple(pts[j]), thickness + 2, (255, 255, 255), -1, cv2.LINE_AA)
                cv2.circle(frame_bgr, tuple(pts[j]), thickness + 1, colour, -1, cv2.LINE_AA)
            drawn += int(visible.sum())
        if options.scores:
            for j in np.flatnonzero(visible):
                cv2.putText(frame_bgr, f"{person.scores[j]:.2f}", tuple(pts[j] + 3), cv2.FONT_HERSHEY_SIMPLEX,
                            0.3 * thickness, colour, 1, cv2.LINE_AA)
    if options.skeleton:
        drawn += draw_parts(frame_bgr, persons, options)
    return drawn


def draw_parts(frame_bgr: np.ndarray, persons: Sequence, options: OverlayOptions | None = None) -> int:
    """Draw each person's face and hand landmarks (``person.parts``, see ``wholebody.PartLandmarks``) onto
    ``frame_bgr`` in place, thinner than the body and in the person's colour; landmarks scoring below
    ``options.part_threshold`` are hidden. Returns the number of landmarks drawn."""
    options = options or OverlayOptions()
    if not options.parts:
        return 0
    h, w = frame_bgr.shape[:2]
    radius = max(1, round(min(h, w) / 480))
    drawn = 0
    for person in persons:
        colour = track_colour(person.track_id)
        for part in getattr(person, "parts", {}).values():
            pts = np.round(part.keypoints).astype(int)
            visible = part.scores >= options.part_threshold
            for a, b in part.landmarks.edges:
                if visible[a] and visible[b]:
                    cv2.line(frame_bgr, tuple(pts[a]), tuple(pts[b]), colour, 1, cv2.LINE_AA)
            for j in np.flatnonzero(visible):
                cv2.circle(frame_bgr, tuple(pts[j]), radius, (255, 255, 255), -1, cv2.LINE_AA)
            drawn += int(visible.sum())
    return drawn
