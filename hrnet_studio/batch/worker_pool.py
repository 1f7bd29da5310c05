"""A batch on N worker processes of this machine that survives the death of any of them.

Each worker is a process with a pipe of its own (forked from a server process that has imported PyTorch, OpenCV
and ONNX Runtime once, where the system has one: a worker, or its replacement, starts in a moment instead of
importing them again for seconds; spawned afresh elsewhere), pinned to its share of the cores (so its thread budget
plans for that share) and, on a machine with GPUs, shown one GPU; it builds its pipeline once and exports whole
videos, one at a time, as this process hands them out. A worker that dies (``kill -9``, the out-of-memory killer,
a crash in a native library) takes only the video it held: that video is tried again on a new worker up to
``RETRIES`` times, then recorded as failed with the cause (``worker died: signal 9``); every other video goes on.
Records and progress come back through the pipes to this process, which alone writes the manifest."""
from __future__ import annotations

import os
import signal
import threading
from collections import deque
from multiprocessing import get_context
from multiprocessing.connection import wait

from ..atomic_writer import discard
from ..errors import StudioError, user_message
from ..inference.factory import build_pipeline
from ..inference.options import PipelineChoice, PipelineOptions
from ..inference.pipeline import PosePipeline
from .local import (
    InProcessRunner,
    Progress,
    RecordSink,
    core_shares,
    gpu_count,
    gpu_shares,
)
from .manifest import VideoRecord
from .task import RETRIES, VideoTask, run_task

STOP_WAIT_S = 10.0  # how long a worker told to stop may take before it is terminated


def local_runner(pipeline: PosePipeline, choice: PipelineChoice, options: PipelineOptions, workers: int,
                 stop: threading.Event | None = None) -> InProcessRunner | ProcessPoolRunner:
    """The runner for a batch on this machine (the CLI's and the app's alike): ``pipeline`` in this process for one
    worker, else ``workers`` processes that each build their own from ``choice``."""
    if workers == 1:
        return InProcessRunner(pipeline, stop)
    return ProcessPoolRunner(choice, options, workers, stop)


PRELOADED = ("torch", "cv2", "onnxruntime", "hrnet_studio.inference.factory", "hrnet_studio.batch.task")


def worker_context():
    """How worker processes start: forked from a fork server that imported ``PRELOADED`` once (Linux, macOS); it has
    run nothing, so no thread pool or GPU context is copied into the workers. Spawned where there is none."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return get_context("spawn")
    context = get_context("forkserver")
    context.set_forkserver_preload(list(PRELOADED))
    return context


def death_cause(exitcode: int | None) -> str:
    """Why a worker process ended, in the manifest's words: ``worker died: signal 9`` or ``…: exit code 1``."""
    if exitcode is not None and exitcode < 0:
        return f"worker died: signal {-exitcode}"
    return f"worker died: exit code {exitcode}"


