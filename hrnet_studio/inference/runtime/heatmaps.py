"""The network's heatmaps for a batch of person crops: chunked to a batch size and flip-tested when asked.

The one forward path of the pipeline (live view, export), validation during training and ``eval``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..codec.decode import average_flip
from .backends import PoseBackend


def predict_heatmaps(backend: PoseBackend, crops: np.ndarray, flip_pairs: Sequence[tuple[int, int]],
                     flip_test: bool = False, max_batch: int = 32, shift: bool = True) -> np.ndarray:
    """Heatmaps float32 [N, K, H/4, W/4] for normalised crops float32 [N, 3, H, W].

    With ``flip_test`` each crop is also run mirrored and the two outputs are averaged as the official test
    does (flip pairs swapped, shifted one pixel unless ``shift`` is False, as UDP's geometry needs: the
    codec's ``flip_shift``); crop and mirror go through the network together, at most ``max_batch`` crops
    per call."""
    if flip_test:
        n = len(crops)
        out = _forward(backend, np.concatenate([crops, crops[..., ::-1]], axis=0), max_batch)
        return average_flip(out[:n], out[n:], flip_pairs, shift=shift)
    return _forward(backend, crops, max_batch)


def _forward(backend: PoseBackend, crops: np.ndarray, max_batch: int) -> np.ndarray:
    step = max(1, max_batch)
    parts = [backend.infer(np.ascontiguousarray(crops[i:i + step])) for i in range(0, len(crops), step)]
    return np.concatenate(parts, axis=0)


def predict_heatmaps_tensor(backend, crops, flip_pairs: Sequence[tuple[int, int]], flip_test: bool = False,
                            max_batch: int = 32, shift: bool = True):
    """``predict_heatmaps`` for crops on a torch device (float32 [N, 3, H, W]) with a backend that has
    ``infer_tensor``: the heatmaps [N, K, H/4, W/4] stay on the device; the flip test runs there too."""
    import torch

    from ..codec.tensor_decode import average_flip_tensor

    batch = torch.cat([crops, crops.flip(3)]) if flip_test else crops
    step = max(1, max_batch)
    out = torch.cat([backend.infer_tensor(batch[i:i + step]) for i in range(0, len(batch), step)]) if len(batch) \
        else backend.infer_tensor(batch)
    if flip_test:
        n = len(crops)
        return average_flip_tensor(out[:n], out[n:], flip_pairs, shift=shift)
    return out
