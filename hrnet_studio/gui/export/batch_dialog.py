"""File ▸ Batch export…: many videos at once, as ``hrnet-studio export`` does them (the same outputs, the same
manifest), with a table of each video's progress and status. Reopened on the same output folder, it shows what
is done, and Start goes on with the rest."""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSettings, QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...batch.export import BatchSummary, run_batch
from ...batch.inputs import collect_videos, output_names
from ...batch.local import InProcessRunner
from ...batch.manifest import Manifest, VideoRecord
from ...batch.options import BatchOptions
from ...batch.settings import export_settings
from ...batch.task import VideoTask
from ...batch.worker_pool import ProcessPoolRunner, local_runner
from ...errors import StudioError, user_message
from ...export.analysis.outputs import C3D_MISSING, c3d_available
from ...inference.factory import build_pipeline
from ...inference.options import PipelineChoice, PipelineOptions
from ...thread_budget import available_cores
from ..common.shutdown import stop_thread
from .analysis_options import AnalysisOptionsBox

COLUMNS = ("Video", "Progress", "Status")


class BatchJob(QThread):
    """A batch off the UI thread: the pipeline is built here, videos run in this thread or in worker processes."""

    progress = Signal(str, int, int)  # video name, frames done, frames total
    recorded = Signal(object)  # VideoRecord, as each video ends
    finished_batch = Signal(object)  # BatchSummary
    failed = Signal(str)

    def __init__(self, tasks: list[VideoTask], out_dir: Path, choice: PipelineChoice, options: PipelineOptions,
                 workers: int):
        super().__init__()
        self.setObjectName("batch")
        self.tasks, self.out_dir, self.choice, self.options, self.workers = tasks, out_dir, choice, options, workers
        self.stop = threading.Event()  # set: the batch ends after the videos in progress (Stop)
        self.runner: InProcessRunner | ProcessPoolRunner | None = None

    def cancel(self) -> None:
        """End now: the videos in progress are cancelled (worker processes stopped) and leave no file."""
        self.stop.set()
        if isinstance(self.runner, ProcessPoolRunner):
            self.runner.cancel()

    def run(self) -> None:
        try:
            pipeline, loaded = build_pipeline(self.choice, self.options)
            settings = export_settings(self.tasks[0], self.choice, self.options, loaded)
            self.runner = runner = local_runner(pipeline, self.choice, self.options, self.workers, self.stop)
            summary = run_batch(self.tasks, settings, self.out_dir, runner, self.progress.emit, self.recorded.emit)
        except Exception as exc:
            self.failed.emit(user_message(exc, "batch export"))
            return
        self.finished_batch.emit(summary)


