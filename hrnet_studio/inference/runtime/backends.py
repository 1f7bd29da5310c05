"""Pose backends: run the network on a batch of normalised crops, return heatmaps as numpy.

The pipeline only knows the ``PoseBackend`` protocol, so another runtime (ONNX Runtime)
can take the place of PyTorch without the rest of the code knowing. PyTorch is imported only by the code
that runs it: a pure ONNX Runtime path starts without it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable
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
    if "torch" not in sys.modules and not nvidia_driver_present():
        return False
    import torch

    return torch.cuda.is_available()


@lru_cache(maxsize=1)
def nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver (libcuda) can be loaded here, known without importing PyTorch."""
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
    """PyTorch inference in fp32, bf16 or fp16 (``dtype``); channels-last with the half precisions. On this
    2-core AVX-512 BF16 CPU, HRNet-W32 at batch 8: fp32 638 ms, bf16 325 ms, bf16 channels-last 192 ms (3.3×)."""

    def __init__(self, model: torch.nn.Module, device: str = "auto", fp16: bool = False, channels_last: bool = False,
                 dtype: str = "fp32", compile: bool = False, say: Callable[[str], None] | None = None):
        """``dtype`` "fp32", "bf16" or "fp16" (a CUDA GPU only; ``fp16`` True is the same, and is ignored on the
        CPU as it always was). ``compile``: the network goes through ``torch.compile`` (any batch size, compiled once
        on the first batch; see ``compiled``); if compiling fails the network runs as it is and ``say`` is told why."""
        import torch

        self.device = resolve_device(device)
        if dtype == "fp16" and self.device.type != "cuda":
            raise StudioError("fp16 runs on a CUDA GPU; on the CPU choose bf16 (or fp32)")
        self.dtype = "fp16" if (fp16 and self.device.type == "cuda") else dtype
        self.fp16 = self.dtype == "fp16"
        self.torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.dtype]
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.eval().to(self.device, memory_format=self.memory_format)
        self.model.to(self.torch_dtype)
        self.device_type = self.device.type
        self.device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "CPU"
        self.say = say
        self.forward = compiled(self.model) if compile else self.model

    def infer_tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """Normalised crops float32 [N, 3, H, W] already on the device → heatmaps float32 [N, K, H/4, W/4], left
        there (the tensor path: ``codec/tensor_crops.py``, ``codec/tensor_decode.py``)."""
        import torch

        with torch.inference_mode():
            x = batch.to(self.torch_dtype).contiguous(memory_format=self.memory_format)
            return self._run(x).float()

    def infer(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, non_blocking=True)
            x = x.to(self.torch_dtype).contiguous(memory_format=self.memory_format)
            return self._run(x).float().cpu().numpy()

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        if self.forward is self.model:
            return self.model(x)
        try:
            return self.forward(x)
        except Exception as exc:  # noqa: BLE001 - any compiler failure: the network still runs, uncompiled
            self.forward = self.model
            if self.say:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                self.say(f"note: torch.compile failed ({first}); running the network uncompiled")
            return self.model(x)


def compiled(model: torch.nn.Module, backend: str | Callable = "inductor") -> Callable:
    """``model`` through ``torch.compile``, its batch dimension marked dynamic, so one compilation serves every batch
    of two or more (a batch of one gets its own). Compiling takes minutes on a small CPU (HRNet-W32 bf16 on 2 cores:
    about 100 s, cached on disk for later runs) and then runs 1.3-1.6× faster there (``docs/benchmarks.md``):
    worth it for long exports, not for a quick look."""
    import torch

    network = torch.compile(model, backend=backend)

    def run(x: torch.Tensor) -> torch.Tensor:
        torch._dynamo.maybe_mark_dynamic(x, 0)
        return network(x)

    return run


def cpu_has_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX-512 BF16 or AMX), where PyTorch's bf16 pays."""
    import torch

    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        try:
            if getattr(torch.cpu, check)():
                return True
        except AttributeError:  # a private probe that a PyTorch build may not have
            continue
    return False
