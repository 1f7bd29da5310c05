"""Run Python's cyclic garbage collector in the UI thread only.

The collector runs in whichever thread happens to allocate when a threshold is crossed. If that is
the inference or capture thread and the garbage holds a Qt widget (a closed dialog kept alive by a
reference cycle), the widget is destroyed off the UI thread, which Qt forbids and which can
deadlock. So automatic collection is switched off and a timer in the UI thread collects instead.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 500


class _Collector(QObject):
    def __init__(self, app: QCoreApplication):
        super().__init__(app)
        self.threshold = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(INTERVAL_MS)

    def check(self) -> None:
        """Collect the generations whose thresholds were crossed, as the automatic collector would."""
        if gc.isenabled():
            return
        counts = gc.get_count()
        if counts[0] > self.threshold[0]:
            generation = 0
            if counts[1] > self.threshold[1]:
                generation = 2 if counts[2] > self.threshold[2] else 1
            gc.collect(generation)


_users = 0


def acquire() -> None:
    """While at least one holder (a window with running threads) exists, collect only in the UI thread."""
    global _users
    app = QCoreApplication.instance()
    if app is None:
        return
    _users += 1
    if app.findChild(_Collector) is None:
        _Collector(app)
    gc.disable()


def release() -> None:
    """The last holder is gone (its threads are stopped): collect now, here, and go back to normal."""
    global _users
    _users = max(_users - 1, 0)
    if _users == 0:
        gc.collect()
        gc.enable()
