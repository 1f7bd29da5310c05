"""The inference worker: a QObject in its own QThread that drives the same pose engine as the CLI.

It takes frames from the capture channel, runs detection and pose estimation as overlapped stages, and
emits one ``LiveResult`` per frame. Model and option changes are requested from the UI thread and applied
between frames, in the worker's thread: loading a model never blocks the window.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal, Slot

from ...errors import UnsafeFileError, first_line, user_message
from ...inference.engine import PoseEngine
from ...inference.factory import build_pipeline
from ...inference.options import PipelineChoice, PipelineOptions
from ...inference.pipeline import PosePipeline
from ...inference.results import FrameResult
from ...live.options import LiveStreams, StreamOptions, stream_parts
from ...skeletons import KeypointSet
from ...sources.channel import FrameChannel
from ...sources.video_file import Frame
from ...thread_budget import enforce as enforce_thread_budget


@dataclass
class LiveResult:
    frame: Frame
    result: FrameResult
    keypoints: KeypointSet  # each person's (``PosePipeline.keypoints``)
    dropped: int  # frames dropped so far by the live queue
    capture_ms: float
    stage_ms: dict[str, float] = field(default_factory=dict)
    streams: str = ""  # the streams' state in a few words (Settings ▸ Stream), "" when none is on
    part_sets: dict = field(default_factory=dict)  # the faces' and hands' landmark sets (``PosePipeline.part_sets``)


@dataclass
class ModelInfo:
    name: str
    arch: str
    input_size: tuple[int, int]
    device: str
    detector: str
    backend: str
    threads: str  # the thread budget in effect, in words
    precision: str = "fp32"  # "fp32", "INT8" or "INT8 (unguarded)"


class PoseWorker(QObject):
    resultReady = Signal(object)  # LiveResult
    modelLoaded = Signal(object)  # ModelInfo
    failed = Signal(str)  # one line for the user
    noted = Signal(str)  # what the worker is doing that takes a while (a detector exported once): the status bar
    untrusted = Signal(str, str)  # a detector file refused because it could run code: its path, the reason
    idle = Signal()  # the loop has ended

    def __init__(self, channel: FrameChannel, capture_ms=lambda: 0.0):
        super().__init__()
        self.channel = channel
        self.capture_ms = capture_ms
        self.pipeline: PosePipeline | None = None
        self._lock = threading.Lock()
        self._pending_choice: PipelineChoice | None = None
        self._pending_options: PipelineOptions | None = None
        self._stop = threading.Event()
        self.options = PipelineOptions()
        self.streams = LiveStreams(lambda line: self.failed.emit(line))

    # ----- requests from the UI thread ----------------------------------------------------
    def request_model(self, choice: PipelineChoice) -> None:
        with self._lock:
            self._pending_choice = choice

    def request_options(self, options: PipelineOptions) -> None:
        with self._lock:
            self._pending_options = options

    def request_streams(self, options: StreamOptions) -> None:
        """Streams on, off or elsewhere from the next frame (opened and closed in the worker's thread)."""
        self.streams.request(options)

    def stop(self) -> None:
        self._stop.set()

    # ----- the loop (runs in the worker thread) ------------------------------------------
    @Slot()
    def run(self) -> None:
        """Runs the pose engine on the channel's frames until stopped; between runs of the engine it applies
        the model and option changes the UI asked for (the engine drains the frames it holds first)."""
        while not self._stop.is_set():
            self._apply_requests()
            if self.pipeline is None:
                self.channel.get(0.05)  # no model yet: frames are shown by nobody, keep the capture flowing
                continue
            pipeline = self.pipeline
            try:
                for frame, result in PoseEngine(pipeline, depth=0, detect_beside=True).run(self._frames(), read_ahead=False):
                    streams = self.streams.send(frame, result, pipeline.keypoints, stream_parts(pipeline))
                    self.resultReady.emit(LiveResult(frame, result, pipeline.keypoints, self.channel.dropped,
                                                     self.capture_ms(), streams=streams,
                                                     part_sets=pipeline.part_sets))
            except Exception as exc:  # a failing model must not take the app down
                self.failed.emit(f"pose estimation failed: {first_line(exc)}")
                self.pipeline = None
        self.streams.close()
        self.idle.emit()

    def _frames(self) -> Iterator[Frame]:
        """The channel's frames until the worker stops or the UI asks for a change."""
        while not self._stop.is_set():
            with self._lock:
                if self._pending_choice is not None or self._pending_options is not None:
                    return
            frame = self.channel.get(0.05)
            if frame is not None:
                yield frame

    def _apply_requests(self) -> None:
        with self._lock:
            choice, self._pending_choice = self._pending_choice, None
            options, self._pending_options = self._pending_options, None
        if options is not None:
            self.options = options
            if self.pipeline is not None:
                self.pipeline.options = options  # starts afresh: tracks and the detection schedule reset
        if choice is not None:
            self._load(choice)

    def _load(self, choice: PipelineChoice) -> None:
        warnings: list[str] = []

        def tell(line: str) -> None:  # warnings after the load, as before; notes at once, while the work goes on
            warnings.append(line) if line.startswith("warning:") else self.noted.emit(line)

        try:
            pipeline, loaded = build_pipeline(choice, self.options, say=tell, live=True)
        except UnsafeFileError as exc:
            self.untrusted.emit(str(exc.path or choice.detector), str(exc))
            return
        except Exception as exc:  # a model that cannot load is a message; the app stays up
            self.failed.emit(user_message(exc, "loading the model"))
            return
        for line in warnings:
            self.failed.emit(line)
        self.pipeline = pipeline
        spec = loaded.spec
        threads = enforce_thread_budget().describe()
        self.modelLoaded.emit(ModelInfo(loaded.record.name, spec.arch, spec.input_size, loaded.backend.device_name,
                                        pipeline.detector.name, loaded.backend_kind, threads,
                                        loaded.precision_label))

