"""The one way the app stops a job or thread: ask it to cancel, wait a bounded time, and if it still runs, keep it
referenced (so Qt never destroys a running thread, which aborts the process) and let the app end around it.

``stop_thread`` is what the window and its parts call when they close; ``left_running`` is what ``run_app``
checks after the event loop ends: a thread still running then is not waited on any longer, and the process ends
without destroying it (``end_process``)."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable

from PySide6.QtCore import QThread

STOP_WAIT_MS = 10_000  # the longest the window waits for one job or thread to stop

_left: list[QThread] = []  # threads that outlived their wait: referenced until they end


def is_running(thread: QThread | None) -> bool:
    """Whether ``thread`` exists and runs (False for None or a thread Qt has already deleted)."""
    try:
        return thread is not None and thread.isRunning()
    except RuntimeError:  # its C++ object is gone: it finished and was deleted
        return False


def stop_thread(thread: QThread | None, cancel: Callable[[], None] | None = None,
                wait_ms: int | None = None) -> bool:
    """Stop ``thread``: ``cancel`` (default: its own ``cancel`` method, when it has one), then wait ``wait_ms`` at most
    (default ``STOP_WAIT_MS``).
    True when it has ended; False when it still runs, in which case it is detached from its parent and kept
    referenced until it ends, so that closing a window never destroys it while it runs."""
    if not is_running(thread):
        return True
    stop = cancel or getattr(thread, "cancel", None)
    if stop is not None:
        stop()
    if thread.wait(STOP_WAIT_MS if wait_ms is None else wait_ms):
        return True
    if thread not in _left:
        thread.setParent(None)
        _left.append(thread)
        thread.finished.connect(lambda t=thread: _left.remove(t) if t in _left else None)
    return False


def left_running() -> list[str]:
    """The names of the threads still running after their wait."""
    return [t.objectName() or type(t).__name__ for t in _left if is_running(t)]


def end_process(code: int) -> None:
    """End the app now, without destroying the threads ``left_running`` names (they end with the process). Says
    which ones in one line."""
    names = left_running()
    if names:
        print(f"hrnet-studio: {', '.join(names)} did not stop within {STOP_WAIT_MS // 1000} s; "
              f"ending without it", file=sys.stderr)
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(code)
