"""Pose backends: run the network on a batch of normalised crops, return heatmaps as numpy.

The pipeline only knows the ``PoseBackend`` protocol, so another runtime (ONNX Runtime)
can take the place of PyTorch without the rest of the code knowing. PyTorch is imported only by the code
that runs it: a pure ONNX Runtime path starts without it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ...errors import StudioError

if TYPE_CHECKING:
    import torch


class PoseBackend(Protocol):
    device_name: str  # what runs, in words, for display: "CPU", "ONNX Runtime CUDA (NVIDIA H100)"
    device_type: str  # "cpu" or "cuda": where the network runs, for the code that follows it

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """float32 [N, 3, H, W] → float32 heatmaps [N, K, H/4, W/4]."""
        ...


def gpu_present() -> bool:
    """Whether a CUDA GPU can run PyTorch here. Without an NVIDIA driver on the machine the answer is known
    without importing PyTorch (1-2 s of start-up on a small CPU)."""
    if "torch" not in sys.modules and not _nvidia_driver_present():
        return False
    import torch

    return torch.cuda.is_available()


@lru_cache(maxsize=1)
def _nvidia_driver_present() -> bool:
    name = ctypes.util.find_library("cuda") or ("nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1")
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; asking for CUDA without a GPU is a clear error."""
    import torch

    if device == "auto":
        return torch.device("cuda" if gpu_present() else "cpu")
    if device.startswith("cuda") and not gpu_present():
        raise StudioError("--device cuda was asked for, but PyTorch sees no CUDA GPU here (use --device cpu or auto; "
                          "`hrnet-studio doctor` says why)")
    if device != "cpu" and not device.startswith("cuda"):
        raise StudioError(f"unknown device {device!r}: use auto, cpu or cuda")
    return torch.device(device)


class TorchBackend:
    """PyTorch inference; fp16 and channels-last are the fast path on a GPU."""

    def __init__(self, model: torch.nn.Module, device: str = "auto", fp16: bool = False, channels_last: bool = False):
        import torch

        self.device = resolve_device(device)
        self.fp16 = fp16 and self.device.type == "cuda"
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.eval().to(self.device, memory_format=self.memory_format)
        if self.fp16:
            self.model.half()
        self.device_type = self.device.type
        self.device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "CPU"

    def infer_tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """Normalised crops float32 [N, 3, H, W] already on the device → heatmaps float32 [N, K, H/4, W/4], left
        there (the tensor path: ``codec/tensor_crops.py``, ``codec/tensor_decode.py``)."""
        import torch

        with torch.inference_mode():
            x = batch.contiguous(memory_format=self.memory_format)
            return self.model(x.half() if self.fp16 else x).float()

    def infer(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, non_blocking=True)
            x = x.contiguous(memory_format=self.memory_format)
            if self.fp16:
                x = x.half()
            return self.model(x).float().cpu().numpy()
