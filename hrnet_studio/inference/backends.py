"""Pose backends: run the network on a batch of normalised crops, return heatmaps as numpy.

The pipeline only knows the ``PoseBackend`` protocol, so another runtime (ONNX Runtime)
can take the place of PyTorch without the rest of the code knowing.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from ..errors import StudioError


class PoseBackend(Protocol):
    device_name: str

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """float32 [N, 3, H, W] → float32 heatmaps [N, K, H/4, W/4]."""
        ...


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU; asking for CUDA without a GPU is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise StudioError("--device cuda was asked for, but PyTorch sees no CUDA GPU here (use --device cpu or auto)")
    if device != "cpu" and not device.startswith("cuda"):
        raise StudioError(f"unknown device {device!r}: use auto, cpu or cuda")
    return torch.device(device)


class TorchBackend:
    """PyTorch inference; fp16 and channels-last are the fast path on a GPU."""

    def __init__(self, model: torch.nn.Module, device: str = "auto", fp16: bool = False, channels_last: bool = False):
        self.device = resolve_device(device)
        self.fp16 = fp16 and self.device.type == "cuda"
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.eval().to(self.device, memory_format=self.memory_format)
        if self.fp16:
            self.model.half()
        self.device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "CPU"

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(self.device, non_blocking=True)
        x = x.contiguous(memory_format=self.memory_format)
        if self.fp16:
            x = x.half()
        return self.model(x).float().cpu().numpy()
