"""The video view: the newest frame with the overlay drawn on it, scaled to fit with its aspect ratio kept.

The overlay is drawn onto the frame by the one renderer (``export/draw.py``), as the exported video's is: the
view, a screenshot, a recording and an export of the same frame show the same drawing.

While a frame is being corrected (``editing``) the mouse speaks in frame pixels: ``pressed``, ``dragged`` and
``released`` carry (x, y) in the frame's own coordinates, and ``decorate`` draws the review's marks."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...export.draw import draw_poses
from ...export.options import OverlayOptions


def bgr_to_qimage(frame_bgr: np.ndarray) -> QImage:
    h, w = frame_bgr.shape[:2]
    rgb = np.ascontiguousarray(frame_bgr[..., ::-1])
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # copy: own the pixels


class VideoView(QWidget):
    pressed = Signal(float, float)  # frame pixels, while editing
    dragged = Signal(float, float)
    released = Signal(float, float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("videoView")
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.options = OverlayOptions()
        self.image: QImage | None = None  # the frame with its overlay
        self.frame: np.ndarray | None = None  # the frame as it came (BGR), to draw again when the options change
        self.persons: list = []
        self.keypoints = None
        self.placeholder = "Open a video (File ▸ Open video…) or pick a camera"
        self.last_draw_ms = 0.0
        self.joints_drawn = 0
        self.editing = False
        self.decorate: Callable[[np.ndarray], None] | None = None  # draws more onto the canvas (review marks)
        self.rubber_band: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2 frame pixels

    def sizeHint(self) -> QSize:
        return QSize(960, 540)

    def show_frame(self, frame_bgr: np.ndarray, persons: list, keypoints) -> None:
        self.frame, self.persons, self.keypoints = frame_bgr, persons, keypoints
        self.redraw()

    def redraw(self) -> None:
        """Draw the overlay onto a copy of the frame as the options say, and show it."""
        if self.frame is None:
            self.update()
            return
        start = time.perf_counter()
        canvas = self.frame.copy()
        self.joints_drawn = (draw_poses(canvas, self.persons, self.keypoints, self.options)
                             if self.keypoints is not None else 0)
        if self.decorate is not None:
            self.decorate(canvas)
        self.image = bgr_to_qimage(canvas)
        self.last_draw_ms = (time.perf_counter() - start) * 1000
        self.update()

    def clear(self, placeholder: str | None = None) -> None:
        self.image, self.frame, self.persons = None, None, []
        if placeholder:
            self.placeholder = placeholder
        self.update()

    def image_rect(self) -> QRectF:
        """Where the frame sits in the widget (aspect ratio kept, centred)."""
        if self.image is None:
            return QRectF()
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def scale(self) -> float:
        """Widget pixels per frame pixel."""
        rect = self.image_rect()
        return rect.width() / self.image.width() if self.image is not None and self.image.width() else 1.0

    def to_frame(self, pos: QPointF) -> tuple[float, float]:
        """A widget position → frame pixels."""
        rect = self.image_rect()
        s = self.scale()
        return (pos.x() - rect.x()) / s, (pos.y() - rect.y()) / s

    def to_widget(self, x: float, y: float) -> QPointF:
        """Frame pixels → a widget position."""
        rect = self.image_rect()
        s = self.scale()
        return QPointF(rect.x() + x * s, rect.y() + y * s)

    def mousePressEvent(self, event) -> None:
        if self.editing and self.image is not None and event.button() == Qt.MouseButton.LeftButton:
            self.pressed.emit(*self.to_frame(event.position()))
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self.editing and self.image is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.dragged.emit(*self.to_frame(event.position()))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self.editing and self.image is not None and event.button() == Qt.MouseButton.LeftButton:
            self.released.emit(*self.to_frame(event.position()))
        super().mouseReleaseEvent(event)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 28))
        if self.image is None:
            painter.setPen(QColor(170, 170, 180))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(self.image_rect(), self.image)
            if self.rubber_band is not None:
                x1, y1, x2, y2 = self.rubber_band
                painter.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
                painter.drawRect(QRectF(self.to_widget(x1, y1), self.to_widget(x2, y2)).normalized())
        painter.end()

    def render_frame(self) -> QImage:
        """The current frame at its own resolution with the overlay: what a screenshot saves and a recording keeps."""
        return QImage() if self.image is None else self.image.copy()
