"""The pose engine: a PosePipeline run over a stream of frames as concurrent stages.

    frames ──▶ [read] ──q──▶ [detect] ──q──▶ [pose: crop, network, decode, track] ──q──▶ caller (write / show)

(detect and pose share one stage when both run on PyTorch's CPU thread pool: ``detection_beside_pose``).

Each stage is a thread (``stages.in_thread``) joined to the next by a bounded queue, so decoding the next
frame and detecting persons in it run while the network works on the frame before: on a CPU the stages
use the cores one alone leaves idle (a detector's small layers, Python glue, video decoding), on a GPU
the CPU work hides behind the device's. Frames come out every one, in order; for a camera, the source
hands over only its newest frame (``gui/channel.py``), so nothing queues up behind a slow model.

One engine serves the CLI export, the app's inference worker and the benchmarks.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from .backends import TorchBackend
from .pipeline import FrameResult, PosePipeline, StageTimer
from .sources import Frame
from .stages import in_thread


class PoseEngine:
    def __init__(self, pipeline: PosePipeline, depth: int = 2, overlap: bool = True):
        """``depth``: frames a stage may run ahead of the next (memory: about depth × 3 frames). ``overlap`` False
        runs every stage in the caller's thread, one after the other (the baseline the benchmarks compare with)."""
        self.pipeline = pipeline
        self.depth = depth
        self.overlap = overlap

    def run(self, frames: Iterable[Frame], read_ahead: bool = True) -> Iterator[tuple[Frame, FrameResult]]:
        """(frame, result) for every frame of ``frames``, in order. ``read_ahead``: read ``frames`` in a thread of
        its own (a file); leave it off for a source that already runs in one (the app's capture thread).
        Closing the iterator stops every stage."""
        timed = _timed_reads(frames)
        if not self.overlap:
            return self._pose(self._detect(timed))
        if read_ahead:
            timed = in_thread(timed, depth=2 * self.depth, name="read")
        if not detection_beside_pose(self.pipeline):
            return in_thread(self._pose(self._detect(timed)), depth=self.depth, name="pose")
        detected = in_thread(self._detect(timed), depth=self.depth, name="detect")
        return in_thread(self._pose(detected), depth=self.depth, name="pose")

    def _detect(self, frames: Iterator[tuple[Frame, float]]) -> Iterator[tuple[Frame, StageTimer, object]]:
        try:
            for frame, read_ms in frames:
                timer = StageTimer()
                timer.ms["read"] = read_ms
                yield frame, timer, self.pipeline.detect_stage(frame.image, timer)
        finally:
            _close(frames)

    def _pose(self, detected: Iterator) -> Iterator[tuple[Frame, FrameResult]]:
        try:
            for frame, timer, detections in detected:
                yield frame, self.pipeline.pose_stage(frame.image, frame.index, frame.timestamp_s, detections, timer)
        finally:
            _close(detected)


def detection_beside_pose(pipeline: PosePipeline) -> bool:
    """Detection gets a stage of its own unless both networks run on PyTorch's CPU thread pool: two threads
    sharing it run slower together than one after the other (yolo11n + W32 on 2 cores: 4.2 against 6.2-6.7
    persons/s, 143% against 198% CPU), while ONNX Runtime sessions each have a pool of their own."""
    pose_on_torch_cpu = isinstance(pipeline.backend, TorchBackend) and pipeline.backend.device.type == "cpu"
    detector = pipeline.detector
    detector_on_torch_cpu = getattr(detector, "runtime", "") == "torch" and getattr(detector, "device", "") == "cpu"
    return not (pose_on_torch_cpu and detector_on_torch_cpu)


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


def _close(items: object) -> None:
    close = getattr(items, "close", None)
    if close is not None:
        close()
