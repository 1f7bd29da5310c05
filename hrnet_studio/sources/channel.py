"""The hand-over between a reading thread and the pose engine (the app's capture thread and inference worker,
headless ``live``'s reader): a queue of one.

Live sources put with ``drop_stale=True``: a frame nobody has taken yet is replaced by the newer
one (and counted as dropped), so the screen always shows the present. Files put with
``drop_stale=False``: the capture waits until the worker has taken the previous frame, so every
frame is processed, in order.
"""
from __future__ import annotations

import threading


class FrameChannel:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: object | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: object, drop_stale: bool) -> bool:
        """False when the channel was closed (the app is stopping)."""
        with self._cond:
            if drop_stale:
                if self._item is not None:
                    self.dropped += 1
            else:
                while self._item is not None and not self._closed:
                    self._cond.wait(0.05)
            if self._closed:
                return False
            self._item = item
            self._cond.notify_all()
            return True

    def get(self, timeout: float = 0.05) -> object | None:
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            self._cond.notify_all()
            return item

    def clear(self) -> None:
        with self._cond:
            self._item = None
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed, self._item, self.dropped = False, None, 0
