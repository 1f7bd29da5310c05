"""Long jobs run off the UI thread: exporting a video's keypoints, scanning it for frames to review, downloading,
importing and quantizing a model."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from ...errors import user_message
from ...export.analysis.outputs import AnalysisRequest
from ...export.job import export_video
from ...export.options import OverlayOptions
from ...inference.factory import build_pipeline
from ...inference.options import PipelineChoice, PipelineOptions
from ...models.registry import ModelRegistry


@dataclass
class ExportRequest:
    video: Path
    csv: Path | None
    json: Path | None
    overlay: Path | None
    choice: PipelineChoice
    options: PipelineOptions
    overlay_options: OverlayOptions = field(default_factory=OverlayOptions)  # as the view shows it
    analysis: AnalysisRequest | None = None  # smoothing, angles, TRC files made from the CSV
    review: object | None = None  # the video's Review (review/review_file.py): corrections used in every output
    fix_swaps: bool | None = None  # left/right swaps repaired (None: when angles or marker files are made)


class CancellableJob(QThread):
    """A long job in a thread of its own that the UI can ask to stop (``cancel``); the job checks ``_cancel``."""

    def __init__(self, name: str):
        super().__init__()
        self.setObjectName(name)
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()


class ExportJob(CancellableJob):
    """The CLI's exporter on the open video, with progress and cancel (cancel leaves no file)."""

    progress = Signal(int, int)  # frames done, frames total
    done = Signal(object)  # ExportReport
    failed = Signal(str)

    def __init__(self, request: ExportRequest):
        super().__init__("export")
        self.request = request

    def run(self) -> None:
        r = self.request
        try:
            pipeline, _ = build_pipeline(r.choice, r.options)

            def progress(done: int, total: int) -> bool:
                self.progress.emit(done, total)
                return not self._cancel.is_set()

            report = export_video(r.video, pipeline, r.csv, r.json, r.overlay, None, r.overlay_options, progress,
                                  r.analysis, r.review, r.fix_swaps)
        except Exception as exc:  # the app stays up; the message says what broke
            self.failed.emit(user_message(exc, "export"))
            return
        self.done.emit(report)


class SuggestJob(CancellableJob):
    """Runs the pose pipeline over a whole video (tracking on, no smoothing) and measures every frame for the
    review's suggestions (``review/suggest.py``)."""

    progress = Signal(int, int)  # frames done, frames total
    done = Signal(object)  # list[FrameCheck], or those measured before a cancel
    failed = Signal(str)

    def __init__(self, path: Path, choice: PipelineChoice, options: PipelineOptions):
        super().__init__("suggest")
        self.path, self.choice = path, choice
        self.options = PipelineOptions(decoder=options.decoder, flip_test=False, track=True, smooth=False,
                                       max_batch=options.max_batch)

    def run(self) -> None:
        from ...review.suggest import scan
        from ...sources.live import open_source

        try:
            pipeline, _ = build_pipeline(self.choice, self.options)
            source = open_source(self.path)
            total = source.frame_count
            def progress(done: int) -> bool:  # (Qt's emit returns True: it cannot be chained with ``or``)
                self.progress.emit(done, total)
                return not self._cancel.is_set()

            try:
                frames = iter(source.read, None)
                checks = scan(pipeline, frames, progress)
            finally:
                source.close()
        except Exception as exc:  # the app stays up; the message says what broke
            self.failed.emit(user_message(exc, "looking for frames to review"))
            return
        self.done.emit(checks)


class CameraProbe(QThread):
    """Looks for cameras off the UI thread (opening a camera device can take a second)."""

    found = Signal(object)  # list[CameraInfo]

    def run(self) -> None:
        from ...sources.live import probe_cameras

        try:
            cameras = probe_cameras()
        except Exception:  # a broken camera driver must not stop the app: no cameras then
            cameras = []
        self.found.emit(cameras)


class ImportJob(QThread):
    """``models import`` off the UI thread: identifying and copying a large checkpoint takes a while."""

    done = Signal(str)  # the registered name
    failed = Signal(str)

    def __init__(self, path: Path, registry: ModelRegistry | None = None):
        super().__init__()
        self.path = path
        self.registry = registry

    def run(self) -> None:
        try:
            record = (self.registry or ModelRegistry()).import_file(self.path)
        except Exception as exc:  # the app stays up; the message says what is wrong
            self.failed.emit(user_message(exc, "import"))
            return
        self.done.emit(record.name)


class DownloadCancelled(Exception):
    pass


class DownloadJob(CancellableJob):
    """``models pull`` with progress; cancel keeps the part file so the next try resumes."""

    progress = Signal(object, object)  # bytes done, bytes total (Python ints: files exceed 2**31)
    done = Signal(str)  # model name
    failed = Signal(str)

    def __init__(self, name: str, registry: ModelRegistry | None = None):
        super().__init__("download")
        self.name = name
        self.registry = registry

    def run(self) -> None:
        def progress(done: int, total: int | None) -> None:
            if self._cancel.is_set():
                raise DownloadCancelled
            self.progress.emit(done, total)

        try:
            (self.registry or ModelRegistry()).pull(self.name, progress)
        except DownloadCancelled:
            self.failed.emit(f"download of {self.name} cancelled; the part already fetched is kept for next time")
            return
        except Exception as exc:
            self.failed.emit(user_message(exc, "download"))
            return
        self.done.emit(self.name)


class QuantizeCancelled(Exception):
    pass


@dataclass
class QuantizeRequest:
    model: str  # registered name
    sources: list[Path]  # footage with people
    choice: PipelineChoice  # the app's settings: its detector (file, sha256, trust, confidence, size) finds them


class QuantizeJob(CancellableJob):
    """``models quantize`` off the UI thread, up to the guard's verdict: ``ready`` hands over the checked INT8
    candidate (not registered yet); cancel keeps nothing."""

    progress = Signal(int, int)  # calibration frames done, total
    ready = Signal(object)  # models.quantize.Int8Candidate
    failed = Signal(str)

    def __init__(self, request: QuantizeRequest):
        super().__init__("quantize")
        self.request = request

    def run(self) -> None:
        from ...inference.factory import open_detector
        from ...inference.quantize import prepare_int8

        r = self.request

        def progress(done: int, total: int) -> None:
            if self._cancel.is_set():
                raise QuantizeCancelled
            self.progress.emit(done, total)

        try:
            registry = ModelRegistry()
            detector = open_detector(r.choice)  # as the pipeline opens it: ONNX Runtime on the CPU, its settings
            candidate = prepare_int8(registry, registry.resolve(r.model), r.sources, detector, progress=progress)
        except QuantizeCancelled:
            self.failed.emit(f"quantizing {r.model} cancelled; nothing was kept")
            return
        except Exception as exc:  # the app stays up; the message says what broke
            self.failed.emit(user_message(exc, "quantization"))
            return
        self.ready.emit(candidate)
