"""Tools ▸ Quantize to INT8…: the CLI's ``models quantize`` for the model in the picker, in the window; and for the
face or hand model of Settings ▸ Whole body (calibrated on the face or hand crops of a pose detector's people).

Calibration uses the user's own footage: the open video or image folder, or one they pick. Progress shows in a
dialog that can cancel; when the INT8 model fails the accuracy guard, the user is asked whether to keep it anyway
(it is then registered marked unguarded, without calibrating again); once registered, the picker switches to
INT8 at once.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from ..common.jobs import QuantizeJob, QuantizeRequest
from ..common.questions import ask_yes_no
from ..window_part import WindowPart

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)"


class QuantizeFlow(WindowPart):
    def __init__(self, window):
        super().__init__(window)
        self.job: QuantizeJob | None = None
        self.part: str | None = None  # what the running job quantizes: None (the body model), face or hand

    def start(self, sources: list[Path] | None = None, part: str | None = None) -> None:
        """Quantize the body model in the picker, or with ``part`` ("face" / "hand") that Whole body model."""
        w, panel = self.window, self.window.panel
        if part is None:
            model = None if panel.model_needs_download() else panel.model_combo.currentData()
        else:
            model = panel.wholebody.installed_model(part)
        if not model:
            w.show_error("pick an installed pose model to quantize first" if part is None else
                         f"pick an installed {part} model under Settings ▸ Whole body to quantize first")
            return
        sources = sources or self._footage()
        if not sources:
            return
        chosen = panel.choice(w.models.trusted)
        request = QuantizeRequest(model, sources, chosen)
        self.job = job = QuantizeJob(request)
        job.setParent(w)  # Qt owns the thread: it is deleted once finished, never while it runs
        job.finished.connect(job.deleteLater)
        on = "people" if part is None else f"the {part}s of people"
        dialog = QProgressDialog(f"Quantizing {model} to INT8: calibrating on {on} in "
                                 f"{', '.join(p.name for p in sources)}…", "Cancel", 0, 0, w)
        dialog.setObjectName("quantizeProgress")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.canceled.connect(job.cancel)
        job.progress.connect(lambda done, total: (dialog.setMaximum(max(total, 1)), dialog.setValue(done)))
        self.part = part
        job.ready.connect(self._verdict)  # a method of this UI-thread object: queued from the job's thread
        job.failed.connect(self._failed)
        job.finished.connect(dialog.reset)
        job.start()

    def _footage(self) -> list[Path]:
        path = getattr(self.window.source, "path", None)  # a video file or an image folder; a camera has none
        if path is not None and Path(path).exists():
            return [Path(path)]
        chosen, _ = QFileDialog.getOpenFileName(self.window, "Footage with people to calibrate INT8 on",
                                                self.window.sources.last_dir(), VIDEO_FILTER)
        return [Path(chosen)] if chosen else []

    def _verdict(self, candidate) -> None:
        if candidate.report.passed:
            self._register(candidate, self.part)
        else:
            self._ask_to_keep(candidate, self.part)

    def _register(self, candidate, part: str | None = None) -> None:
        from ...errors import user_message
        from ...inference.quantize import register_int8

        try:
            record = register_int8(self.window.registry, candidate)
        except Exception as exc:  # a full disk: the message says so, the app stays up
            self._failed(user_message(exc, "saving the INT8 model"))
            return
        if part is None:
            self._use(record.name, candidate.report.describe())
        else:
            self._use_part(record.name, part, candidate.report.describe())

    def _use_part(self, name: str, part: str, report: str) -> None:
        """A face or hand model's INT8 version runs at once: Settings ▸ Whole body's precision becomes INT8 where
        it was not (the body model keeps its own precision) and the stage is reloaded."""
        w = self.window
        w.refresh_models()
        box = w.panel.wholebody
        if (box.precision or w.panel.precision_combo.currentData()) != "int8":
            box.precision_combo.setCurrentIndex(box.precision_combo.findData("int8"))
        w.apply_model_choice()
        w.statusBar().showMessage(f"{name} is ready and runs as the {part} model (Whole body ▸ Precision INT8): "
                                  f"{report}", 20000)

    def _use(self, name: str, report: str) -> None:
        w = self.window
        w.refresh_models()
        panel = w.panel
        panel.precision_combo.setCurrentIndex(panel.precision_combo.findData("int8"))
        if panel.backend_combo.currentText() == "torch":  # INT8 runs on ONNX Runtime
            panel.backend_combo.setCurrentText("auto")
        w.apply_model_choice()
        w.statusBar().showMessage(f"{name} is ready and selected: {report}", 20000)

    def _failed(self, message: str) -> None:
        self.window.show_error(message)

    def _ask_to_keep(self, candidate, part: str | None = None) -> None:
        ask_yes_no(self.window, "INT8 failed the accuracy guard",
                   f"{candidate.report.describe()}.\n\nKeep the INT8 model anyway? It will be marked unguarded: its "
                   f"keypoints may differ from the full-precision model's.", "keepUnguardedQuestion",
                   lambda yes: self._register(candidate, part) if yes else candidate.discard(), risky=True)
