"""Network throughput: persons per second through a ``PoseBackend`` at a given batch size."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .backends import PoseBackend


@dataclass
class Throughput:
    batch: int
    persons_per_s: float
    ms_per_batch: float
    runs: int


def measure_throughput(backend: PoseBackend, input_size: tuple[int, int], batch: int,
                       seconds: float = 2.0, warmup: int = 2) -> Throughput:
    """Run ``backend.infer`` on random crops for about ``seconds`` (at least 3 runs) after ``warmup`` runs."""
    width, height = input_size
    crops = np.random.default_rng(0).standard_normal((batch, 3, height, width)).astype(np.float32)
    for _ in range(warmup):
        backend.infer(crops)
    runs, start = 0, time.perf_counter()
    while runs < 3 or time.perf_counter() - start < seconds:
        backend.infer(crops)  # returns numpy, so GPU work has finished when it returns
        runs += 1
    elapsed = time.perf_counter() - start
    return Throughput(batch, batch * runs / elapsed, elapsed / runs * 1000, runs)
