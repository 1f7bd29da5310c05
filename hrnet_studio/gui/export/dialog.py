""""Export keypoints…": choose the CSV / JSON / overlay-video outputs for the open video, and what to make from the
keypoints for analysis (smoothing, gap filling, joint angles, TRC files)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ...export.analysis.outputs import C3D_MISSING, AnalysisRequest, c3d_available
from .analysis_options import AnalysisOptionsBox


class ExportDialog(QDialog):
    def __init__(self, video: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export keypoints")
        self.video = video
        stem = video.with_suffix("")
        form = QFormLayout(self)
        form.addRow(QLabel(f"Every frame of <b>{video.name}</b>, with the model and options chosen in the window."))
        self.csv_check, self.csv_edit = self._row(form, "CSV (one row per person per frame)", f"{stem}.poses.csv",
                                                  True, "CSV files (*.csv)", "csv")
        self.json_check, self.json_edit = self._row(form, "COCO results JSON", f"{stem}.poses.json", False,
                                                    "JSON files (*.json)", "json")
        self.overlay_check, self.overlay_edit = self._row(form, "Overlay video (mp4)", f"{stem}.overlay.mp4", False,
                                                          "MP4 video (*.mp4)", "overlay")
        self.angles_check, self.angles_edit = self._row(form, "Joint angles CSV", f"{stem}.angles.csv", False,
                                                        "CSV files (*.csv)", "angles")
        self.trc_check, self.trc_edit = self._row(form, "OpenSim TRC, one per person", f"{stem}.trc", False,
                                                  "TRC files (*.trc)", "trc")
        self.mot_check, self.mot_edit = self._row(form, "OpenSim MOT (joint angles), one per person", f"{stem}.mot",
                                                  False, "MOT files (*.mot)", "mot")
        self.c3d_check, self.c3d_edit = self._row(form, "C3D markers, one per person", f"{stem}.c3d", False,
                                                  "C3D files (*.c3d)", "c3d")
        self.gait_check, self.gait_edit = self._row(form, "Gait events and summary (a model with feet)",
                                                    f"{stem}.gait.csv", False, "CSV files (*.csv)", "gait")
        if not c3d_available():
            self.c3d_check.setEnabled(False)
            self.c3d_check.setToolTip(C3D_MISSING)
        self.fix_swaps_check = QCheckBox("Repair left/right swaps (a limb labelled the other side for a few frames)",
                                         objectName="fixSwapsCheck")
        self.fix_swaps_check.setToolTip("Found swaps are exchanged back before anything is written; the CSV's fixed "
                                        "column names the joints. On by itself with angles or marker files.")
        self.fix_swaps_touched = False  # once the user clicks it, it stays as they set it
        self.fix_swaps_check.clicked.connect(lambda: setattr(self, "fix_swaps_touched", True))
        for check in self._analysis_checks():
            check.toggled.connect(self._follow_analysis)
        form.addRow(self.fix_swaps_check)
        self.analysis_box = AnalysisOptionsBox()
        form.addRow(self.analysis_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.buttons = buttons

    def _follow_analysis(self) -> None:
        """Swap repair follows the angle and marker outputs (as ``export`` does) until the user sets it."""
        if not self.fix_swaps_touched:
            self.fix_swaps_check.setChecked(any(c.isChecked() for c in self._analysis_checks()))

    def _analysis_checks(self) -> tuple[QCheckBox, ...]:
        return self.angles_check, self.trc_check, self.mot_check, self.c3d_check, self.gait_check

    @property
    def fix_swaps(self) -> bool:
        return self.fix_swaps_check.isChecked()

    def _row(self, form: QFormLayout, label: str, default: str, checked: bool, pattern: str, name: str):
        check = QCheckBox(label, objectName=f"{name}Check", checked=checked)
        edit = QLineEdit(default, objectName=f"{name}Path")
        browse = QPushButton("…")
        browse.setFixedWidth(32)
        browse.clicked.connect(lambda: self._browse(edit, pattern))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(browse)
        holder = QWidget()
        holder.setLayout(row)
        form.addRow(check, holder)
        return check, edit

    def _browse(self, edit: QLineEdit, pattern: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save as", edit.text(), pattern)
        if path:
            edit.setText(path)

    def outputs(self) -> tuple[Path | None, Path | None, Path | None]:
        def pick(check: QCheckBox, edit: QLineEdit) -> Path | None:
            return Path(edit.text()).expanduser() if check.isChecked() and edit.text().strip() else None

        return pick(self.csv_check, self.csv_edit), pick(self.json_check, self.json_edit), \
            pick(self.overlay_check, self.overlay_edit)

    def analysis(self, threshold: float) -> AnalysisRequest:
        """What to make from the keypoints (``threshold``: the score under which a joint counts as missing)."""
        csv = Path(self.csv_edit.text()).expanduser()
        checked = {name: Path(edit.text()).expanduser() if check.isChecked() and edit.text().strip() else None
                   for name, check, edit in (("angles", self.angles_check, self.angles_edit),
                                             ("trc", self.trc_check, self.trc_edit),
                                             ("mot", self.mot_check, self.mot_edit),
                                             ("c3d", self.c3d_check, self.c3d_edit),
                                             ("gait", self.gait_check, self.gait_edit))}
        raw = csv.with_name(csv.name.removesuffix(".csv") + ".raw.csv") if self.analysis_box.keep_raw else None
        return AnalysisRequest(self.analysis_box.filter_options(threshold), raw, checked["angles"], checked["trc"],
                               checked["mot"], checked["c3d"], checked["gait"])