class _Worker:
    """One worker process, the pipe to it and the video it holds (with that video's attempt number)."""

    def __init__(self, context, share: tuple[list[int], str | None], choice: PipelineChoice,
                 options: PipelineOptions):
        self.share = share
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, share, choice, options), daemon=True)
        self.process.start()
        child.close()
        self.task: VideoTask | None = None
        self.attempt = 0
        self.deaths: list[str] = []  # the causes of the earlier attempts' deaths, for the record

    def give(self, task: VideoTask, settings: dict, attempt: int, deaths: list[str]) -> None:
        self.task, self.attempt, self.deaths = task, attempt, deaths
        self.conn.send((task, settings))

    def messages(self) -> tuple[list[tuple], bool]:
        """What the worker has sent so far, and whether its end of the pipe is still there (False: it died)."""
        got = []
        try:
            while self.conn.poll():
                got.append(self.conn.recv())
        except (EOFError, OSError, ValueError, TypeError, AttributeError):  # closed, or cut mid-message by a kill
            return got, False
        return got, True

    def close(self) -> None:
        """Stop the process: asked first (between videos), terminated when it does not end within the bound."""
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(STOP_WAIT_S if self.task is None else 0)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(STOP_WAIT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class ProcessPoolRunner:
    """``workers`` processes on this machine, each exporting whole videos. ``running`` maps the name of each video
    being exported to the process id of its worker."""

    def __init__(self, choice: PipelineChoice, options: PipelineOptions, workers: int,
                 stop: threading.Event | None = None):
        if workers < 1:
            raise StudioError("--workers must be at least 1")
        self.choice, self.options, self.workers = choice, options, workers
        self.stop = stop or threading.Event()  # set: videos not started are dropped, those running finish
        self._cancel = threading.Event()  # set: the videos running are stopped too, leaving no file
        self.running: dict[str, int] = {}

    def cancel(self) -> None:
        """End the batch now (the app closes): the workers are stopped mid-video and their part files removed."""
        self.stop.set()
        self._cancel.set()

    def run(self, tasks: list[VideoTask], settings: dict, on_progress: Progress, on_record: RecordSink) -> None:
        context = worker_context()
        todo = deque((task, 1, []) for task in tasks)  # (task, attempt, causes of earlier deaths)
        shares = list(zip(core_shares(self.workers), gpu_shares(self.workers, gpu_count(self.choice))))
        pool = [_Worker(context, share, self.choice, self.options) for share in shares[:len(tasks)]]
        try:
            while True:
                for worker in pool:
                    if worker.task is None and todo and not self.stop.is_set():
                        task, attempt, deaths = todo.popleft()
                        worker.give(task, settings, attempt, deaths)
                busy = [w for w in pool if w.task is not None]
                self.running = {w.task.name: w.process.pid for w in busy}
                if not busy:
                    break
                wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=1.0)
                if self._cancel.is_set():
                    break
                for worker in list(pool):
                    if worker.task is not None and not self._follow(worker, settings, on_progress, on_record, todo):
                        worker.close()  # a new worker takes its place while there are videos left for it
                        pool.remove(worker)
                        if todo and not self.stop.is_set():
                            pool.append(_Worker(context, worker.share, self.choice, self.options))
            if self.stop.is_set():
                raise KeyboardInterrupt
        finally:
            self.running = {}
            for worker in pool:
                task = worker.task
                worker.close()
                if task is not None:  # stopped mid-video (cancel, Ctrl-C): its part files go too
                    for part in task.leftovers():
                        discard(part)

    def _follow(self, worker: _Worker, settings: dict, on_progress: Progress, on_record: RecordSink,
                todo: deque) -> bool:
        """Pass on what ``worker`` sent; False when it died (its video is queued again, or recorded as failed)."""
        messages, open_pipe = worker.messages()
        for message in messages:
            if message[0] == "progress":
                on_progress(*message[1:])
            else:
                record: VideoRecord = message[1]
                record.attempts = worker.attempt
                if worker.deaths:
                    record.notes.append(f"{'; '.join(worker.deaths)}: done on attempt {worker.attempt}")
                worker.task = None
                on_record(record)
        if open_pipe and (worker.task is None or worker.process.is_alive()):
            return True
        worker.process.join(STOP_WAIT_S)
        if worker.task is None:  # it died between videos: nothing was lost
            return False
        deaths = worker.deaths + [f"{death_cause(worker.process.exitcode)} (attempt {worker.attempt})"]
        if worker.attempt <= RETRIES:
            todo.appendleft((worker.task, worker.attempt + 1, deaths))
        else:
            task = worker.task
            for part in task.leftovers():
                discard(part)
            on_record(VideoRecord(str(task.video), task.name, "failed", settings, attempts=worker.attempt,
                                  error=f"{death_cause(worker.process.exitcode)} on each of {worker.attempt} attempts "
                                        f"exporting {task.video.name}", notes=deaths))
        worker.task = None
        return False


def enter_share(share: tuple[list[int], str | None]) -> None:
    """A worker's first step: Ctrl-C left to the batch, its GPU (before CUDA starts: the fork server never started
    it), its cores and a thread budget planned for them (whatever the fork server planned)."""
    from ..thread_budget import ThreadBudget, enforce, use_thread_budget

    cores, gpu = share
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle: it stops the workers
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    use_thread_budget(ThreadBudget.plan(len(cores)))
    enforce()


def _worker_main(conn, share: tuple[list[int], str | None], choice: PipelineChoice, options: PipelineOptions) -> None:
    """A worker process: videos from ``conn`` until told to stop (None), each answered with its record."""
    enter_share(share)
    name = f"{os.uname().nodename}/pid{os.getpid()}" if hasattr(os, "uname") else f"pid{os.getpid()}"
    pipeline = None
    while (message := conn.recv()) is not None:
        task, settings = message
        if pipeline is None:
            try:
                pipeline, _ = build_pipeline(choice, options)
            except Exception as exc:  # noqa: BLE001 — the model cannot load here: this video fails, in one line
                conn.send(("record", VideoRecord(str(task.video), task.name, "failed", settings, worker=name,
                                                 error=user_message(exc, "loading the model"))))
                continue
        record = run_task(task, pipeline, settings,
                          lambda done, total, n=task.name: conn.send(("progress", n, done, total)), worker=name)
        conn.send(("record", record))
