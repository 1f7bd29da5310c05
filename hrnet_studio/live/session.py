"""Headless live: the app's live pipeline without a window. A reader thread takes frames from a camera, a stream or a
video played at its own pace, and hands over only the newest (``sources.channel``); the pose engine runs on them;
each result goes to the recordings (CSV, JSON, written atomically as exports are) and to the streams; one status line
says how it goes. It ends after ``max_frames`` frames or ``seconds``, at the source's end, or when asked to stop
(Ctrl-C), and returns a summary.

Latency is measured per frame from the frame's capture time to the moment its pose is handed to the streams.
"""
from __future__ import annotations

import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import first_line
from ..export.job import wholebody_csv_path
from ..export.writers import CocoJsonExporter, CsvExporter, PartsCsvExporter
from ..inference.engine import PoseEngine
from ..inference.pipeline import PosePipeline
from ..inference.results import FrameResult
from ..sources.channel import FrameChannel
from ..sources.live import LiveSource, SourceError
from ..sources.video_file import Frame
from .sinks import Streams

STATUS_EVERY_S = 0.5  # how often the status line is redrawn
LATENCIES_KEPT = 600  # the status line's median and 95th percentile are over the last this many frames


@dataclass
class LiveLimits:
    max_frames: int | None = None  # frames processed
    seconds: float | None = None  # since the first frame was read


@dataclass
class LiveSummary:
    frames: int = 0
    dropped: int = 0  # frames the source gave that the pipeline never saw (it was busy)
    persons: int = 0  # persons found, summed over frames
    seconds: float = 0.0
    latency_ms: array = field(default_factory=lambda: array("d"))  # per frame; 8 bytes each (hours of frames)
    ended: str = ""  # why it ended: "N frames", "S s", "source ended", "stopped", or the source's failure
    failed: bool = False  # the source broke (a camera unplugged, a stream cut): ``ended`` says how
    written: list[Path] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def latency(self, q: float) -> float:
        return float(np.percentile(self.latency_ms, q)) if self.latency_ms else float("nan")

    def describe(self) -> str:
        return (f"{self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} frames/s), {self.dropped} dropped, "
                f"{self.persons} persons; latency median {self.latency(50):.0f} ms, p95 {self.latency(95):.0f} ms "
                f"({self.ended})")


class LiveRun:
    def __init__(self, source: LiveSource, pipeline: PosePipeline, streams: Streams,
                 csv: Path | None = None, json: Path | None = None, limits: LiveLimits | None = None,
                 status: Callable[[str], None] | None = None, first: Frame | None = None):
        """``first``: a frame already read from ``source`` (to learn its size), processed first."""
        self.source, self.pipeline, self.streams = source, pipeline, streams
        self._first = first
        self.limits = limits or LiveLimits()
        self.status = status or (lambda line: None)
        self.channel = FrameChannel()
        self.stop_event = threading.Event()
        self._reader_done = threading.Event()
        self._stopped_by_user = False
        self._failure = ""
        keypoints = pipeline.keypoints
        self.recorders = ([CsvExporter(csv, keypoints, captured=True)] if csv else []) + \
                         ([CocoJsonExporter(json, keypoints, captured=True)] if json else [])
        if csv and pipeline.part_sets:  # faces and hands beside the body CSV, as an export writes them
            self.recorders.append(PartsCsvExporter(wholebody_csv_path(csv), pipeline.part_sets))

    def stop(self) -> None:
        """Ends the run after the frame in hand (any thread; Ctrl-C's handler)."""
        self._stopped_by_user = True
        self.stop_event.set()
        self.channel.close()

    def run(self) -> LiveSummary:
        summary = LiveSummary()
        reader = threading.Thread(target=self._read, name="live-read", daemon=True)
        start = time.monotonic()
        reader.start()
        recent: deque[float] = deque(maxlen=LATENCIES_KEPT)
        shown = 0.0
        try:
            for _, result in PoseEngine(self.pipeline, depth=0, detect_beside=True).run(self._frames(), read_ahead=False):
                self._record(result)
                sent = self.streams.send(result)
                if result.capture_time is not None:
                    latency = (sent - result.capture_time) * 1000
                    summary.latency_ms.append(latency)
                    recent.append(latency)
                summary.frames += 1
                summary.persons += len(result.persons)
                now = time.monotonic()
                if now - shown >= STATUS_EVERY_S:
                    shown = now
                    self.status(self._status_line(summary, result, recent, now - start))
                if self._limit_reached(summary, now - start):
                    break
            for recorder in self.recorders:
                recorder.finish()
            summary.written = [recorder.publish() for recorder in self.recorders]
        except BaseException:
            for recorder in self.recorders:
                recorder.abort()
            raise
        finally:
            self.stop_event.set()
            self.channel.close()
            reader.join(timeout=5)
            self.streams.close()
            summary.seconds = time.monotonic() - start
            summary.dropped = self.channel.dropped
        summary.failed = bool(self._failure) and not summary.ended
        summary.ended = summary.ended or self._failure or ("source ended" if self._reader_done.is_set()
                                                           and not self._stopped_by_user else "stopped")
        return summary

    def _limit_reached(self, summary: LiveSummary, elapsed: float) -> bool:
        if self.limits.max_frames is not None and summary.frames >= self.limits.max_frames:
            summary.ended = f"{summary.frames} frames"
            return True
        if self.limits.seconds is not None and elapsed >= self.limits.seconds:
            summary.ended = f"{self.limits.seconds:g} s"
            return True
        return False

    def _record(self, result: FrameResult) -> None:
        for recorder in self.recorders:
            recorder.write(result)

    def _read(self) -> None:
        """The reader thread: newest frame wins (a camera, a paced video), every frame otherwise."""
        try:
            frame, self._first = self._first, None
            while not self.stop_event.is_set():
                frame = frame if frame is not None else self.source.read()
                if frame is None:
                    break
                if not self.channel.put(frame, drop_stale=self.source.is_live):
                    break
                frame = None
        except SourceError as exc:
            self._failure = str(exc)
        except Exception as exc:  # a reader must never take the run down without a word
            self._failure = f"reading {self.source.name} failed: {first_line(exc)}"
        finally:
            self._reader_done.set()
            self.source.close()

    def _frames(self) -> Iterator[Frame]:
        while not self.stop_event.is_set():
            frame = self.channel.get(0.05)
            if frame is not None:
                yield frame
            elif self._reader_done.is_set():
                frame = self.channel.get(0)  # the last frame put before the reader ended
                if frame is not None:
                    yield frame
                return

    def _status_line(self, summary: LiveSummary, result: FrameResult, recent: deque, elapsed: float) -> str:
        latencies = np.asarray(recent) if recent else np.array([np.nan])
        parts = [f"{summary.frames / elapsed:5.1f} frames/s" if elapsed > 0 else "",
                 f"{len(result.persons)} persons",
                 f"latency {np.median(latencies):.0f} ms (p95 {np.percentile(latencies, 95):.0f})",
                 f"{self.channel.dropped} dropped"]
        streams = self.streams.status()
        return " | ".join(p for p in parts + ([streams] if streams else []) if p)
