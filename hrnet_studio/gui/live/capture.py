"""The capture thread: reads a source (camera, file, image folder) and hands frames to the worker.

For files it is also the player: play / pause / step / seek / speed. Frames of a file are
paced at the file's frame rate × speed (or slower, when inference cannot keep up: every frame
is processed). Camera frames are pushed as they come and stale ones dropped.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QThread, Signal

from ...errors import first_line
from ...sources.channel import FrameChannel
from ...sources.live import LiveSource, SourceError


class CaptureThread(QThread):
    failed = Signal(str)  # the source broke (camera unplugged): one line for the user
    reachedEnd = Signal()  # a file played to its end
    position = Signal(int)  # index of the frame just captured

    def __init__(self, source: LiveSource, channel: FrameChannel, playing: bool = True):
        super().__init__()
        self.setObjectName("capture")
        self.source = source
        self.channel = channel
        self.speed = 1.0
        self._playing = playing or source.is_live
        self._lock = threading.Lock()
        self._seek_to: int | None = None
        self._steps = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.capture_ms = 0.0  # time the last read took

    # ----- commands from the UI thread ------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        self._playing = playing
        self._wake.set()

    @property
    def playing(self) -> bool:
        return self._playing

    def step(self) -> None:
        with self._lock:
            self._steps += 1
        self._wake.set()

    def seek(self, index: int) -> None:
        """Show frame ``index`` next (also when paused)."""
        with self._lock:
            self._seek_to = index
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self.channel.close()

    # ----- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        try:
            if self.source.is_live:
                self._run_live()
            else:
                self._run_file()
        except SourceError as exc:
            if not self._stop.is_set():
                self.failed.emit(str(exc))
        except Exception as exc:  # never let a reader crash the app: tell the user instead
            if not self._stop.is_set():
                self.failed.emit(f"reading {self.source.name} failed: {first_line(exc)}")
        finally:
            self.source.close()

    def _read(self):
        start = time.perf_counter()
        frame = self.source.read()
        self.capture_ms = (time.perf_counter() - start) * 1000
        return frame

    def _run_live(self) -> None:
        while not self._stop.is_set():
            frame = self._read()
            if frame is None:
                self.reachedEnd.emit()
                return
            self.channel.put(frame, drop_stale=True)
            self.position.emit(frame.index)

    def _run_file(self) -> None:
        clock_start, clock_index, clock_rate = time.monotonic(), None, 0.0
        while not self._stop.is_set():
            with self._lock:
                seek, self._seek_to = self._seek_to, None
                stepping = self._steps > 0
                if stepping:
                    self._steps -= 1
            if seek is not None:
                self.source.seek(seek)
                self.channel.clear()
            if not (self._playing or stepping or seek is not None):
                self._wake.wait(0.1)
                self._wake.clear()
                clock_index = None
                continue
            frame = self._read()
            if frame is None:
                self._playing = False
                self.reachedEnd.emit()
                continue
            if self._playing and seek is None and not stepping:
                rate = self.source.fps * self.speed
                if clock_index is None or clock_rate != rate:
                    clock_start, clock_index, clock_rate = time.monotonic(), frame.index, rate
                due = clock_start + (frame.index - clock_index) / rate
                if due < time.monotonic() - 0.5:  # inference is behind: play on from here, no catching up
                    clock_start, clock_index = time.monotonic(), frame.index
                self._stop.wait(max(0.0, due - time.monotonic()))
            else:
                clock_index = None
            if not self.channel.put(frame, drop_stale=False):
                return
            self.position.emit(frame.index)
