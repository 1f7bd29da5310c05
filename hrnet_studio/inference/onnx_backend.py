"""ONNX Runtime pose backend: the same ``infer`` contract as ``TorchBackend``.

Execution providers are chosen automatically: TensorRT (when its libraries are installed) and
CUDA when a GPU is present, the CPU otherwise. ``device_name`` says which one really runs, as
ONNX Runtime silently drops a provider it cannot start.
"""
from __future__ import annotations

import ctypes.util
from pathlib import Path

import numpy as np

from ..errors import StudioError, first_line
from ..thread_budget import thread_budget
from .backends import gpu_present

PROVIDER_LABELS = {
    "TensorrtExecutionProvider": "TensorRT",
    "CUDAExecutionProvider": "CUDA",
    "CPUExecutionProvider": "CPU",
}


def tensorrt_present() -> bool:
    return ctypes.util.find_library("nvinfer") is not None


def choose_providers(device: str, available: list[str]) -> list[str]:
    """Ordered providers for ``device`` (auto / cpu / cuda) from what this onnxruntime build offers."""
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise StudioError(f"unknown device {device!r}: use auto, cpu or cuda")
    want_gpu = device != "cpu" and "CUDAExecutionProvider" in available and gpu_present()
    if device.startswith("cuda") and not want_gpu:
        raise StudioError("--device cuda was asked for, but no CUDA GPU is usable by ONNX Runtime here "
                          "(use --device cpu or auto)")
    providers = []
    if want_gpu:
        if "TensorrtExecutionProvider" in available and tensorrt_present():
            providers.append("TensorrtExecutionProvider")
        providers.append("CUDAExecutionProvider")
    providers.append("CPUExecutionProvider")
    return providers


class OnnxBackend:
    """Runs an exported HRNet (input ``[N, 3, H, W]`` float32 → heatmaps) with ONNX Runtime."""

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise StudioError(f"ONNX model not found: {path}")
        ort.set_default_logger_severity(3)  # errors only: provider fallbacks are reported by device_name
        providers = choose_providers(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        thread_budget().configure_ort(options)
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for bad models
            raise StudioError(f"ONNX Runtime cannot load {path.name}: {first_line(exc)}") from None
        self.input_name = self.session.get_inputs()[0].name
        self.providers = self.session.get_providers()
        self.device_name = self._describe(self.providers[0])

    @staticmethod
    def _describe(provider: str) -> str:
        label = PROVIDER_LABELS.get(provider, provider)
        if provider == "CPUExecutionProvider":
            return "ONNX Runtime CPU"
        import torch

        return f"ONNX Runtime {label} ({torch.cuda.get_device_name(0)})"

    def infer(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return self.session.run(None, {self.input_name: batch})[0]
