"""Running a step of the pose engine in its own thread, joined to the next by a bounded queue.

``in_thread(items)`` consumes an iterable in a background thread and yields its items in order through a
queue of ``depth`` items: the producer runs ahead by at most that much (memory stays flat) and waits when
the consumer is slower. An exception in the producer is re-raised in the consumer. Closing the consumer
(``close()``, or leaving a ``for`` loop early) stops the producer and closes its own source in turn, so a
chain of stages (read → detect → pose) winds down from whichever end stops.

``depth=0`` is a hand-over: the producer takes its next item only when the consumer has taken the last one. Live
views use it so that detection reads the newest frame when pose starts on the previous one, instead of holding a
frame that grows stale while it waits (measured on the gym clip: the latency from capture to result fell from about
three frame times to two, at the same frames/s).
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


def in_thread(items: Iterable[T], depth: int = 4, name: str = "stage") -> Iterator[T]:
    """``items``, produced by a thread named ``name`` at most ``depth`` items ahead of the consumer (0: the next
    item is begun only once the consumer has taken the last)."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    taken = threading.Event()  # depth 0: the consumer has the last item

    def handed_over() -> bool:
        while not stop.is_set():
            if taken.wait(0.1):
                taken.clear()
                return True
        return False

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put(item) or (depth == 0 and not handed_over()):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer
            put(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            taken.set()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
