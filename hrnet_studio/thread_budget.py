"""One thread budget: how many threads each runtime may use, decided in one place.

Libraries change thread settings behind the caller's back: Ultralytics sets ``OMP_NUM_THREADS=1``
when it is imported first, turns OpenCV's threads off, and calls ``torch.set_num_threads(cores - 1)``
when its predictor picks the CPU — on a 2-core machine HRNet then runs on one core. The budget is
planned once from the cores this process may use, and ``enforce()`` puts it back after anything that
may have changed it (loading a detector, its first prediction).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it, else every core)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ThreadBudget:
    """Threads per runtime. In an export the pose network and the detector take turns, so both may use every core; in
    a live view they run side by side and split them. OpenCV only decodes and draws beside them, on one thread."""

    cores: int
    torch_threads: int  # PyTorch intra-op: HRNet on the PyTorch backend, and the Ultralytics detector
    ort_intra: int  # ONNX Runtime intra-op threads of a pose session
    ort_inter: int  # ONNX Runtime inter-op threads (the graph runs sequentially)
    ort_spinning: bool  # ORT workers spin between runs: faster alone, but they take cores from other threads
    opencv_threads: int
    beside_detector_threads: int = 1  # a live view's detector session, running beside the pose step: half the cores
    live_pose_threads: int = 1  # a live view's Lite-HRNet on ONNX Runtime: the cores the detector beside it leaves

    @classmethod
    def plan(cls, cores: int | None = None) -> ThreadBudget:
        """ONNX Runtime does not spin: its idle workers spinning after a run took the cores from the detector that
        runs next (benchmarks/live.py, 2-core CPU: detection 54-66 ms instead of 86-131 ms, live 1.03-1.41x the
        frames/s), which costs more than spinning saves the network alone (0-10%). Spinning within runs only (ORT's
        ``session.force_spinning_stop``) was worse still: the detector of the next frame runs during the pose run
        (Lite-HRNet-18, gym clip: 0.62-0.67x the frames/s).

        A live view's detector runs beside the pose step (``inference/detect/background.py``) on half the cores; see
        ``live_pose_threads_for`` for the pose session's."""
        cores = cores or available_cores()
        return cls(cores=cores, torch_threads=cores, ort_intra=cores, ort_inter=1, ort_spinning=False,
                   opencv_threads=1, beside_detector_threads=max(1, cores // 2),
                   live_pose_threads=max(1, cores - cores // 2))

    def live_pose_threads_for(self, arch: str) -> int:
        """A live view's pose session on ONNX Runtime, for a model of architecture ``arch``. Lite-HRNet's many small
        operations gain little from a second thread and lose more when the detector beside preempts it: it gets the
        cores the detector leaves. HRNet's large convolutions use every core. Measured on 2 cores
        (``benchmarks/live.py``, tai chi clip): Lite-HRNet-18, detector every 5th frame at 320 px, 50.9 frames/s on one
        thread against 42.9 on two; HRNet-W32 fp32, auto schedule, 11.4 against 16.2; W32 INT8 29.7 against 30.1."""
        return self.live_pose_threads if arch.startswith("litehrnet") else self.ort_intra

    def describe(self) -> str:
        """One line for the status bar and ``bench``."""
        spin = "" if self.ort_spinning else ", no spinning"
        return (f"threads: PyTorch {self.torch_threads}, ONNX Runtime {self.ort_intra}{spin}, "
                f"OpenCV {self.opencv_threads} ({self.cores} cores)")

    def configure_ort(self, options) -> None:
        """Apply the budget to an ``onnxruntime.SessionOptions``."""
        options.intra_op_num_threads = self.ort_intra
        options.inter_op_num_threads = self.ort_inter
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.ort_spinning else "0")


_chosen: ThreadBudget | None = None


def use_thread_budget(budget: ThreadBudget) -> None:
    """Replace the planned budget for this process (a benchmark comparing settings)."""
    global _chosen
    _chosen = budget
    os.environ["OMP_NUM_THREADS"] = str(budget.torch_threads)


def thread_budget() -> ThreadBudget:
    """The process's budget, planned on first use. ``OMP_NUM_THREADS`` is set to it for libraries loaded later
    (Ultralytics only lowers it to 1 when it is unset)."""
    return _chosen or _planned()


@lru_cache(maxsize=1)
def _planned() -> ThreadBudget:
    budget = ThreadBudget.plan()
    os.environ.setdefault("OMP_NUM_THREADS", str(budget.torch_threads))
    return budget


def enforce() -> ThreadBudget:
    """Put PyTorch's and OpenCV's thread counts back to the budget (cheap: only what changed is set). PyTorch is
    left alone while nothing has imported it (it reads ``OMP_NUM_THREADS``, set to the budget, when it starts)."""
    import cv2

    budget = thread_budget()
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_num_threads") and torch.get_num_threads() != budget.torch_threads:
        torch.set_num_threads(budget.torch_threads)
    if cv2.getNumThreads() != budget.opencv_threads:
        cv2.setNumThreads(budget.opencv_threads)
    return budget
