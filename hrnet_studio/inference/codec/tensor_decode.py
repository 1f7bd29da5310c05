"""Heatmaps decoded on the network's device: only keypoints and scores come back to the host.

The same steps as ``decode.py`` (official argmax with the quarter offset, DARK's Newton step on the log of the
blurred heatmap, the official flip test), in torch, in the same precision step by step (float32 for the argmax and the
quarter offset, float64 for DARK's window), so that on identical heatmaps the keypoints are the numpy decoder's
(``tests/inference/test_tensor_path.py``: bit for bit for argmax and official, within 1e-5 heatmap pixels for DARK,
whose float64 sums run in another order). The small [N, K, 2] result is mapped back to the frame on the host with the
numpy path's matrices (``decode.heatmap_to_image``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .decode import Decoder, dark_derivatives, dark_kernel_size, gaussian_kernel

if TYPE_CHECKING:
    import torch


def max_preds_tensor(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``decode.get_max_preds`` on the device: float32 (x, y) [N, K, 2] of the first maximum (zero where it is ≤ 0)
    and float32 maxvals [N, K, 1]."""
    import torch

    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    maxvals, idx = torch.max(flat, dim=2, keepdim=True)
    idx = idx[..., 0]
    coords = torch.stack([idx % w, torch.div(idx, w, rounding_mode="floor")], dim=-1).float()
    return coords * (maxvals > 0).float(), maxvals.float()


def _gather(maps: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    import torch

    n, k, h, w = maps.shape
    x, y = x.clamp(0, w - 1), y.clamp(0, h - 1)
    return torch.gather(maps.reshape(n, k, h * w), 2, (y * w + x).unsqueeze(-1))[..., 0]


def quarter_offset_tensor(coords: torch.Tensor, heatmaps: torch.Tensor) -> torch.Tensor:
    """``decode.quarter_offset``: 0.25 px towards the higher neighbour where ``1 < px < W-1`` and ``1 < py < H-1``."""
    import torch

    _, _, h, w = heatmaps.shape
    px = torch.floor(coords[..., 0] + 0.5).long()
    py = torch.floor(coords[..., 1] + 0.5).long()
    inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    dx = _gather(heatmaps, px + 1, py) - _gather(heatmaps, px - 1, py)
    dy = _gather(heatmaps, px, py + 1) - _gather(heatmaps, px, py - 1)
    offset = torch.stack([torch.sign(dx), torch.sign(dy)], dim=-1) * 0.25
    return torch.where(inside.unsqueeze(-1), coords + offset.to(coords.dtype), coords)


def dark_refine_tensor(coords: torch.Tensor, heatmaps: torch.Tensor, kernel: int | None = None) -> torch.Tensor:
    """``decode.dark_refine``: the Newton step on the log of the heatmap blurred around each peak (zero border),
    falling back to the quarter offset where it is not a clear maximum."""
    import torch
    import torch.nn.functional as F

    n, k, h, w = heatmaps.shape
    kernel = kernel or dark_kernel_size(w)
    px, py = coords[..., 0].long(), coords[..., 1].long()
    radius = kernel // 2 + 2
    size = 2 * radius + 1
    padded = F.pad(heatmaps, (radius, radius, radius, radius))
    steps = torch.arange(size, device=heatmaps.device)
    rows = (py.unsqueeze(-1) + steps).unsqueeze(-1)  # [N, K, P, 1] in padded rows: the window starts at py
    cols = (px.unsqueeze(-1) + steps).unsqueeze(-2)  # [N, K, 1, P]
    flat = padded.reshape(n, k, -1)
    patches = torch.gather(flat, 2, (rows * (w + 2 * radius) + cols).reshape(n, k, -1)).reshape(n, k, size, size)
    g = torch.from_numpy(gaussian_kernel(kernel)).to(heatmaps.device)
    along_x = patches.double().unfold(3, kernel, 1) @ g  # [N, K, P, 5]
    blurred = along_x.unfold(2, kernel, 1) @ g  # [N, K, 5, 5]
    dx, dy, dxx, dyy, dxy, det = dark_derivatives(torch.log(torch.clamp(blurred, min=1e-10)))
    safe_det = torch.where(det != 0, det, torch.ones_like(det))
    off_x = -(dyy * dx - dxy * dy) / safe_det
    off_y = -(dxx * dy - dxy * dx) / safe_det
    valid = ((px > 1) & (px < w - 2) & (py > 1) & (py < h - 2) & (det > 0) & (dxx < 0)
             & (off_x.abs() <= 1) & (off_y.abs() <= 1))
    refined = coords + torch.stack([off_x, off_y], dim=-1).float()
    return torch.where(valid.unsqueeze(-1), refined, quarter_offset_tensor(coords, heatmaps))


class HostCopy:
    """Device tensors on their way to the host. On CUDA they are copied into pinned memory asynchronously, behind the
    work queued before them, and an event marks the end: the caller may queue the next frames' work before it asks
    for ``numpy()``, which waits for that event only. On other devices the copy is made at once."""

    def __init__(self, tensors: Sequence[torch.Tensor]):
        import torch

        self.event = None
        if tensors and tensors[0].device.type == "cuda":
            self.host = [torch.empty(t.shape, dtype=t.dtype, pin_memory=True) for t in tensors]
            for host, tensor in zip(self.host, tensors):
                host.copy_(tensor, non_blocking=True)
            self.event = torch.cuda.Event()
            self.event.record()
        else:
            self.host = [t.cpu() for t in tensors]

    def numpy(self) -> list[np.ndarray]:
        """The tensors as numpy arrays, once their copy has ended."""
        if self.event is not None:
            self.event.synchronize()
        return [h.numpy() for h in self.host]


def heatmap_coords_tensor_start(heatmaps: torch.Tensor, decoder: Decoder = "dark") -> HostCopy:
    """``heatmap_coords_tensor`` queued on the device: the (x, y) [N, K, 2] and scores [N, K, 1] on their way back."""
    heatmaps = heatmaps.float()
    coords, maxvals = max_preds_tensor(heatmaps)
    if len(heatmaps):
        if decoder == "official":
            coords = quarter_offset_tensor(coords, heatmaps)
        elif decoder == "dark":
            coords = dark_refine_tensor(coords, heatmaps)
    return HostCopy([coords, maxvals])


def heatmap_coords_tensor(heatmaps: torch.Tensor, decoder: Decoder = "dark") -> tuple[np.ndarray, np.ndarray]:
    """``decode.heatmap_coords`` on the device; returns numpy (x, y) in heatmap pixels [N, K, 2] and scores
    [N, K, 1] (the only transfer back)."""
    coords, maxvals = heatmap_coords_tensor_start(heatmaps, decoder).numpy()
    return coords, maxvals


def average_flip_tensor(normal: torch.Tensor, flipped: torch.Tensor, flip_pairs: Sequence[tuple[int, int]],
                        shift: bool = True) -> torch.Tensor:
    """``decode.average_flip`` on the device: the mirrored crop's heatmaps flipped back (pairs swapped, shifted one
    pixel right unless ``shift`` is False), averaged with the crop's."""
    import torch

    perm = np.arange(flipped.shape[1])
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    back = flipped.flip(3)[:, torch.from_numpy(perm).to(flipped.device)]
    if shift:
        back = torch.cat([back[..., :1], back[..., :-1]], dim=3)
    return (normal + back) * 0.5
