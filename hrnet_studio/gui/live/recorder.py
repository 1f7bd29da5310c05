"""Record the live view to mp4 in a background thread, so encoding never stalls the window."""
from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ...errors import StudioError, user_message
from ...export.overlay_video import OverlayVideoExporter

_STOP = object()
FINISH_WAIT_S = 30.0  # the longest ``finish`` waits for the queued frames to be written


def qimage_to_bgr(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return np.ascontiguousarray(rows[:, : 3 * w].reshape(h, w, 3)[..., ::-1])


class RecorderSignals(QObject):
    """Made in the UI thread, emitted from the writer thread: Qt delivers ``failed`` in the UI thread."""

    failed = Signal(str)  # one line: why the recording stopped


class OverlayRecorder:
    """Frames are queued by the UI thread and written by a writer thread; a full queue drops (and counts).

    A write that fails (a full disk, a lost drive) ends the recording at once: the part file is removed, ``error``
    says why and ``signals.failed`` tells the window; the writer thread keeps emptying the queue, so neither
    ``add`` nor ``finish`` ever waits on it, and ``finish`` waits ``FINISH_WAIT_S`` at most."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], depth: int = 64):
        self.path = path
        self.size = size
        self.exporter = OverlayVideoExporter(path, fps, size)  # raises StudioError when no encoder
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.signals = RecorderSignals()
        self.error: str | None = None
        self.dropped = 0
        self.written = 0
        self.thread = threading.Thread(target=self._write, name="recorder", daemon=True)
        self.thread.start()

    def add(self, image: QImage) -> None:
        if self.error is not None or (image.width(), image.height()) != self.size:
            return  # failed, or the source changed size mid-recording: keep the file consistent
        try:
            self.queue.put_nowait(qimage_to_bgr(image))
        except queue.Full:
            self.dropped += 1

    def _write(self) -> None:
        while (frame := self.queue.get()) is not _STOP:
            if self.error is not None:
                continue  # failed: the queue is emptied so that nothing waits on it
            try:
                self.exporter.write_frame(frame)
                self.written += 1
            except Exception as exc:  # noqa: BLE001 — whatever stops the writer ends the recording, said once
                self.error = user_message(exc, f"recording to {self.path.name}")
                self.exporter.abort()
                self.signals.failed.emit(self.error)

    def finish(self) -> Path:
        """Write what is queued, close the file and move it into place; ``StudioError`` when the recording failed or
        its writer did not finish within ``FINISH_WAIT_S``."""
        try:
            self.queue.put(_STOP, timeout=FINISH_WAIT_S)
        except queue.Full:
            pass
        self.thread.join(FINISH_WAIT_S)
        if self.thread.is_alive():
            self.error = self.error or f"writing {self.path.name} did not finish within {FINISH_WAIT_S:.0f} s"
            raise StudioError(self.error)
        if self.error is not None:
            raise StudioError(self.error)
        self.exporter.commit()
        return self.path
