"""How training data is loaded: DataLoader worker processes and pinned memory sized to the machine.

A recipe's ``workers`` is the number of loading processes per training process; ``-1`` (the default) sizes it here.
On a GPU the network's step is fast and the images must keep up: every core this training process may use but the
one that drives the GPU loads images, up to 8 (more rarely pays: decoding and augmenting a 256×192 crop takes
~2-5 ms on one core, so 8 workers feed ~2000 images/s). On the CPU the network's step uses every core through
PyTorch's threads and takes far longer than loading its batch; loading processes only take cores from it, so a
small machine loads in the training process itself and a large one gives loading a quarter of its cores.
"""
from __future__ import annotations

from ..thread_budget import available_cores

AUTO = -1
MAX_GPU_WORKERS = 8


def loader_workers(requested: int, device_type: str, world_size: int = 1, cores: int | None = None) -> int:
    """DataLoader worker processes for one training process: ``requested`` when it is 0 or more, else (``AUTO``)
    sized to ``cores`` (this process's available cores by default) shared by ``world_size`` processes, for a step
    on ``device_type`` ("cuda", "cpu", ...)."""
    if requested >= 0:
        return requested
    per_process = max(1, (cores or available_cores()) // max(1, world_size))
    if device_type == "cuda":
        return min(MAX_GPU_WORKERS, max(1, per_process - 1))
    return min(4, per_process // 4)


def loader_settings(requested: int, device_type: str, world_size: int = 1, cores: int | None = None) -> dict:
    """The DataLoader keywords this module decides: ``num_workers`` and ``pin_memory`` (on CUDA: batches are copied
    to the GPU from page-locked memory, asynchronously)."""
    return {"num_workers": loader_workers(requested, device_type, world_size, cores),
            "pin_memory": device_type == "cuda"}
