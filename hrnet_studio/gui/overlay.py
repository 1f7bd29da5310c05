"""Skeletons, boxes, IDs and scores painted with QPainter over the video, in widget coordinates."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from ..inference.draw import track_colour
from ..skeletons import KeypointSet


@dataclass
class OverlayOptions:
    skeleton: bool = True
    boxes: bool = True
    ids: bool = True
    scores: bool = False
    threshold: float = 0.3


def person_colour(track_id: int) -> QColor:
    b, g, r = track_colour(track_id)
    return QColor(r, g, b)


def paint_persons(
    painter: QPainter,
    persons: Sequence,
    keypoints: KeypointSet,
    options: OverlayOptions,
    scale: float,
    offset: tuple[float, float],
) -> int:
    """Paint every person; frame pixel (x, y) lands at (x·scale + dx, y·scale + dy). Returns joints drawn."""
    dx, dy = offset
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    drawn = 0
    for person in persons:
        colour = person_colour(person.track_id)
        pts = person.keypoints * scale + np.array([dx, dy])
        visible = person.scores >= options.threshold
        if options.boxes:
            x1, y1, x2, y2 = person.bbox * scale + np.array([dx, dy, dx, dy])
            painter.setPen(QPen(colour, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(x1, y1, x2 - x1, y2 - y1))
        if options.ids and person.track_id >= 0:
            painter.setPen(QPen(colour, 1))
            x1, y1 = person.bbox[:2] * scale + np.array([dx, dy])
            painter.drawText(QPointF(x1 + 3, max(y1 - 4, 12)), f"#{person.track_id}")
        if options.skeleton:
            painter.setPen(QPen(colour, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            for a, b in keypoints.edges:
                if visible[a] and visible[b]:
                    painter.drawLine(QPointF(*pts[a]), QPointF(*pts[b]))
            painter.setPen(QPen(QColor("white"), 1))
            painter.setBrush(colour)
            for j in np.flatnonzero(visible):
                painter.drawEllipse(QPointF(*pts[j]), 3.5, 3.5)
                drawn += 1
        if options.scores:
            painter.setPen(QPen(colour, 1))
            for j in np.flatnonzero(visible):
                painter.drawText(QPointF(pts[j][0] + 5, pts[j][1] - 3), f"{person.scores[j]:.2f}")
    return drawn
