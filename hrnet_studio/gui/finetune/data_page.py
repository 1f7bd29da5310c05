"""The fine-tune wizard's data page: the annotation file and image folder (and an optional held-out set), checked in
the background as training will read them; the training sets made from reviewed videos are offered first."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QThread, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from ...errors import user_message
from ...paths import review_sets_dir
from ...training.datasets.inspect import DatasetReport, inspect_dataset
from ..common.shutdown import stop_thread

REVIEW_SETS_KEY = "review/sets"  # settings: training sets written from reviews outside review_sets_dir()


def review_sets(settings: QSettings) -> list[Path]:
    """The training sets made from reviewed videos: those in ``review_sets_dir()`` and those remembered."""
    remembered = settings.value(REVIEW_SETS_KEY, [])
    remembered = [remembered] if isinstance(remembered, str) else list(remembered or [])
    found = sorted(review_sets_dir().glob("*/annotations.json")) if review_sets_dir().is_dir() else []
    folders = [p.parent for p in found] + [Path(p) for p in remembered]
    unique = list(dict.fromkeys(f.resolve() for f in folders))
    return [f for f in unique if (f / "annotations.json").is_file()]


def remember_review_set(settings: QSettings, folder: Path) -> None:
    remembered = [str(p) for p in review_sets(settings) if p.parent != review_sets_dir().resolve()]
    settings.setValue(REVIEW_SETS_KEY, list(dict.fromkeys(remembered + [str(Path(folder).resolve())])))


def path_row(edit: QLineEdit, button_text: str, on_browse) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    button = QPushButton(button_text)
    button.clicked.connect(on_browse)
    layout.addWidget(button)
    return row


class InspectJob(QThread):
    """Reads a dataset off the UI thread (pycocotools on a large file takes seconds)."""

    done = Signal(object, object)  # training DatasetReport, validation DatasetReport or None

    def __init__(self, train: tuple[str, str], val: tuple[str, str] | None):
        super().__init__()
        self.setObjectName("inspectDataset")
        self.train, self.val = train, val

    def run(self) -> None:
        def inspect(annotation: str, images: str) -> DatasetReport:
            try:
                return inspect_dataset(annotation, images)
            except Exception as exc:  # any reader failure becomes a line in the report, never a traceback
                report = DatasetReport(Path(annotation), Path(images))
                report.problems.append(user_message(exc, f"reading {Path(annotation).name}"))
                return report

        self.done.emit(inspect(*self.train), inspect(*self.val) if self.val else None)


class DataPage(QWizardPage):
    """Annotation file and image folder (and an optional held-out set), checked as training will read them."""

    def __init__(self, settings: QSettings):
        super().__init__()
        self.setTitle("Your data")
        self.setSubTitle("A COCO-format keypoints file (any keypoint set) or an MPII json file, and its images.")
        self.settings = settings
        self.report: DatasetReport | None = None
        self.val_report: DatasetReport | None = None
        self.job: InspectJob | None = None
        self._stale = False
        self.annotation_edit = QLineEdit(objectName="annotationEdit")
        self.images_edit = QLineEdit(objectName="imagesEdit")
        self.val_annotation_edit = QLineEdit(objectName="valAnnotationEdit")
        self.val_images_edit = QLineEdit(objectName="valImagesEdit")
        self.val_annotation_edit.setPlaceholderText("optional: a held-out set scored after every epoch")
        self.report_box = QPlainTextEdit(objectName="dataReport", readOnly=True)
        self.report_box.setPlaceholderText("Pick an annotation file and its image folder.")
        self.review_combo = QComboBox(objectName="reviewSetCombo")
        self.review_combo.setPlaceholderText("frames you corrected in Review (none yet)")
        for folder in review_sets(settings):
            self.review_combo.addItem(folder.name, str(folder))
        self.review_combo.setCurrentIndex(-1)
        self.review_combo.activated.connect(lambda _: self.use_review_set(self.review_combo.currentData()))
        form = QFormLayout()
        form.addRow("Corrected frames", self.review_combo)
        form.addRow("Annotation file", path_row(self.annotation_edit, "Browse…",
                                                lambda: self._browse_file(self.annotation_edit)))
        form.addRow("Image folder", path_row(self.images_edit, "Browse…",
                                             lambda: self._browse_dir(self.images_edit)))
        form.addRow("Validation file", path_row(self.val_annotation_edit, "Browse…",
                                                lambda: self._browse_file(self.val_annotation_edit)))
        form.addRow("Validation images", path_row(self.val_images_edit, "Browse…",
                                                  lambda: self._browse_dir(self.val_images_edit)))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.report_box, 1)
        self.debounce = QTimer(self, singleShot=True, interval=300)
        self.debounce.timeout.connect(self.check)
        for edit in (self.annotation_edit, self.images_edit, self.val_annotation_edit, self.val_images_edit):
            edit.textChanged.connect(self._changed)
        self.annotation_edit.textChanged.connect(lambda text: self._guess_images(text, self.images_edit))
        self.val_annotation_edit.textChanged.connect(lambda text: self._guess_images(text, self.val_images_edit))
        self.annotation_edit.setText(settings.value("finetune/annotations", "", str))
        self.images_edit.setText(settings.value("finetune/images", "", str) or self.images_edit.text())

    def use_review_set(self, folder: str | Path | None) -> None:
        """Train on a set written by Review ▸ Add to training set (its annotations and images)."""
        if folder:
            self.images_edit.setText(str(Path(folder) / "images"))
            self.annotation_edit.setText(str(Path(folder) / "annotations.json"))

    def _browse_file(self, edit: QLineEdit) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Annotation file", edit.text() or str(Path.home()),
                                              "Annotations (*.json);;All files (*)")
        if path:
            edit.setText(path)

    def _browse_dir(self, edit: QLineEdit) -> None:
        path = QFileDialog.getExistingDirectory(self, "Image folder", edit.text() or str(Path.home()))
        if path:
            edit.setText(path)

    @staticmethod
    def _guess_images(annotation: str, edit: QLineEdit) -> None:
        """COCO and MPII keep images in ``images/`` beside ``annotations/``; fill it in when it is there."""
        if edit.text().strip() or not annotation.strip():
            return
        path = Path(annotation.strip())
        for candidate in (path.parent.parent / "images", path.parent / "images"):
            if candidate.is_dir():
                edit.setText(str(candidate))
                return

    def _changed(self) -> None:
        self.report = None
        self.completeChanged.emit()
        self.debounce.start()

    def check(self) -> None:
        """Inspect the dataset in the background; a newer request waits for the running one."""
        annotation, images = self.annotation_edit.text().strip(), self.images_edit.text().strip()
        if not annotation or not images:
            self.report_box.setPlainText("")
            return
        if self.job is not None and self.job.isRunning():
            self._stale = True
            return
        val_annotation = self.val_annotation_edit.text().strip()
        val = (val_annotation, self.val_images_edit.text().strip() or images) if val_annotation else None
        self.report_box.setPlainText(f"Reading {Path(annotation).name}…")
        self.job = InspectJob((annotation, images), val)
        self.job.done.connect(self._show_report)
        self.job.start()

    def _show_report(self, report: DatasetReport, val_report: DatasetReport | None) -> None:
        if self._stale:
            self._stale = False
            self.check()
            return
        lines = [report.summary()] + [f"problem: {p}" for p in report.problems]
        if val_report is not None:
            lines += ["", "Validation: " + val_report.summary()] + [f"problem: {p}" for p in val_report.problems]
            if report.keypoints and val_report.keypoints and report.keypoints.names != val_report.keypoints.names:
                val_report.problems.append("the validation set has other keypoints than the training set")
                lines.append("problem: the validation set has other keypoints than the training set")
        usable = report.usable and (val_report is None or val_report.usable)
        lines += ["", "Ready to train." if usable else "Fix the problems above to go on."]
        self.report_box.setPlainText("\n".join(lines))
        self.report, self.val_report = report, val_report
        if usable:
            self.settings.setValue("finetune/annotations", str(report.annotation_file))
            self.settings.setValue("finetune/images", str(report.image_root))
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt's name)
        return (self.report is not None and self.report.usable
                and (self.val_report is None or self.val_report.usable))

    def cleanup_jobs(self) -> None:
        stop_thread(self.job)  # reading a dataset cannot be cancelled: a bounded wait
