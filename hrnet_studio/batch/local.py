"""Running a batch on this machine: in this process, and how this machine's cores and GPUs are shared out
among worker processes (``worker_pool``)."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ..inference.options import PipelineChoice
from ..inference.pipeline import PosePipeline
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


def gpu_count(choice: PipelineChoice) -> int:
    """The GPUs workers can be shown: none when the choice runs on the CPU or this machine has none."""
    if choice.device == "cpu":
        return 0
    from ..inference.runtime.backends import gpu_present

    if not gpu_present():
        return 0
    import torch

    return torch.cuda.device_count()
