"""Training in a child process (``hrnet-studio train``), followed through its JSON-lines log.

A separate process means a crash, an out-of-memory kill or a CUDA fault in training never takes the app down;
the app only reads ``events.jsonl`` and the process's output.

Stopping never relies on signals (a launcher may have left SIGINT ignored, and Windows has none): the app
writes a stop request into the run folder, which every training process polls (``training/stopping.py``).
If the run has not ended after a grace period, its whole process tree is killed — ``torchrun`` and its
workers too — the last finished epoch being on disk either way. The child also watches the app, so it
stops even if the app itself is killed.
"""
from __future__ import annotations

import os
import sys
import time
from collections import deque
from pathlib import Path

import psutil
from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from ...errors import StudioError
from ...training.events import EventFollower
from ...training.stopping import APP_PID_ENV, LAUNCHED_AT_ENV, STOP_FILE, request_stop

POLL_MS = 250
STOP_GRACE_MS = 20000  # after this, a run that has not stopped is killed (the last finished epoch is on disk)
CLOSE_GRACE_MS = 15000  # when the app closes: the time a run gets to stop by itself before it is killed


def train_command(recipe_file: Path, resume: bool = False, gpus: int = 1) -> list[str]:
    """The command line: ``python -m hrnet_studio train``, under torchrun for several GPUs."""
    args = ["-m", "hrnet_studio", "train", str(recipe_file)] + (["--resume"] if resume else [])
    if gpus > 1:
        args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}"] + args
    return [sys.executable, *args]


class TrainingProcess(QObject):
    """Runs one training job; emits each new log event and, at the end, how it ended."""

    event = Signal(dict)
    output = Signal(str)  # one line of the child's output
    finished = Signal(str, str)  # "done" | "stopped" | "failed", and a message for the user

    def __init__(self, run_dir: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.process: QProcess | None = None
        self.follower: EventFollower | None = None
        self.lines: deque[str] = deque(maxlen=200)
        self.stopping = False
        self.done_event: dict | None = None
        self._partial = ""
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.kill_timer = QTimer(self)
        self.kill_timer.setSingleShot(True)
        self.kill_timer.timeout.connect(self._kill)

    @property
    def log_path(self) -> Path:
        return self.run_dir / "events.jsonl"

    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, recipe_file: Path, resume: bool = False, gpus: int = 1) -> None:
        if self.is_running():
            raise RuntimeError("a training run is already going")
        self.stopping = False
        self.done_event = None
        self.lines.clear()
        # A fresh run follows only what it writes; a resumed one replays the earlier epochs for the curves.
        self.follower = EventFollower(self.log_path, from_end=not resume)
        if resume:
            self.poll()
        command = train_command(recipe_file, resume, gpus)
        process = QProcess(self)
        (self.run_dir / STOP_FILE).unlink(missing_ok=True)  # a request left by an earlier run is not for this one
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert(APP_PID_ENV, str(os.getpid()))
        env.insert(LAUNCHED_AT_ENV, repr(time.time()))
        process.setProcessEnvironment(env)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.setWorkingDirectory(str(self.run_dir))
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        process.start(command[0], command[1:])
        self.timer.start()

    def stop(self) -> None:
        """Ask the run to stop after its current step; it keeps its last finished epoch and can be resumed.

        A run that has not ended after ``STOP_GRACE_MS`` is killed, process tree and all.
        """
        if not self.is_running():
            return
        self.stopping = True
        try:
            request_stop(self.run_dir)
        except StudioError:  # the run folder cannot be written: stopping by force is all that is left
            self._kill()
            return
        self.kill_timer.start(STOP_GRACE_MS)

    def stop_and_wait(self, grace_ms: int = CLOSE_GRACE_MS) -> None:
        """The app is closing: stop the run, wait for it, and kill what is left — without the event loop,
        which is blocked here. Returns only when no process of the run remains."""
        if not self.is_running():
            return
        self.stop()
        if not self.process.waitForFinished(grace_ms):
            self._kill()
            self.process.waitForFinished(5000)

    def _kill(self) -> None:
        """Kill the run's whole process tree (torchrun's workers are its children, not ours)."""
        if not self.is_running():
            return
        try:
            root = psutil.Process(self.process.processId())
            tree = root.children(recursive=True)
        except psutil.Error:
            tree = []
        for child in tree:
            try:
                child.kill()
            except psutil.Error:
                pass
        self.process.kill()
        psutil.wait_procs(tree, timeout=5)

    def poll(self) -> None:
        if self.follower is None:
            return
        for event in self.follower.read_new():
            if event.get("event") == "done":
                self.done_event = event
            self.event.emit(event)

    def last_error(self) -> str:
        """The child's own ``error:`` line when it gave one, else its last line of output."""
        lines = [line.strip() for line in self.lines if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        return (errors or lines or ["the training process ended without a message"])[-1]

    # ----- process signals -----------------------------------------------------------------------
    def _read_output(self) -> None:
        text = self._partial + bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        *complete, self._partial = text.replace("\r", "\n").split("\n")
        for line in complete:
            if line.strip():
                self.lines.append(line)
                self.output.emit(line)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.timer.stop()
            self.finished.emit("failed", f"could not start the training process ({self.process.errorString()})")

    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self.timer.stop()
        self.kill_timer.stop()
        self._read_output()
        if self._partial.strip():
            self.lines.append(self._partial)
        self._partial = ""
        self.poll()
        if self.done_event is not None and exit_code == 0:
            self.finished.emit("done", f"registered as {self.done_event.get('registered')}")
        elif self.stopping:
            self.finished.emit("stopped", "stopped; the last finished epoch is saved and can be resumed")
        elif status == QProcess.ExitStatus.CrashExit:
            self.finished.emit("failed", f"the training process crashed ({self.last_error()}); "
                                         "the last finished epoch is saved and can be resumed")
        else:
            self.finished.emit("failed", self.last_error())
