"""How a training run is asked to stop, whatever started it.

Three ways reach the trainer, each checked after every step (the run then ends at a resumable point:
the last finished epoch's checkpoint is on disk):

* **a stop request file** (``stop.request``) in the run folder — what the app writes. It works on every
  platform and through ``torchrun`` (every process sees it), and does not depend on signals, which a
  launcher may have set to be ignored (``nohup``, a background shell, some desktop launchers);
* **SIGINT / SIGTERM** — Ctrl-C in a terminal, or ``torchrun`` passing on a stop. The trainer installs
  its own handlers, so an ignored SIGINT inherited from the launcher does not make it deaf; a second
  Ctrl-C interrupts at once;
* **the app going away** — a run started by the app (``HRNET_STUDIO_APP_PID``) stops when the app's
  process no longer exists, even if the app was killed, and ends itself if it cannot stop in time.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

STOP_FILE = "stop.request"
APP_PID_ENV = "HRNET_STUDIO_APP_PID"  # set by the app: the run must not outlive this process
LAUNCHED_AT_ENV = "HRNET_STUDIO_LAUNCHED_AT"  # set by the app: a stop request older than this is stale
ORPHAN_GRACE_S = 30.0  # after the app is gone, the time the run has to stop by itself before it exits


class TrainingStopped(Exception):
    """Raised inside the training loop when a stop was asked for; the run ends at a resumable point."""


def request_stop(run_dir: str | Path) -> Path:
    """Ask the run in ``run_dir`` to stop after its current step (what the app's Stop button does)."""
    from ..atomic_writer import write_text

    return write_text(Path(run_dir) / STOP_FILE, f"{time.time()}\n")


def _process_start_time() -> float:
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # psutil missing or no access: requests from before this moment are then honoured too
        return 0.0


class StopSignal:
    """Whether the run in ``run_dir`` has been asked to stop, and why."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / STOP_FILE
        self.launched_at = float(os.environ.get(LAUNCHED_AT_ENV) or _process_start_time())
        self.reason: str | None = None
        self._last_check = 0.0
        self._previous_handlers: dict[int, object] = {}

    # ----- the ways in -------------------------------------------------------------------------
    def install_signal_handlers(self) -> StopSignal:
        """SIGINT and SIGTERM ask for a stop (a second SIGINT interrupts at once). Main thread only."""
        if threading.current_thread() is not threading.main_thread():
            return self

        def on_signal(signum, frame):
            if self.reason is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.reason = f"stopped by {signal.Signals(signum).name}"

        for signum in (signal.SIGINT, signal.SIGTERM):  # replaces an ignore inherited from the launcher
            self._previous_handlers[signum] = signal.signal(signum, on_signal)
        return self

    def restore_signal_handlers(self) -> None:
        """Give SIGINT and SIGTERM back to whoever had them (the run is over)."""
        while self._previous_handlers:
            signum, handler = self._previous_handlers.popitem()
            signal.signal(signum, handler)

    def watch_app(self) -> StopSignal:
        """When started by the app: stop once the app's process is gone; exit if stopping takes too long."""
        pid = os.environ.get(APP_PID_ENV)
        if not pid:
            return self
        threading.Thread(target=self._watch, args=(int(pid),), name="app-watch", daemon=True).start()
        return self

    def _watch(self, pid: int) -> None:
        import psutil

        try:
            app = psutil.Process(pid)
            started = app.create_time()
        except psutil.Error:
            return

        def alive() -> bool:
            try:
                return app.is_running() and app.create_time() == started and app.status() != psutil.STATUS_ZOMBIE
            except psutil.Error:
                return False

        while alive():
            time.sleep(0.5)
        self.reason = self.reason or "the app that started this run has closed"
        time.sleep(ORPHAN_GRACE_S)
        os._exit(130)  # still here: never outlive the app (the last finished epoch is on disk)

    # ----- the question the loop asks ------------------------------------------------------------
    def requested(self) -> bool:
        """True once a stop was asked for. The request file is looked at no more than 4 times a second."""
        if self.reason is not None:
            return True
        now = time.monotonic()
        if now - self._last_check >= 0.25:
            self._last_check = now
            try:
                if self.path.stat().st_mtime >= self.launched_at - 1.0:
                    self.reason = "stopped at the user's request"
            except OSError:
                pass
        return self.reason is not None

    def clear(self) -> None:
        """Remove an honoured request, so that a later run in the same folder is not stopped by it."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
