"""Running a batch on this machine: in this process, or in N worker processes that share its cores and GPUs.

Workers are spawned processes, each pinned to its share of the cores (so each one's thread budget plans for
that share) and, on a machine with GPUs, shown one GPU (one worker per GPU in turn), each building its pipeline
once from the same choice; records and progress come back to this process, which alone writes the manifest."""
from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context

from ..errors import StudioError
from ..inference.factory import PipelineChoice, build_pipeline
from ..inference.pipeline import PipelineOptions, PosePipeline
from .manifest import VideoRecord
from .task import VideoTask, run_task

Progress = Callable[[str, int, int], None]  # (video name, frames done, frames total)
RecordSink = Callable[[VideoRecord], None]


class InProcessRunner:
    """Every video one after the other with one pipeline (already built, so the model loads once)."""

    def __init__(self, pipeline: PosePipeline, stop: threading.Event | None = None):
        self.pipeline = pipeline
        self.workers = 1
        self.stop = stop or threading.Event()  # set: the video in progress is cancelled (no file), the batch ends

    def run(self, tasks: list[VideoTask], settings: dict, on_progress: Progress, on_record: RecordSink) -> None:
        def progress(name: str, done: int, total: int) -> bool:
            on_progress(name, done, total)
            return not self.stop.is_set()

        for task in tasks:
            if self.stop.is_set():
                raise KeyboardInterrupt
            on_record(run_task(task, self.pipeline, settings, lambda done, total, n=task.name: progress(n, done, total),
                               worker=f"{os.uname().nodename}/main" if hasattr(os, "uname") else "main"))


def core_shares(workers: int) -> list[list[int]]:
    """This process's cores split into ``workers`` shares as even as they go (several workers share a core when
    there are more workers than cores)."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this OS: each worker plans for its share of the count
        cores = list(range(os.cpu_count() or 1))
    if workers >= len(cores):
        return [[cores[i % len(cores)]] for i in range(workers)]
    return [cores[i::workers] for i in range(workers)]


def gpu_shares(workers: int, gpus: int) -> list[str | None]:
    """The GPU each worker sees (its ``CUDA_VISIBLE_DEVICES``): one per worker in turn, workers sharing GPUs when
    there are more workers than GPUs; None for every worker without GPUs (they run on their cores)."""
    return [str(i % gpus) if gpus else None for i in range(workers)]


def _gpu_count(choice: PipelineChoice) -> int:
    if choice.device == "cpu":
        return 0
    from ..inference.backends import gpu_present

    if not gpu_present():
        return 0
    import torch

    return torch.cuda.device_count()


class ProcessPoolRunner:
    """``workers`` processes on this machine, each exporting whole videos."""

    def __init__(self, choice: PipelineChoice, options: PipelineOptions, workers: int,
                 stop: threading.Event | None = None):
        if workers < 1:
            raise StudioError("--workers must be at least 1")
        self.choice, self.options, self.workers = choice, options, workers
        self.stop = stop or threading.Event()  # set: videos not started are dropped, those running finish

    def run(self, tasks: list[VideoTask], settings: dict, on_progress: Progress, on_record: RecordSink) -> None:
        context = get_context("spawn")
        shares, updates = context.Queue(), context.Queue()
        for cores, gpu in zip(core_shares(self.workers), gpu_shares(self.workers, _gpu_count(self.choice))):
            shares.put((cores, gpu))
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                 initargs=(self.choice, self.options, shares, updates)) as pool:
            pending: dict[Future, VideoTask] = {pool.submit(_export_in_worker, t, settings): t for t in tasks}
            try:
                while pending:
                    finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(updates, on_progress)
                    for future in finished:
                        task = pending.pop(future)
                        if not future.cancelled():
                            on_record(_record_of(future, task, settings))
                    if self.stop.is_set():
                        for future in list(pending):
                            if future.cancel():
                                pending.pop(future)
                _drain(updates, on_progress)
                if self.stop.is_set():
                    raise KeyboardInterrupt
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def _drain(updates, on_progress: Progress) -> None:
    while True:
        try:
            name, done, total = updates.get_nowait()
        except queue.Empty:
            return
        on_progress(name, done, total)


def _record_of(future: Future, task: VideoTask, settings: dict) -> VideoRecord:
    try:
        return future.result()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the worker died (killed, out of memory): this video failed, the batch goes on
        from ..errors import user_message

        return VideoRecord(str(task.video), task.name, "failed", settings,
                           error=user_message(exc, f"the worker exporting {task.video.name}"))


_worker: dict = {}


def _start_worker(choice: PipelineChoice, options: PipelineOptions, shares, updates) -> None:
    share, gpu = shares.get()
    if gpu is not None:  # before anything imports PyTorch in this process
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, share)
    else:
        from ..thread_budget import ThreadBudget, use_thread_budget

        use_thread_budget(ThreadBudget.plan(len(share)))
    _worker.update(choice=choice, options=options, updates=updates, name=f"{os.uname().nodename}/pid{os.getpid()}"
                   if hasattr(os, "uname") else f"pid{os.getpid()}")


def _export_in_worker(task: VideoTask, settings: dict) -> VideoRecord:
    if "pipeline" not in _worker:
        try:
            _worker["pipeline"], _ = build_pipeline(_worker["choice"], _worker["options"])
        except StudioError as exc:
            return VideoRecord(str(task.video), task.name, "failed", settings, error=str(exc), worker=_worker["name"])
    updates = _worker["updates"]
    return run_task(task, _worker["pipeline"], settings,
                    lambda done, total: updates.put((task.name, done, total)), worker=_worker["name"])
