"""The pose engine: a PosePipeline run over a stream of frames as concurrent stages.

    frames ──▶ [read] ──q──▶ [detect] ──q──▶ caller's thread: pose (crop, network, decode, track), then write / show

Reading and detection are threads (``stages.in_thread``) joined by bounded queues, so decoding the next frame
and detecting persons in it run while the network works on the frame before: on a CPU they use what the
network leaves idle, on a GPU the CPU work hides behind the device's. Frames come out every one, in order; for
a camera the source hands over only its newest frame (``sources/channel.py``), so nothing queues up behind a slow
model.

PyTorch work stays in the caller's thread, the one that loaded the models: PyTorch on the CPU runs on an
OpenMP team per calling thread, and with a second team alive OpenMP stops spinning between parallel regions
(more threads than cores), which made HRNet-W32 35% slower in any other thread (2 cores: 4.5 against 6.9
persons/s, 136% against 199% CPU). So the pose step runs in the caller's thread, and so does detection when
the detector runs on PyTorch's CPU pool (``detection_in_own_thread``); ONNX Runtime keeps pools of its own.

Live views (the app, ``hrnet-studio live``) run with ``detect_beside``: the detector works in a thread of its own on
the frame the pose step hands it, and no frame waits for it (``detect/background.py``); the pose step takes each
frame as it comes. Exports keep detection inline, where which frames are detected never depends on timing.

One engine serves the CLI export, the app's inference worker, ``live`` and the benchmarks.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from ..sources.video_file import Frame
from .detect.background import BackgroundDetector
from .detect.detector import FullFrameDetector
from .pipeline import PosePipeline, StageTimer
from .results import FrameResult
from .stages import in_thread


class PoseEngine:
    """Runs a pipeline's stages (read, detect, pose) overlapped in threads joined by bounded queues; results come
    out in frame order. The one way export, the app's worker and the benchmarks run a pipeline over frames."""

    def __init__(self, pipeline: PosePipeline, depth: int = 2, overlap: bool = True, detect_beside: bool = False,
                 frames_per_pass: int = 1, lookahead: bool | None = None):
        """``depth``: frames a stage may run ahead of the next (memory: about depth × 2 frames; 0: detection begins
        the next frame only when pose has taken the last: the newest frame, not one held waiting).
        ``overlap`` False runs every stage in the caller's thread, one after the other (the baseline the benchmarks
        compare with). ``detect_beside``: live views; the detector runs beside the pose step and never holds a frame
        up (where it can: not on PyTorch's CPU pool, and not the full frame, which costs nothing).
        ``frames_per_pass``: exports; the persons of up to this many consecutive detected frames go through the
        network together (fewer when they reach the pipeline's ``max_batch``), so a clip of one person still fills
        a batch; frames whose boxes follow the keypoints go one by one. ``lookahead``: a pass stays in flight while
        the next is started, and its frames come out after that (on a GPU its network and decoding overlap the next
        pass's crops and the caller's writing; the keypoints are the same); None: where the device works ahead
        (``device_works_ahead``)."""
        self.pipeline = pipeline
        self.depth = depth
        self.overlap = overlap
        self.detect_beside = detect_beside
        self.frames_per_pass = frames_per_pass
        self.lookahead = device_works_ahead(pipeline) if lookahead is None else lookahead

    def run(self, frames: Iterable[Frame], read_ahead: bool = True) -> Iterator[tuple[Frame, FrameResult]]:
        """(frame, result) for every frame of ``frames``, in order. ``read_ahead``: read ``frames`` in a thread of
        its own (a file); leave it off for a source that already runs in one (the app's capture thread).
        Closing the iterator stops every stage."""
        timed = _timed_reads(frames)
        if not self.overlap:
            return self._pose(self._detect(timed))
        if read_ahead:
            timed = in_thread(timed, depth=2 * self.depth, name="read")
        if self.detect_beside and detects_beside(self.pipeline):
            return self._follow(timed)
        detected = self._detect(timed)
        if detection_in_own_thread(self.pipeline):
            detected = in_thread(detected, depth=self.depth, name="detect")
        return self._pose(detected)

    def _detect(self, frames: Iterator[tuple[Frame, float]]) -> Iterator[tuple[Frame, StageTimer, object]]:
        try:
            for frame, read_ms in frames:
                timer = StageTimer()
                timer.ms["read"] = read_ms
                yield frame, timer, self.pipeline.detect_stage(frame.image, timer)
        finally:
            _close(frames)

    def _pose(self, detected: Iterator) -> Iterator[tuple[Frame, FrameResult]]:
        pending: list = []  # consecutive detected frames waiting to go through the network together
        in_flight = None  # a started pass not yet ended (``lookahead``)
        try:
            for frame, timer, detections in detected:
                batched = detections is not None and self.frames_per_pass > 1
                if batched:
                    pending.append((frame, timer, detections))
                    if len(pending) < self.frames_per_pass and \
                            sum(len(d) for *_, d in pending) < self.pipeline.options.max_batch:
                        continue
                if pending:
                    in_flight = yield from self._pass(pending, in_flight)
                    pending = []
                if not batched:  # a frame whose boxes follow the last frame's keypoints, or frames one by one
                    yield from self._end(in_flight)
                    in_flight = None
                    result = self.pipeline.pose_stage(frame.image, frame.index, frame.timestamp_s, detections, timer)
                    yield _stamped(frame, result)
            if pending:
                in_flight = yield from self._pass(pending, in_flight)
            yield from self._end(in_flight)
        finally:
            _close(detected)

    def _pass(self, items: list, in_flight: tuple | None):
        """Start a pass of ``items`` (frame, timer, detections), then end the one in flight; returns the new pass
        when it may stay in flight (``lookahead``), after ending it when not."""
        started = (items, self.pipeline.start_pass([(f.image, f.index, f.timestamp_s, d, t) for f, t, d in items]))
        yield from self._end(in_flight)
        if self.lookahead:
            return started
        yield from self._end(started)
        return None

    def _end(self, in_flight: tuple | None) -> Iterator[tuple[Frame, FrameResult]]:
        if in_flight is not None:
            items, started = in_flight
            for (frame, _, _), result in zip(items, self.pipeline.end_pass(started)):
                yield _stamped(frame, result)

    def _follow(self, frames: Iterator[tuple[Frame, float]]) -> Iterator[tuple[Frame, FrameResult]]:
        detector = BackgroundDetector(self.pipeline.detect_boxes)
        try:
            for frame, read_ms in frames:
                timer = StageTimer()
                timer.ms["read"] = read_ms
                yield _stamped(frame, self.pipeline.follow_stage(frame.image, frame.index, frame.timestamp_s, detector,
                                                                 timer))
        finally:
            detector.close()
            _close(frames)


