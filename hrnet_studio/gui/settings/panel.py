"""The settings panel: the pose model and its runtime, the detector, the estimation options and the overlay.

The panel owns its state: every setting is read from it in one place (``choice``, ``options``,
``overlay_options``) and saved and restored by one table of typed settings (``SETTINGS``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...export.options import OverlayOptions
from ...inference.options import (
    BACKENDS,
    DECODERS,
    DETECTOR_SIZES,
    DEVICES,
    PRECISIONS,
    PipelineChoice,
    PipelineOptions,
)
from ...models.registry import ModelRecord, metrics_text
from ...skeletons import WHOLEBODY_LAYOUTS
from .stream_box import StreamBox
from .wholebody_box import DOWNLOAD_ROLE, WHOLEBODY_ROLE, WholeBodyBox, without_exports

SHA256_ROLE = Qt.ItemDataRole.UserRole + 2  # a detector's sha256 as recorded when it was installed


@dataclass(frozen=True)
class Setting:
    """One saved setting: the panel's widget (attribute name), its key in the settings file and how it is read.
    ``kind``: "text" (a combo's text), "data" (a combo's item data; ``type`` of it), "check", "slider"."""

    widget: str
    key: str
    kind: str
    type: type = str


SETTINGS = (
    Setting("device_combo", "device", "text"),
    Setting("backend_combo", "backend", "text"),
    Setting("decoder_combo", "decoder", "text"),
    Setting("precision_combo", "precision", "data"),
    Setting("compile_check", "compile", "check"),
    Setting("det_every_combo", "detEvery", "data", int),
    Setting("detector_size_combo", "detectorSize", "data", int),
    Setting("flip_check", "flip", "check"),
    Setting("track_check", "track", "check"),
    Setting("smooth_check", "smooth", "check"),
    Setting("skeleton_check", "skeleton", "check"),
    Setting("boxes_check", "boxes", "check"),
    Setting("ids_check", "ids", "check"),
    Setting("scores_check", "scores", "check"),
    Setting("threshold_slider", "threshold", "slider", int),
    Setting("part_threshold_slider", "partThreshold", "slider", int),
    Setting("part_precision_combo", "partPrecision", "data"),
)


def model_summary(record: ModelRecord) -> str:
    """Where a model comes from and the figures that belong to that file (the picker's tooltip)."""
    return f"{record.origin}: " + (metrics_text(record.metrics) if record.metrics else "no published metrics")


DET_EVERY_CHOICES = ((0, "auto"), (1, "every frame"), (2, "every 2nd frame"), (3, "every 3rd frame"),
                     (5, "every 5th frame"), (10, "every 10th frame"))


class SettingsPanel(QWidget):
    """Model, detector, device/backend, pipeline options and overlay toggles."""

    modelChosen = Signal()  # model, detector, device or backend changed
    optionsChanged = Signal()  # decoder, flip test, tracking or smoothing changed
    overlayChanged = Signal()  # overlay toggles or threshold changed
    streamsChanged = Signal()  # a stream switched on or off, or its address edited (Stream section)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        # every default comes from the option dataclasses (the CLI's come from the same)
        choice, options, overlay = PipelineChoice(), PipelineOptions.live(), OverlayOptions()
        layout = QVBoxLayout(self)
        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        self.model_combo = QComboBox(objectName="modelCombo")
        self.detector_combo = QComboBox(objectName="detectorCombo")
        self.device_combo = QComboBox(objectName="deviceCombo")
        self.device_combo.addItems(list(DEVICES))
        self.device_combo.setCurrentText(choice.device)
        self.backend_combo = QComboBox(objectName="backendCombo")
        self.backend_combo.addItems(list(BACKENDS))
        self.backend_combo.setCurrentText(choice.backend)
        self.precision_combo = QComboBox(objectName="precisionCombo")
        for precision in PRECISIONS:
            self.precision_combo.addItem(precision if precision == "fp32" else precision.upper(), precision)
        self.precision_combo.setCurrentIndex(self.precision_combo.findData(choice.precision))
        self.precision_combo.setToolTip("INT8 runs the model's INT8 version on ONNX Runtime (Tools ▸ Quantize to "
                                        "INT8… makes it from your footage); BF16 runs PyTorch in bfloat16 (fast on "
                                        "CPUs with AVX-512 BF16 or AMX, and on GPUs); FP16 needs a CUDA GPU")
        self.detector_size_combo = QComboBox(objectName="detectorSizeCombo")
        for size in DETECTOR_SIZES:
            self.detector_size_combo.addItem(f"{size} px", size)
        self.detector_size_combo.setCurrentIndex(self.detector_size_combo.findData(choice.detector_size))
        self.detector_size_combo.setToolTip("The detector's input size: smaller is faster and misses small persons")
        self.compile_check = QCheckBox("Compile (PyTorch: minutes to start, then faster)", objectName="compileCheck",
                                       checked=choice.compile)
        self.compile_check.setToolTip("The network goes through torch.compile when it loads: about 100 s on a small "
                                      "CPU (cached for the next time), then 1.3-1.6x faster. For long exports; ONNX "
                                      "Runtime and INT8 ignore it")
        self.download_button = QPushButton("Download", objectName="downloadButton")
        self.download_button.setVisible(False)
        form.addRow("Pose model", self.model_combo)
        form.addRow("Detector", self.detector_combo)
        form.addRow("Detector size", self.detector_size_combo)
        form.addRow(self.download_button)
        form.addRow("Device", self.device_combo)
        form.addRow("Backend", self.backend_combo)
        form.addRow("Precision", self.precision_combo)
        form.addRow(self.compile_check)
        layout.addWidget(model_box)

        run_box = QGroupBox("Estimation")
        form = QFormLayout(run_box)
        self.decoder_combo = QComboBox(objectName="decoderCombo")
        self.decoder_combo.addItems(list(DECODERS))
        self.decoder_combo.setCurrentText(options.decoder)
        self.det_every_combo = QComboBox(objectName="detEveryCombo")
        for every, text in DET_EVERY_CHOICES:
            self.det_every_combo.addItem(text, every)
        self.det_every_combo.setCurrentIndex(self.det_every_combo.findData(options.det_every))
        self.det_every_combo.setToolTip("Between detections each person's box follows their keypoints; the detector "
                                        "comes back at once when someone is lost. Auto: from the measured costs.")
        self.flip_check = QCheckBox("Flip test (2× compute)", objectName="flipCheck", checked=options.flip_test)
        self.track_check = QCheckBox("Track IDs", objectName="trackCheck", checked=options.track)
        self.smooth_check = QCheckBox("Smooth (One-Euro)", objectName="smoothCheck", checked=options.smooth)
        form.addRow("Decoder", self.decoder_combo)
        form.addRow("Detect persons", self.det_every_combo)
        for check in (self.flip_check, self.track_check, self.smooth_check):
            form.addRow(check)
        layout.addWidget(run_box)

        self.wholebody = WholeBodyBox()
        self.part_threshold_slider = self.wholebody.threshold_slider
        self.part_precision_combo = self.wholebody.precision_combo
        layout.addWidget(self.wholebody)

        overlay_box = QGroupBox("Overlay")
        form = QFormLayout(overlay_box)
        self.skeleton_check = QCheckBox("Skeleton", objectName="skeletonCheck", checked=overlay.skeleton)
        self.boxes_check = QCheckBox("Boxes", objectName="boxesCheck", checked=overlay.boxes)
        self.ids_check = QCheckBox("IDs", objectName="idsCheck", checked=overlay.ids)
        self.scores_check = QCheckBox("Keypoint scores", objectName="scoresCheck", checked=overlay.scores)
        for check in (self.skeleton_check, self.boxes_check, self.ids_check, self.scores_check):
            form.addRow(check)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal, objectName="thresholdSlider")
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setValue(round(overlay.threshold * 100))
        self.threshold_label = QLabel(f"{overlay.threshold:.2f}")
        row = QHBoxLayout()
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_label)
        form.addRow("Score threshold", row)
        layout.addWidget(overlay_box)
        self.stream = StreamBox()
        self.stream.changed.connect(self.streamsChanged.emit)
        layout.addWidget(self.stream)
        layout.addStretch(1)

        for combo in (self.model_combo, self.detector_combo, self.device_combo, self.backend_combo,
                      self.detector_size_combo, self.precision_combo):
            combo.activated.connect(lambda _: self.modelChosen.emit())
        self.compile_check.clicked.connect(lambda _: self.modelChosen.emit())
        for combo in (self.model_combo, self.detector_combo):
            combo.currentIndexChanged.connect(lambda _: self._show_download_button())
        self.model_combo.currentIndexChanged.connect(
            lambda _: self.wholebody.set_built_in(bool(self.model_combo.currentData(WHOLEBODY_ROLE))))
        for combo in (self.decoder_combo, self.det_every_combo):
            combo.activated.connect(lambda _: self.optionsChanged.emit())
        for check in (self.flip_check, self.track_check, self.smooth_check):
            check.toggled.connect(lambda _: self.optionsChanged.emit())
        for check in (self.skeleton_check, self.boxes_check, self.ids_check, self.scores_check):
            check.toggled.connect(lambda _: self.overlayChanged.emit())
        self.threshold_slider.valueChanged.connect(self._on_threshold)
        self.wholebody.modelChosen.connect(self.modelChosen.emit)
        self.wholebody.thresholdChanged.connect(self.overlayChanged.emit)
        for combo in (self.wholebody.face_combo, self.wholebody.hand_combo):
            combo.currentIndexChanged.connect(lambda _: self._show_download_button())

    def _on_threshold(self, value: int) -> None:
        self.threshold_label.setText(f"{value / 100:.2f}")
        self.overlayChanged.emit()

    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100

    def overlay_options(self) -> OverlayOptions:
        """What the overlay shows, as set in the panel (the view, screenshots, recordings and exports)."""
        return OverlayOptions(skeleton=self.skeleton_check.isChecked(), boxes=self.boxes_check.isChecked(),
                              ids=self.ids_check.isChecked(), scores=self.scores_check.isChecked(),
                              threshold=self.threshold, part_threshold=self.wholebody.threshold)

    def choice(self, trusted: Callable[[str], bool] = lambda path: False) -> PipelineChoice:
        """The model, detector and runtime chosen; ``trusted(path)``: the user said yes to this detector file."""
        detector = self.detector_combo.currentData() or "none"
        return PipelineChoice(self.model_combo.currentData(), detector, self.device_combo.currentText(),
                              self.backend_combo.currentText(), self.detector_combo.currentData(SHA256_ROLE),
                              trusted(detector), self.detector_size, self.precision_combo.currentData(),
                              face_model=self.wholebody.face_model, hand_model=self.wholebody.hand_model,
                              part_precision=self.wholebody.precision, compile=self.compile_check.isChecked())

    def save(self, settings: QSettings) -> None:
        """Write every setting of the panel (and the chosen model and detector) to ``settings``."""
        settings.setValue("model", self.model_combo.currentData())
        settings.setValue("detector", self.detector_combo.currentData())
        settings.setValue("faceModel", self.wholebody.face_model or "")
        settings.setValue("handModel", self.wholebody.hand_model or "")
        self.stream.save(settings)
        for s in SETTINGS:
            widget = getattr(self, s.widget)
            value = {"text": lambda: widget.currentText(), "data": lambda: widget.currentData(),
                     "check": lambda: widget.isChecked(), "slider": lambda: widget.value()}[s.kind]()
            settings.setValue(s.key, value)

    def restore(self, settings: QSettings) -> None:
        """Set the panel from ``settings``; a missing or unknown value keeps the widget's default. The chosen model
        and detector are selected again when the window fills the lists (``fill_models``, ``fill_detectors``)."""
        self.stream.restore(settings)
        for s in SETTINGS:
            widget = getattr(self, s.widget)
            if s.kind == "text":
                widget.setCurrentIndex(max(widget.findText(settings.value(s.key, widget.currentText(), str)), 0))
            elif s.kind == "data":
                index = widget.findData(settings.value(s.key, widget.currentData(), s.type))
                widget.setCurrentIndex(index if index >= 0 else widget.currentIndex())
            elif s.kind == "check":
                widget.setChecked(settings.value(s.key, widget.isChecked(), bool))
            else:
                widget.setValue(settings.value(s.key, widget.value(), int))

    def options(self) -> PipelineOptions:
        """The estimation options as set in the panel (the live view and the export use the same)."""
        return PipelineOptions(decoder=self.decoder_combo.currentText(), flip_test=self.flip_check.isChecked(),
                               track=self.track_check.isChecked(), smooth=self.smooth_check.isChecked(),
                               det_every=self.det_every_combo.currentData())

    @property
    def detector_size(self) -> int:
        return self.detector_size_combo.currentData()

    def fill_models(self, records: list[ModelRecord], selected: str | None) -> None:
        """Installed pose models first (fine-tuned ones included), then zoo models to download; face and hand
        landmark models go to the Whole body pickers (``fill_landmark_models``)."""
        pose = [r for r in records if r.kind == "pose" and not r.problem and (r.format != "onnx" or r.installed)
                and r.landmarks is None]
        pose = without_exports(pose)
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
        for i, r in enumerate(installed + available):
            self.model_combo.setItemData(i, r.keypoint_set in WHOLEBODY_LAYOUTS, WHOLEBODY_ROLE)
        index = self.model_combo.findData(selected) if selected else -1
        self.model_combo.setCurrentIndex(max(index, 0))
        self.model_combo.blockSignals(False)
        self.wholebody.set_built_in(bool(self.model_combo.currentData(WHOLEBODY_ROLE)))
        self._show_download_button()

    def fill_landmark_models(self, records: list[ModelRecord], face: str | None, hand: str | None) -> None:
        """The Whole body pickers, with ``face`` / ``hand`` selected (registry names; None or "" = off)."""
        self.wholebody.fill(records, face or None, hand or None)
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
        return self.wholebody.pending_download()

    def _show_download_button(self) -> None:
        name = self.pending_download()
        self.download_button.setVisible(name is not None)
        if name:
            self.download_button.setText(f"Download {name}")
