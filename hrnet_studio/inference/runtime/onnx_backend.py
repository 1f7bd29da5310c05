"""ONNX Runtime pose backend: the same ``infer`` contract as ``TorchBackend``.

The session (providers, threads, the optimized-model cache) is opened by ``ort_session.open_session``;
``device_name`` says which provider really runs, as ONNX Runtime silently drops one it cannot start.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import StudioError, first_line
from .ort_session import PROVIDER_LABELS, open_session


class OnnxBackend:
    """Runs an exported HRNet (input ``[N, 3, H, W]`` float32 → heatmaps) with ONNX Runtime."""

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None):
        path = Path(path)
        if not path.is_file():
            raise StudioError(f"ONNX model not found: {path}")
        try:
            self.session = open_session(path, device, threads)
        except StudioError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types for bad models
            raise StudioError(f"ONNX Runtime cannot load {path.name}: {first_line(exc)}") from None
        self.input_name = self.session.get_inputs()[0].name
        self.providers = self.session.get_providers()
        self.device_name = self._describe(self.providers[0])
        self.device_type = "cpu" if self.providers[0] == "CPUExecutionProvider" else "cuda"

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