def detects_beside(pipeline: PosePipeline) -> bool:
    """The detector can run beside the pose step: in a thread of its own, and worth one (not the full frame)."""
    return detection_in_own_thread(pipeline) and not isinstance(pipeline.detector, FullFrameDetector)


def detection_in_own_thread(pipeline: PosePipeline) -> bool:
    """Detection gets a thread of its own unless the detector runs on PyTorch's CPU pool (see the module docstring:
    that work stays in the caller's thread)."""
    detector = pipeline.detector
    return not (getattr(detector, "runtime", "") == "torch" and getattr(detector, "device", "") == "cpu")


def _timed_reads(frames: Iterable[Frame]) -> Iterator[tuple[Frame, float]]:
    """Each frame with the milliseconds its read took."""
    source = iter(frames)
    try:
        while True:
            start = time.perf_counter()
            frame = next(source, None)
            if frame is None:
                return
            yield frame, (time.perf_counter() - start) * 1000
    finally:
        _close(source)


def _stamped(frame: Frame, result: FrameResult) -> tuple[Frame, FrameResult]:
    result.time_flag, result.capture_time = frame.time_flag, frame.capture_time
    return frame, result


def device_works_ahead(pipeline: PosePipeline) -> bool:
    """The pose network runs on a device that works asynchronously (a GPU on the tensor path): a pass started there
    returns before its work is done."""
    device = getattr(pipeline.backend, "device", None)
    return pipeline.tensor_path and getattr(device, "type", "cpu") == "cuda"


def _close(items: object) -> None:
    close = getattr(items, "close", None)
    if close is not None:
        close()
