"""Record the live view to mp4 in a background thread, so encoding never stalls the window."""
from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from ..inference.video_writer import OverlayVideoExporter

_STOP = object()


def qimage_to_bgr(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
    return np.ascontiguousarray(rows[:, : 3 * w].reshape(h, w, 3)[..., ::-1])


class OverlayRecorder:
    """Frames are queued by the UI thread and written by a writer thread; a full queue drops (and counts)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], depth: int = 64):
        self.path = path
        self.size = size
        self.exporter = OverlayVideoExporter(path, fps, size)  # raises StudioError when no encoder
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.dropped = 0
        self.written = 0
        self.thread = threading.Thread(target=self._write, name="recorder", daemon=True)
        self.thread.start()

    def add(self, image: QImage) -> None:
        if (image.width(), image.height()) != self.size:
            return  # the source changed size mid-recording: keep the file consistent
        try:
            self.queue.put_nowait(qimage_to_bgr(image))
        except queue.Full:
            self.dropped += 1

    def _write(self) -> None:
        while True:
            frame = self.queue.get()
            if frame is _STOP:
                return
            self.exporter.write_frame(frame)
            self.written += 1

    def finish(self) -> Path:
        """Write what is queued, close the file and move it into place."""
        self.queue.put(_STOP)
        self.thread.join()
        self.exporter.commit()
        return self.path
