"""Settings ▸ Whole body: the face and hand landmark models that run on each person, their precision and their score
threshold."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QWidget,
)

from ...export.options import OverlayOptions
from ...models.registry import ModelRecord

DOWNLOAD_ROLE = Qt.ItemDataRole.UserRole + 1  # the settings panel's marker of a zoo entry not installed yet
WHOLEBODY_ROLE = Qt.ItemDataRole.UserRole + 2  # a pose model item: the model finds faces and hands itself


def without_exports(records: list[ModelRecord]) -> list[ModelRecord]:
    """``records`` less the ONNX and INT8 versions of an installed one among them: those are not models of their own
    (the Backend and Precision pickers choose them)."""
    names = {r.name for r in records if r.installed}
    return [r for r in records if not (r.metadata and r.metadata.derived_from in names)]


class WholeBodyBox(QGroupBox):
    """Two pickers (off, the installed face / hand models, then the zoo's to download), their precision and a
    threshold slider."""

    modelChosen = Signal()  # a face or hand model, or their precision, was picked
    thresholdChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Whole body", parent)
        form = QFormLayout(self)
        self.face_combo = QComboBox(objectName="faceModelCombo")
        self.hand_combo = QComboBox(objectName="handModelCombo")
        for combo, what in ((self.face_combo, "face"), (self.hand_combo, "hand")):
            combo.setToolTip(f"A {what} landmark model run on a box derived from each person's "
                             + ("nose, eyes and ears" if what == "face" else "wrists and elbows") + "; off by default")
            combo.activated.connect(lambda _: self.modelChosen.emit())
        self.precision_combo = QComboBox(objectName="partPrecisionCombo")
        for label, value in (("as the body model", ""), ("fp32", "fp32"), ("INT8", "int8")):
            self.precision_combo.addItem(label, value)
        self.precision_combo.setToolTip("INT8 runs the face and hand models' INT8 versions (Tools ▸ Quantize the "
                                        "face / hand model…) on ONNX Runtime, whatever the body model runs")
        self.precision_combo.activated.connect(lambda _: self.modelChosen.emit())
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal, objectName="partThresholdSlider")
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setValue(round(OverlayOptions.part_threshold * 100))
        self.threshold_label = QLabel(f"{OverlayOptions.part_threshold:.2f}")
        self.threshold_slider.valueChanged.connect(self._on_threshold)
        row = QHBoxLayout()
        row.addWidget(self.threshold_slider, 1)
        row.addWidget(self.threshold_label)
        self.built_in_note = QLabel("The pose model finds faces and hands itself (a whole-body model): no landmark "
                                    "models are needed.", objectName="wholeBodyBuiltIn", wordWrap=True)
        self.built_in_note.setVisible(False)
        form.addRow(self.built_in_note)
        form.addRow("Face", self.face_combo)
        form.addRow("Hands", self.hand_combo)
        form.addRow("Precision", self.precision_combo)
        form.addRow("Landmark threshold", row)

    def set_built_in(self, built_in: bool) -> None:
        """The chosen pose model has faces and hands of its own (a whole-body model): the pickers are greyed out (the
        landmark models would not run) and a note says why; the threshold still applies to its faces and hands."""
        self.built_in_note.setVisible(built_in)
        for widget in (self.face_combo, self.hand_combo, self.precision_combo):
            widget.setEnabled(not built_in)

    def _on_threshold(self, value: int) -> None:
        self.threshold_label.setText(f"{value / 100:.2f}")
        self.thresholdChanged.emit()

    @property
    def threshold(self) -> float:
        return self.threshold_slider.value() / 100

    def fill(self, records: list[ModelRecord], face: str | None, hand: str | None) -> None:
        """List the landmark models of ``records`` and select ``face`` / ``hand`` (registry names; None = off)."""
        for combo, kind, selected in ((self.face_combo, "face", face), (self.hand_combo, "hand", hand)):
            models = without_exports([r for r in records if r.kind == "pose" and not r.problem
                                      and r.landmarks == kind and (r.format != "onnx" or r.installed)])
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("off", None)
            for r in models:
                if r.installed:
                    combo.addItem(f"{r.name}  ({r.num_joints} points)", r.name)
            for r in models:
                if not r.installed:
                    combo.addItem(f"{r.name}  (download…)", r.name)
                    combo.setItemData(combo.count() - 1, "download", DOWNLOAD_ROLE)
            index = combo.findData(selected) if selected else 0
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)

    @property
    def precision(self) -> str | None:
        """``fp32`` or ``int8`` for the face and hand models; None: as the body model."""
        return self.precision_combo.currentData() or None

    @property
    def face_model(self) -> str | None:
        return self.face_combo.currentData()

    @property
    def hand_model(self) -> str | None:
        return self.hand_combo.currentData()

    def installed_model(self, part: str) -> str | None:
        """The chosen ``face`` or ``hand`` model when it is installed (None when off or still to download)."""
        combo = self.face_combo if part == "face" else self.hand_combo
        return None if combo.currentData(DOWNLOAD_ROLE) == "download" else combo.currentData()

    def pending_download(self) -> str | None:
        """The zoo name of a chosen landmark model that is not installed yet."""
        for combo in (self.face_combo, self.hand_combo):
            if combo.currentData(DOWNLOAD_ROLE) == "download":
                return combo.currentData()
        return None
