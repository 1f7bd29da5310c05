"""The "For analysis" options of the export and batch-export dialogs (the CLI's --filter, --cutoff, --window,
--fill-gaps, --keep-raw): one widget, so both dialogs offer the same choices."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
)

from ...export.options import FilterOptions

FILTER_LABELS = {"none": "none", "butterworth": "Butterworth, zero lag", "savgol": "Savitzky–Golay"}


class AnalysisOptionsBox(QGroupBox):
    """Smoothing, gap filling and raw-CSV options; ``filter_options(threshold)`` gives what the export applies."""

    def __init__(self, parent=None):
        super().__init__("For analysis (applied to the CSV once the video is done)", parent)
        form = QFormLayout(self)
        self.filter_combo = QComboBox(objectName="filterCombo")
        for key, label in FILTER_LABELS.items():
            self.filter_combo.addItem(label, key)
        defaults = FilterOptions()  # the CLI's defaults come from the same
        self.filter_combo.setCurrentIndex(self.filter_combo.findData(defaults.filter))
        form.addRow("Smoothing", self.filter_combo)
        self.cutoff_spin = self._spin("cutoffSpin", 0.5, 50, defaults.cutoff_hz, " Hz", "Butterworth cut-off frequency")
        form.addRow("Cut-off", self.cutoff_spin)
        self.window_spin = self._spin("windowSpin", 0.05, 5, defaults.window_s, " s", "Savitzky–Golay window")
        form.addRow("Window", self.window_spin)
        self.gap_spin = self._spin("gapSpin", 0.0, 5, defaults.max_gap_s, " s", "interpolate a joint missing for up to this long "
                                   "(0: no filling); the CSV's 'filled' column names the joints filled")
        form.addRow("Fill gaps up to", self.gap_spin)
        self.keep_raw_check = QCheckBox("also keep the unprocessed CSV (NAME.raw.csv)", objectName="keepRawCheck")
        form.addRow(self.keep_raw_check)
        self.filter_combo.currentIndexChanged.connect(self._update)
        self.gap_spin.valueChanged.connect(self._update)
        self._update()

    @staticmethod
    def _spin(name: str, low: float, high: float, value: float, suffix: str, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(objectName=name, minimum=low, maximum=high, value=value, suffix=suffix, decimals=2)
        spin.setSingleStep(0.05 if high <= 5 else 0.5)
        spin.setToolTip(tip)
        return spin

    def _update(self) -> None:
        kind = self.filter_combo.currentData()
        self.cutoff_spin.setEnabled(kind == "butterworth")
        self.window_spin.setEnabled(kind == "savgol")
        self.keep_raw_check.setEnabled(kind != "none" or self.gap_spin.value() > 0)

    def filter_options(self, threshold: float) -> FilterOptions:
        """``threshold``: the keypoint score under which a joint counts as missing (the overlay's threshold)."""
        return FilterOptions(filter=self.filter_combo.currentData(), cutoff_hz=self.cutoff_spin.value(),
                             window_s=self.window_spin.value(), max_gap_s=self.gap_spin.value(), threshold=threshold)

    @property
    def keep_raw(self) -> bool:
        return self.keep_raw_check.isEnabled() and self.keep_raw_check.isChecked()
