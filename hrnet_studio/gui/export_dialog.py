""""Export keypoints…": choose the CSV / JSON / overlay-video outputs for the open video."""
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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.buttons = buttons

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
