"""What the app writes from what it shows: keypoint exports of the open video (CSV, JSON, overlay video),
screenshots and recordings of the view. Each file appears whole or not at all; a failure is one message."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog

from ...atomic_writer import WriteError, atomic_path, make_folder
from ...errors import StudioError
from ...export.analysis.gait import NEEDS_FEET, has_feet
from ...export.analysis.outputs import AnalysisRequest
from ...inference.swaps import summary as swap_summary
from ...sources.video_file import VideoFileSource
from ..common.jobs import ExportJob, ExportRequest
from ..live.recorder import OverlayRecorder
from ..window_part import WindowPart
from .batch_dialog import BatchExportDialog
from .dialog import ExportDialog

if TYPE_CHECKING:
    from ..services import WindowServices


class OutputActions(WindowPart):
    """File ▸ Export keypoints…, Save screenshot and Record overlay video, for ``window``."""

    def __init__(self, window: WindowServices):
        super().__init__(window)
        self.export_job: ExportJob | None = None
        self.export_dialog: QProgressDialog | None = None
        self.recorder: OverlayRecorder | None = None
        self.record_path: Path | None = None
        self.batch_dialog: BatchExportDialog | None = None

    def add_frame(self) -> None:
        """The view has a new frame: a running recording keeps it."""
        if self.recorder is not None:
            self.recorder.add(self.window.view.render_frame())

    def open_batch_export(self) -> BatchExportDialog:
        """File ▸ Batch export…: non-modal, one at a time; the live view keeps running beside it."""
        if self.batch_dialog is None:
            self.batch_dialog = BatchExportDialog(self.window, self.window.settings)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        return self.batch_dialog

    def export_keypoints(self) -> ExportDialog | None:
        """File ▸ Export keypoints…: the dialog of outputs for the open video file; None when there is nothing to
        export from (a camera, an image folder, no model)."""
        source = self.window.source
        if source is None or source.is_live or not isinstance(source, VideoFileSource):
            self.window.show_error("open a video file first: keypoints are exported from a whole video")
            return None
        if self.window.panel.model_needs_download():
            self.window.show_error("install a pose model first (Settings ▸ Pose model)")
            return None
        dialog = ExportDialog(self.window.source.path, self.window)
        dialog.setObjectName("exportDialog")
        pipeline = self.window.worker.pipeline
        if pipeline is not None and not has_feet(pipeline.keypoints):
            dialog.gait_check.setEnabled(False)
            dialog.gait_check.setToolTip(NEEDS_FEET)
        dialog.accepted.connect(lambda: self.start_export(
            *dialog.outputs(), analysis=dialog.analysis(self.window.panel.overlay_options().threshold),
            fix_swaps=dialog.fix_swaps))
        dialog.open()
        return dialog

    def start_export(self, csv: Path | None, json: Path | None, overlay: Path | None,
                     analysis: AnalysisRequest | None = None, fix_swaps: bool | None = None) -> ExportJob | None:
        """Export the open video in a job of its own with a progress dialog: the panel's model, options and overlay
        (the auto detection schedule becomes every frame: an export does not depend on the machine's speed)."""
        if not (csv or json or overlay):
            self.window.show_error("nothing to export: choose at least one output")
            return None
        if analysis is not None and analysis.wanted and csv is None:
            self.window.show_error("smoothing, angles and TRC files are made from the keypoints CSV: tick the CSV too")
            return None
        p = self.window.panel
        options = p.options()
        if options.det_every == 0:  # auto follows the machine's timing: an export is exact, every frame detected
            options = replace(options, det_every=1)
        request = ExportRequest(self.window.source.path, csv, json, overlay, self.window.current_choice(), options,
                                p.overlay_options(), analysis, self.window.review.for_export(), fix_swaps)
        job = ExportJob(request)
        frames = max(self.window.source.frame_count, 1)
        dialog = QProgressDialog(f"Exporting {request.video.name}…", "Cancel", 0, frames, self.window)
        dialog.setObjectName("exportProgress")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        job.progress.connect(lambda done, total: (dialog.setMaximum(max(total, 1)), dialog.setValue(done)))
        dialog.canceled.connect(job.cancel)
        job.done.connect(lambda report: (dialog.reset(), self._export_finished(report)))
        job.failed.connect(lambda msg: (dialog.reset(), self.window.show_error(msg)))
        self.export_job, self.export_dialog = job, dialog
        job.start()
        return job

    def _export_finished(self, report) -> None:
        if report.cancelled:
            self.window.statusBar().showMessage("export cancelled: no file was written", 10000)
        else:
            names = ", ".join(p.name for p in report.outputs)
            notes = report.notes + ([report.timing_note] if report.timing_note else []) + swap_summary(report.swaps)[:1]
            note = "".join(f"; {line}" for line in notes)
            self.window.statusBar().showMessage(f"exported {report.frames} frames to {names}{note}", 15000)

    def screenshot_dir(self) -> Path:
        default = Path(platformdirs.user_pictures_dir()) / "HRNet Studio"
        return Path(self.window.settings.value("screenshotDir", str(default), str))

    def save_screenshot(self) -> Path | None:
        image = self.window.view.render_frame()
        if image.isNull():
            self.window.show_error("nothing to save yet: open a video or a camera")
            return None
        path = self.screenshot_dir() / f"hrnet-studio-{datetime.now():%Y%m%d-%H%M%S-%f}.png"
        try:
            make_folder(path.parent)
            with atomic_path(path) as part:
                if not image.save(str(part), "PNG"):
                    raise WriteError(path, "the image could not be written (disk full or not writable?)")
        except StudioError as exc:
            self.window.show_error(str(exc))
            return None
        self.window.statusBar().showMessage(f"screenshot saved: {path}", 10000)
        return path

    def toggle_recording(self) -> None:
        if self.recorder is None:
            if self.window.view.image is None:
                self.window.record_action.setChecked(False)
                self.window.show_error("nothing to record yet: open a video or a camera")
                return
            self.record_path = self.screenshot_dir() / f"hrnet-studio-{datetime.now():%Y%m%d-%H%M%S}.mp4"
            fps = self.window.source.fps if self.window.source is not None else 30.0
            try:
                make_folder(self.record_path.parent)
                image = self.window.view.image
                self.recorder = OverlayRecorder(self.record_path, fps, (image.width(), image.height()))
            except StudioError as exc:
                self.window.record_action.setChecked(False)
                self.window.show_error(str(exc))
                return
            self.recorder.signals.failed.connect(self._recording_failed)
            self.window.record_action.setChecked(True)
            note = self.recorder.exporter.note
            self.window.statusBar().showMessage(f"recording to {self.record_path}…" + (f" ({note})" if note else ""))
        else:
            recorder, self.recorder = self.recorder, None
            self.window.record_action.setChecked(False)
            try:
                recorder.finish()
            except StudioError as exc:
                self.window.show_error(f"the recording was not saved: {exc}")
                return
            dropped = f" ({recorder.dropped} frames dropped: the disk was too slow)" if recorder.dropped else ""
            self.window.statusBar().showMessage(f"recording saved: {self.record_path}{dropped}", 10000)

    def _recording_failed(self, message: str) -> None:
        """The writer failed: the recording ends now, with the reason (the failed file is already removed)."""
        if self.recorder is None:
            return
        recorder, self.recorder = self.recorder, None
        self.window.record_action.setChecked(False)
        try:
            recorder.finish()  # ends the writer thread; the failed file is gone
        except StudioError:
            pass
        self.window.show_error(f"the recording stopped and was not saved: {message}")
