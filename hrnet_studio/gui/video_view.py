"""The video view: the newest frame with the overlay drawn on it, scaled to fit with its aspect ratio kept.

The overlay is drawn onto the frame by the one renderer (``inference/draw.py``), as the exported video's is: the
view, a screenshot, a recording and an export of the same frame show the same drawing."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..inference.draw import OverlayOptions, draw_poses


def bgr_to_qimage(frame_bgr: np.ndarray) -> QImage:
    h, w = frame_bgr.shape[:2]
    rgb = np.ascontiguousarray(frame_bgr[..., ::-1])
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # copy: own the pixels


class VideoView(QWidget):
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

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 28))
        if self.image is None:
            painter.setPen(QColor(170, 170, 180))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(self.image_rect(), self.image)
        painter.end()

    def render_frame(self) -> QImage:
        """The current frame at its own resolution with the overlay: what a screenshot saves and a recording keeps."""
        return QImage() if self.image is None else self.image.copy()