class BatchExportDialog(QDialog):
    def __init__(self, window, settings: QSettings):
        super().__init__(window)
        self.setWindowTitle("Batch export")
        self.setObjectName("batchDialog")
        self.window_, self.settings = window, settings
        self.job: BatchJob | None = None
        self.rows: dict[str, int] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Every frame of each video, with the model and options chosen in the window; "
                                "videos done before with the same settings are skipped."))
        self.inputs = QListWidget(objectName="batchInputs")
        self.inputs.setMaximumHeight(110)
        layout.addWidget(self.inputs)
        buttons = QHBoxLayout()
        for text, slot, name in (("Add videos…", self.add_videos, "addVideos"), ("Add folder…", self.add_folder,
                                                                                 "addFolder"),
                                 ("Remove", self.remove_selected, "removeInput")):
            button = QPushButton(text, objectName=name)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        self.recursive_check = QCheckBox("include subfolders", objectName="recursiveCheck")
        self.recursive_check.toggled.connect(self._fill_table)
        buttons.addWidget(self.recursive_check)
        layout.addLayout(buttons)
        form = QFormLayout()
        self.out_edit = QLineEdit(objectName="batchOutput")
        self.out_edit.editingFinished.connect(self.show_manifest)
        browse = QPushButton("…")
        browse.clicked.connect(self.choose_output)
        row = QHBoxLayout()
        row.addWidget(self.out_edit, 1)
        row.addWidget(browse)
        holder = QWidget()
        holder.setLayout(row)
        form.addRow("Output folder", holder)
        self.json_check = QCheckBox("COCO JSON", objectName="batchJson")
        self.overlay_check = QCheckBox("overlay video (H.264)", objectName="batchOverlay")
        self.angles_check = QCheckBox("joint angles", objectName="batchAngles")
        self.trc_check = QCheckBox("TRC per person", objectName="batchTrc")
        self.mot_check = QCheckBox("MOT per person", objectName="batchMot")
        self.c3d_check = QCheckBox("C3D per person", objectName="batchC3d", enabled=c3d_available(),
                                   toolTip="" if c3d_available() else C3D_MISSING)
        self.gait_check = QCheckBox("gait", objectName="batchGait",
                                    toolTip="gait events and a summary per video (a model with feet)")
        outputs = QHBoxLayout()
        for check in (QLabel("CSV, and"), self.json_check, self.overlay_check, self.angles_check, self.trc_check,
                      self.mot_check, self.c3d_check, self.gait_check):
            outputs.addWidget(check)
        holder = QWidget()
        holder.setLayout(outputs)
        form.addRow("Outputs", holder)
        self.fix_swaps_check = QCheckBox("repair left/right swaps (on by itself with angles, TRC, MOT, C3D or gait)",
                                         objectName="batchFixSwaps")
        self.fix_swaps_touched = False
        self.fix_swaps_check.clicked.connect(lambda: setattr(self, "fix_swaps_touched", True))
        analysis = (self.angles_check, self.trc_check, self.mot_check, self.c3d_check, self.gait_check)
        for check in analysis:
            check.toggled.connect(lambda _: self.fix_swaps_touched or self.fix_swaps_check.setChecked(
                any(c.isChecked() for c in analysis)))
        form.addRow("Swaps", self.fix_swaps_check)
        self.workers_spin = QSpinBox(objectName="batchWorkers", minimum=1, maximum=max(1, available_cores()),
                                    value=BatchOptions.workers)
        self.workers_spin.setToolTip("worker processes sharing this computer's cores")
        form.addRow("Workers", self.workers_spin)
        layout.addLayout(form)
        self.analysis_box = AnalysisOptionsBox()
        layout.addWidget(self.analysis_box)
        self.table = QTableWidget(0, len(COLUMNS), objectName="batchTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.summary_label = QLabel("", objectName="batchSummary")
        layout.addWidget(self.summary_label)
        actions = QHBoxLayout()
        self.start_button = QPushButton("Start", objectName="batchStart")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", objectName="batchStop", enabled=False)
        self.stop_button.clicked.connect(self.stop)
        actions.addStretch(1)
        actions.addWidget(self.start_button)
        actions.addWidget(self.stop_button)
        layout.addLayout(actions)
        self.resize(820, 720)
        self._restore()

    # ----- inputs ----------------------------------------------------------------------------------
    def add_inputs(self, paths: list[str | Path]) -> None:
        present = {self.inputs.item(i).text() for i in range(self.inputs.count())}
        for path in paths:
            if str(path) not in present:
                self.inputs.addItem(str(path))
        self._fill_table()

    def add_videos(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add videos", self.window_.sources.last_dir(),
                                                "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)")
        self.add_inputs(files)

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of videos", self.window_.sources.last_dir())
        if folder:
            self.add_inputs([folder])

    def remove_selected(self) -> None:
        for item in self.inputs.selectedItems():
            self.inputs.takeItem(self.inputs.row(item))
        self._fill_table()

    def choose_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.out_edit.text() or str(Path.home()))
        if folder:
            self.out_edit.setText(folder)
            self.show_manifest()

    def _videos(self) -> list[Path]:
        items = [self.inputs.item(i).text() for i in range(self.inputs.count())]
        return collect_videos(items, self.recursive_check.isChecked()) if items else []

    # ----- the table -------------------------------------------------------------------------------------
    def _fill_table(self) -> None:
        try:
            videos = self._videos()
        except StudioError as exc:
            self.summary_label.setText(str(exc))
            return
        names = output_names(videos)
        self.table.setRowCount(len(videos))
        self.rows = {}
        for row, video in enumerate(videos):
            self.rows[names[video]] = row
            for column, text in enumerate((names[video], "", "")):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.show_manifest()

    def show_manifest(self) -> None:
        """Each video's last status in the output folder's manifest (a batch reopened shows where it stands)."""
        out = self.out_edit.text().strip()
        if not out:
            return
        for record in Manifest(Path(out).expanduser()).last.values():
            self._show_record(record)

    def _show_record(self, record: VideoRecord) -> None:
        row = self.rows.get(record.name)
        if row is None:
            return
        self.table.item(row, 1).setText("100%" if record.status in ("done", "partial") else "")
        status = record.status if record.status == "done" else f"{record.status}: {record.error}"
        self.table.item(row, 2).setText(status)

    def _show_progress(self, name: str, done: int, total: int) -> None:
        row = self.rows.get(name)
        if row is not None:
            self.table.item(row, 1).setText(f"{100 * done // total}%" if total else f"{done} frames")
            self.table.item(row, 2).setText("exporting")

    # ----- running ---------------------------------------------------------------------------------------------
    def start(self) -> BatchJob | None:
        out = self.out_edit.text().strip()
        try:
            videos = self._videos()
            if not videos:
                raise StudioError("add videos or folders first")
            if not out:
                raise StudioError("choose an output folder")
            if self.window_.panel.model_needs_download():
                raise StudioError("install a pose model first (Settings ▸ Pose model)")
        except StudioError as exc:
            self.summary_label.setText(str(exc))
            return None
        out_dir = Path(out).expanduser().resolve()
        panel = self.window_.panel
        options = panel.options()
        if options.det_every == 0:  # as a single export: exact, not dependent on the machine's speed
            options = replace(options, det_every=1)
        threshold = panel.overlay_options().threshold
        names = output_names(videos)
        tasks = [VideoTask(v, names[v], out_dir, json=self.json_check.isChecked(),
                           overlay=self.overlay_check.isChecked(), overlay_options=panel.overlay_options(),
                           filters=self.analysis_box.filter_options(threshold), angles=self.angles_check.isChecked(),
                           trc=self.trc_check.isChecked(), mot=self.mot_check.isChecked(),
                           c3d=self.c3d_check.isChecked() and self.c3d_check.isEnabled(),
                           gait=self.gait_check.isChecked(),
                           keep_raw=self.analysis_box.keep_raw,
                           fix_swaps=self.fix_swaps_check.isChecked() if self.fix_swaps_touched else None)
                 for v in videos]
        self._save()
        job = BatchJob(tasks, out_dir, self.window_.current_choice(), options, self.workers_spin.value())
        job.progress.connect(self._show_progress)
        job.recorded.connect(self._show_record)
        job.finished_batch.connect(self._finished)
        job.failed.connect(lambda message: (self.summary_label.setText(message), self._running(False)))
        self.job = job
        self._running(True)
        self.summary_label.setText(f"exporting {len(tasks)} videos…")
        job.start()
        return job

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop.set()
            self.summary_label.setText("stopping: the video in progress is dropped, what is done stays done…")

    def _running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _finished(self, summary: BatchSummary) -> None:
        self._running(False)
        self.summary_label.setText("; ".join(summary.lines(len(self.rows))[:1]))
        self.show_manifest()

    def shutdown(self) -> None:
        """The window closes: stop at once (the videos in progress leave no file) and wait for the job, bounded."""
        stop_thread(self.job)

    # ----- remembered between sessions ------------------------------------------------------------------------
    def _save(self) -> None:
        self.settings.setValue("batch/inputs", [self.inputs.item(i).text() for i in range(self.inputs.count())])
        self.settings.setValue("batch/output", self.out_edit.text())
        self.settings.setValue("batch/recursive", self.recursive_check.isChecked())
        for name, check in self._checks().items():
            self.settings.setValue(f"batch/{name}", check.isChecked())
        self.settings.setValue("batch/workers", self.workers_spin.value())

    def _restore(self) -> None:
        inputs = self.settings.value("batch/inputs", [])
        self.recursive_check.setChecked(self.settings.value("batch/recursive", False, bool))
        self.out_edit.setText(self.settings.value("batch/output", "", str))
        for name, check in self._checks().items():
            check.setChecked(self.settings.value(f"batch/{name}", False, bool))
        self.workers_spin.setValue(self.settings.value("batch/workers", BatchOptions.workers, int))
        self.add_inputs([inputs] if isinstance(inputs, str) else list(inputs or []))

    def _checks(self) -> dict[str, QCheckBox]:
        return {"json": self.json_check, "overlay": self.overlay_check, "angles": self.angles_check,
                "trc": self.trc_check, "mot": self.mot_check, "c3d": self.c3d_check, "gait": self.gait_check}

    def closeEvent(self, event) -> None:
        self._save()
        super().closeEvent(event)


