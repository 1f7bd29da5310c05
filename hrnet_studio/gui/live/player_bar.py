"""The player bar: play/pause, step, seek and speed for video files."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


def format_time(seconds: float) -> str:
    minutes, secs = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}:{secs:05.2f}"


class PlayerBar(QWidget):
    """Play/pause, step, seek slider with frame number and time, speed."""

    playToggled = Signal(bool)
    stepRequested = Signal()
    seekRequested = Signal(int)
    speedChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        self.play_button = QToolButton(objectName="playButton", checkable=True)
        self.play_button.setToolTip("Play / pause (Space)")
        self.step_button = QToolButton(objectName="stepButton")
        self.step_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward))
        self.step_button.setToolTip("Next frame (Right arrow)")
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="seekSlider")
        self.slider.setTracking(False)  # seek on release; the label follows while dragging
        self.position_label = QLabel("frame – / –", objectName="positionLabel")
        self.position_label.setMinimumWidth(220)
        self.speed_box = QComboBox(objectName="speedBox")
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed:g}×", speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        for widget in (self.play_button, self.step_button):
            row.addWidget(widget)
        row.addWidget(self.slider, 1)
        row.addWidget(self.position_label)
        row.addWidget(self.speed_box)
        self.fps = 30.0
        self.play_button.toggled.connect(self._on_play)
        self.step_button.clicked.connect(self.stepRequested)
        self.slider.valueChanged.connect(self.seekRequested)
        self.slider.sliderMoved.connect(self._show_position)
        self.speed_box.currentIndexChanged.connect(lambda _: self.speedChanged.emit(self.speed_box.currentData()))
        self._show_play_icon(False)
        self.set_source(0, 30.0, enabled=False)

    def _on_play(self, playing: bool) -> None:
        self._show_play_icon(playing)
        self.playToggled.emit(playing)

    def _show_play_icon(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def set_source(self, frame_count: int, fps: float, enabled: bool = True) -> None:
        self.fps = fps or 30.0
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(frame_count - 1, 0))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        for widget in (self.play_button, self.step_button, self.slider, self.speed_box):
            widget.setEnabled(enabled)
        self._show_position(0)

    def set_playing(self, playing: bool) -> None:
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self._show_play_icon(playing)
        self.play_button.blockSignals(False)

    def set_position(self, index: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self._show_position(index)

    def _show_position(self, index: int) -> None:
        total = self.slider.maximum() + 1 if self.slider.isEnabled() else 0
        self.position_label.setText(f"frame {index} / {max(total - 1, 0)}  ·  {format_time(index / self.fps)}")
