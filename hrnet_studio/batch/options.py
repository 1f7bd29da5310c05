"""How a batch runs, and the defaults, written here and nowhere else (``export``'s ``--workers``, ``--cpus-per-task``
and ``--gpus-per-task``, and the app's batch dialog, read theirs from it). Nothing heavy is imported: the command line
builds its parser from it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchOptions:
    workers: int = 1  # worker processes on this machine, sharing its cores
    cpus_per_task: float = 2.0  # CPUs each Ray task declares; its threads follow
    gpus_per_task: float = 0.0  # GPUs each Ray task declares (1: each video on a GPU)
