"""The video view: the newest frame, scaled to fit with its aspect ratio kept, and the overlay."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from .overlay import OverlayOptions, paint_persons


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
        self.image: QImage | None = None
        self.persons: list = []
        self.keypoints = None
        self.placeholder = "Open a video (File ▸ Open video…) or pick a camera"
        self.last_draw_ms = 0.0
        self.joints_drawn = 0

    def sizeHint(self) -> QSize:
        return QSize(960, 540)

    def show_frame(self, frame_bgr: np.ndarray, persons: list, keypoints) -> None:
        self.image = bgr_to_qimage(frame_bgr)
        self.persons, self.keypoints = persons, keypoints
        self.update()

    def clear(self, placeholder: str | None = None) -> None:
        self.image, self.persons = None, []
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
        start = time.perf_counter()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 28))
        if self.image is None:
            painter.setPen(QColor(170, 170, 180))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            painter.end()
            return
        target = self.image_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, self.image)
        if self.keypoints is not None and self.persons:
            scale = target.width() / self.image.width()
            self.joints_drawn = paint_persons(painter, self.persons, self.keypoints, self.options, scale,
                                              (target.x(), target.y()))
        else:
            self.joints_drawn = 0
        painter.end()
        self.last_draw_ms = (time.perf_counter() - start) * 1000

    def render_frame(self) -> QImage:
        """The current frame at its own resolution with the overlay: what a screenshot saves."""
        if self.image is None:
            return QImage()
        out = self.image.copy()
        painter = QPainter(out)
        if self.keypoints is not None:
            paint_persons(painter, self.persons, self.keypoints, self.options, 1.0, (0.0, 0.0))
        painter.end()
        return out
