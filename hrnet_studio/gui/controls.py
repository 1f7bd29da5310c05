"""The control widgets: player bar (files) and the settings panel (model, runtime, overlay)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..inference.choices import BACKENDS, DECODERS, DETECTOR_SIZES, DEVICES, PRECISIONS
from ..inference.pipeline import PipelineOptions
from ..models.registry import ModelRecord, metrics_text

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
DOWNLOAD_ROLE = Qt.ItemDataRole.UserRole + 1  # item data marking a zoo entry that is not installed
SHA256_ROLE = Qt.ItemDataRole.UserRole + 2  # a detector's sha256 as recorded when it was installed


def format_time(seconds: float) -> str:
    minutes, secs = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}:{secs:05.2f}"


def model_summary(record: ModelRecord) -> str:
    """Where a model comes from and the figures that belong to that file (the picker's tooltip)."""
    return f"{record.origin}: " + (metrics_text(record.metrics) if record.metrics else "no published metrics")


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


DET_EVERY_CHOICES = ((0, "auto"), (1, "every frame"), (2, "every 2nd frame"), (3, "every 3rd frame"),
                     (5, "every 5th frame"), (10, "every 10th frame"))


class SettingsPanel(QWidget):
    """Model, detector, device/backend, pipeline options and overlay toggles."""

    modelChosen = Signal()  # model, detector, device or backend changed
    optionsChanged = Signal()  # decoder, flip test, tracking or smoothing changed
    overlayChanged = Signal()  # overlay toggles or threshold changed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        self.model_combo = QComboBox(objectName="modelCombo")
        self.detector_combo = QComboBox(objectName="detectorCombo")
        self.device_combo = QComboBox(objectName="deviceCombo")
        self.device_combo.addItems(list(DEVICES))
        self.backend_combo = QComboBox(objectName="backendCombo")
        self.backend_combo.addItems(list(BACKENDS))
        self.precision_combo = QComboBox(objectName="precisionCombo")
        for precision in PRECISIONS:
            self.precision_combo.addItem(precision if precision == "fp32" else precision.upper(), precision)
        self.precision_combo.setToolTip("INT8 runs the model's INT8 version on ONNX Runtime (Tools ▸ Quantize to "
                                        "INT8… makes it from your footage)")
        self.detector_size_combo = QComboBox(objectName="detectorSizeCombo")
        for size in DETECTOR_SIZES:
            self.detector_size_combo.addItem(f"{size} px", size)
        self.detector_size_combo.setCurrentIndex(DETECTOR_SIZES.index(640))
        self.detector_size_combo.setToolTip("The detector's input size: smaller is faster and misses small persons")
        self.download_button = QPushButton("Download", objectName="downloadButton")
        self.download_button.setVisible(False)
        form.addRow("Pose model", self.model_combo)
        form.addRow("Detector", self.detector_combo)
        form.addRow("Detector size", self.detector_size_combo)
        form.addRow(self.download_button)
        form.addRow("Device", self.device_combo)
        form.addRow("Backend", self.backend_combo)
        form.addRow("Precision", self.precision_combo)
        layout.addWidget(model_box)

        run_box = QGroupBox("Estimation")
        form = QFormLayout(run_box)
        self.decoder_combo = QComboBox(objectName="decoderCombo")
        self.decoder_combo.addItems(list(DECODERS))
        self.det_every_combo = QComboBox(objectName="detEveryCombo")
        for every, text in DET_EVERY_CHOICES:
            self.det_every_combo.addItem(text, every)
        self.det_every_combo.setToolTip("Between detections each person's box follows their keypoints; the detector "
                                        "comes back at once when someone is lost. Auto: from the measured costs.")
        self.flip_check = QCheckBox("Flip test (2× compute)", objectName="flipCheck")
        self.track_check = QCheckBox("Track IDs", objectName="trackCheck", checked=True)
        self.smooth_check = QCheckBox("Smooth (One-Euro)", objectName="smoothCheck")
        form.addRow("Decoder", self.decoder_combo)
        form.addRow("Detect persons", self.det_every_combo)
        for check in (self.flip_check, self.track_check, self.smooth_check):
            form.addRow(check)
        layout.addWidget(run_box)

        overlay_box = QGroupBox("Overlay")
        form = QFormLayout(overlay_box)
        self.skeleton_check = QCheckBox("Skeleton", objectName="skeletonCheck", checked=True)
        self.boxes_check = QCheckBox("Boxes", objectName="boxesCheck", checked=True)
        self.ids_check = QCheckBox("IDs", objectName="idsCheck", checked=True)
        self.scores_check = QCheckBox("Keypoint scores", objectName="scoresCheck")
        for check in (self.skeleton_check, self.boxes_check, self.ids_check, self.scores_check):
            form.addRow(check)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal, objectName="thresholdSlider")
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setValue(30)
        self.threshold_label = QLabel("0.30")
        row = QHBoxLayout()
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_label)
        form.addRow("Score threshold", row)
        layout.addWidget(overlay_box)
        layout.addStretch(1)

        for combo in (self.model_combo, self.detector_combo, self.device_combo, self.backend_combo,
                      self.detector_size_combo, self.precision_combo):
            combo.activated.connect(lambda _: self.modelChosen.emit())
        for combo in (self.model_combo, self.detector_combo):
            combo.currentIndexChanged.connect(lambda _: self._show_download_button())
        for combo in (self.decoder_combo, self.det_every_combo):
            combo.activated.connect(lambda _: self.optionsChanged.emit())
        for check in (self.flip_check, self.track_check, self.smooth_check):
            check.toggled.connect(lambda _: self.optionsChanged.emit())
        for check in (self.skeleton_check, self.boxes_check, self.ids_check, self.scores_check):
            check.toggled.connect(lambda _: self.overlayChanged.emit())
        self.threshold_slider.valueChanged.connect(self._on_threshold)

    def _on_threshold(self, value: int) -> None:
        self.threshold_label.setText(f"{value / 100:.2f}")
        self.overlayChanged.emit()

    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100

    def options(self) -> PipelineOptions:
        """The estimation options as set in the panel (the live view and the export use the same)."""
        return PipelineOptions(decoder=self.decoder_combo.currentText(), flip_test=self.flip_check.isChecked(),
                               track=self.track_check.isChecked(), smooth=self.smooth_check.isChecked(),
                               det_every=self.det_every_combo.currentData())

    @property
    def detector_size(self) -> int:
        return self.detector_size_combo.currentData()

    def fill_models(self, records: list[ModelRecord], selected: str | None) -> None:
        """Installed pose models first (fine-tuned ones included), then zoo models to download."""
        pose = [r for r in records if r.kind == "pose" and not r.problem and (r.format != "onnx" or r.installed)]
        names = {r.name for r in pose if r.installed}
        # An ONNX export of a listed model is not a model of its own: the Backend picker chooses it.
        pose = [r for r in pose if not (r.metadata and r.metadata.derived_from in names)]
        installed = [r for r in pose if r.installed]
        available = [r for r in pose if not r.installed]
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for r in installed:
            size = f"{r.input_size[0]}x{r.input_size[1]}" if r.input_size else "?"
            self.model_combo.addItem(f"{r.name}  ({r.arch}, {size})", r.name)
            self.model_combo.setItemData(self.model_combo.count() - 1, model_summary(r), Qt.ItemDataRole.ToolTipRole)
        for r in available:
            self.model_combo.addItem(f"{r.name}  (download…)", r.name)
            self.model_combo.setItemData(self.model_combo.count() - 1, "download", DOWNLOAD_ROLE)
            self.model_combo.setItemData(self.model_combo.count() - 1, model_summary(r), Qt.ItemDataRole.ToolTipRole)
        index = self.model_combo.findData(selected) if selected else -1
        self.model_combo.setCurrentIndex(max(index, 0))
        self.model_combo.blockSignals(False)
        self._show_download_button()

    def fill_detectors(self, records: list[ModelRecord], selected: str | None) -> None:
        """Installed detectors, the whole-frame choice, then zoo detectors to download."""
        self.detector_combo.blockSignals(True)
        self.detector_combo.clear()
        detectors = [r for r in records if r.kind == "detector" and not r.problem]
        for r in detectors:
            if r.installed:
                self.detector_combo.addItem(r.name, str(r.path))
                self.detector_combo.setItemData(self.detector_combo.count() - 1, r.sha256, SHA256_ROLE)
        self.detector_combo.addItem("none (whole frame is one person)", "none")
        for r in detectors:
            if not r.installed:
                self.detector_combo.addItem(f"{r.name}  (download…)", r.name)
                self.detector_combo.setItemData(self.detector_combo.count() - 1, "download", DOWNLOAD_ROLE)
        index = self.detector_combo.findData(selected) if selected else -1
        self.detector_combo.setCurrentIndex(max(index, 0))
        self.detector_combo.blockSignals(False)
        self._show_download_button()

    def model_needs_download(self) -> bool:
        return self.model_combo.currentData(DOWNLOAD_ROLE) == "download"

    def detector_needs_download(self) -> bool:
        return self.detector_combo.currentData(DOWNLOAD_ROLE) == "download"

    def pending_download(self) -> str | None:
        """The zoo name of the chosen model or detector that is not installed yet."""
        if self.model_needs_download():
            return self.model_combo.currentData()
        if self.detector_needs_download():
            return self.detector_combo.currentData()
        return None

    def _show_download_button(self) -> None:
        name = self.pending_download()
        self.download_button.setVisible(name is not None)
        if name:
            self.download_button.setText(f"Download {name}")
