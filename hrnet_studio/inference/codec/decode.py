"""Heatmaps → keypoints: official argmax + quarter offset, DARK, and the official flip test (UDP's without the shift).

Everything is vectorised over persons and joints; nothing loops per joint.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from ..options import DECODERS
from .transforms import affine_transform_points, crop_transform

Decoder = Literal["dark", "official", "argmax"]


def get_max_preds(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Official ``get_max_preds``: integer (x, y) of the first maximum, zeroed where max ≤ 0.

    Returns float32 coords [N, K, 2] and float32 maxvals [N, K, 1].
    """
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    idx = np.argmax(flat, axis=2)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=2).astype(np.float32)
    coords = np.stack([idx % w, np.floor(idx / w)], axis=-1).astype(np.float32)
    coords *= (maxvals > 0.0).astype(np.float32)
    return coords, maxvals


def _gather(maps: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """maps [N, K, H, W] at integer (x, y) [N, K] → [N, K] (indices are clipped into the map)."""
    n, k, h, w = maps.shape
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    flat = maps.reshape(n, k, h * w)
    return np.take_along_axis(flat, (y * w + x)[..., None], axis=2)[..., 0]


def quarter_offset(coords: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
    """Official post-processing: move 0.25 px towards the higher neighbour.

    Applied only where ``1 < px < W-1`` and ``1 < py < H-1`` (the official, asymmetric rule).
    """
    _, _, h, w = heatmaps.shape
    px = np.floor(coords[..., 0] + 0.5).astype(np.int64)
    py = np.floor(coords[..., 1] + 0.5).astype(np.int64)
    inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    dx = _gather(heatmaps, px + 1, py) - _gather(heatmaps, px - 1, py)
    dy = _gather(heatmaps, px, py + 1) - _gather(heatmaps, px, py - 1)
    offset = np.stack([np.sign(dx), np.sign(dy)], axis=-1) * np.float32(0.25)
    out = coords.copy()
    out[inside] += offset[inside].astype(out.dtype)
    return out


def dark_kernel_size(heatmap_width: int) -> int:
    """Blur kernel of the DARK paper: 11 for 48-wide (σ=2) maps, scaled with the map (odd)."""
    k = int(round(11 * heatmap_width / 48))
    return max(3, k | 1)


def gaussian_kernel(size: int) -> np.ndarray:
    """OpenCV's Gaussian for ``ksize`` with sigma 0 (σ = 0.3·((size−1)/2 − 1) + 0.8): σ = 2 for 11 taps."""
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _blurred_windows(heatmaps: np.ndarray, px: np.ndarray, py: np.ndarray, kernel: int) -> np.ndarray:
    """The Gaussian-blurred heatmap (zero border) in a 5×5 window around each peak: [N, K, 5, 5].

    Only the 25 values the Taylor step needs are computed, from a (kernel+4)² patch per joint,
    instead of blurring every whole map.
    """
    radius = kernel // 2 + 2
    padded = np.pad(heatmaps, ((0, 0), (0, 0), (radius, radius), (radius, radius)))
    size = 2 * radius + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(2, 3))  # a view, no copy
    n_idx = np.arange(heatmaps.shape[0])[:, None]
    k_idx = np.arange(heatmaps.shape[1])[None, :]
    patches = windows[n_idx, k_idx, py, px].astype(np.float64)  # [N, K, P, P] centred on each peak
    g = gaussian_kernel(kernel)
    along_x = np.lib.stride_tricks.sliding_window_view(patches, kernel, axis=3) @ g  # [N, K, P, 5]
    return np.lib.stride_tricks.sliding_window_view(along_x, kernel, axis=2) @ g  # [N, K, 5, 5]


def dark_derivatives(logs):
    """DARK's first and second derivatives at the centre of log-heatmap windows [..., 5, 5] (numpy or torch, the
    same arithmetic for both): dx, dy, dxx, dyy, dxy and the Hessian's determinant, each [...]."""

    def at(ox: int, oy: int):
        return logs[..., 2 + oy, 2 + ox]

    c = at(0, 0)
    dx = 0.5 * (at(1, 0) - at(-1, 0))
    dy = 0.5 * (at(0, 1) - at(0, -1))
    dxx = 0.25 * (at(2, 0) - 2 * c + at(-2, 0))
    dyy = 0.25 * (at(0, 2) - 2 * c + at(0, -2))
    dxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    return dx, dy, dxx, dyy, dxy, dxx * dyy - dxy**2


def dark_refine(coords: np.ndarray, heatmaps: np.ndarray, kernel: int | None = None) -> np.ndarray:
    """DARK (Zhang et al., CVPR 2020): Newton step on the log of the smoothed heatmap.

    The peak of a Gaussian is found from the first and second derivatives of its log at
    the integer argmax: offset = −H⁻¹∇. (DARK also rescales the blurred map to its old
    maximum; that adds a constant to the log and does not move the step.) Joints too close
    to the border, with a singular Hessian or a step larger than one pixel fall back to the
    official quarter offset.
    """
    _, _, h, w = heatmaps.shape
    kernel = kernel or dark_kernel_size(w)
    px = coords[..., 0].astype(np.int64)
    py = coords[..., 1].astype(np.int64)
    logs = np.log(np.maximum(_blurred_windows(heatmaps, px, py, kernel), 1e-10))
    dx, dy, dxx, dyy, dxy, det = dark_derivatives(logs)
    safe_det = np.where(det != 0, det, 1.0)
    off_x = -(dyy * dx - dxy * dy) / safe_det
    off_y = -(dxx * dy - dxy * dx) / safe_det
    valid = (
        (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2)
        & (det > 0) & (dxx < 0)  # a maximum, not a saddle or a minimum
        & (np.abs(off_x) <= 1) & (np.abs(off_y) <= 1)
    )
    refined = coords + np.stack([off_x, off_y], axis=-1).astype(np.float32)
    return np.where(valid[..., None], refined, quarter_offset(coords, heatmaps))


def heatmap_coords(heatmaps: np.ndarray, decoder: Decoder = "dark") -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel (x, y) in heatmap pixels [N, K, 2] and scores [N, K, 1]."""
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; choose one of {', '.join(DECODERS)}")
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    coords, maxvals = get_max_preds(heatmaps)
    if len(heatmaps) == 0:
        return coords, maxvals
    if decoder == "official":
        coords = quarter_offset(coords, heatmaps)
    elif decoder == "dark":
        coords = dark_refine(coords, heatmaps)
    return coords, maxvals


def heatmap_to_image(
    coords: np.ndarray, centers: np.ndarray, scales: np.ndarray, heatmap_size: tuple[int, int], udp: bool = False
) -> np.ndarray:
    """Heatmap (x, y) [N, K, 2] → image pixels (official ``transform_preds``; UDP's inverse when ``udp``), float32."""
    if len(coords) == 0:
        return coords.astype(np.float32)
    trans = np.array([crop_transform(c, s, 0, heatmap_size, udp, inv=True) for c, s in zip(centers, scales)])
    trans = trans.reshape(len(coords), 1, 2, 3)
    return affine_transform_points(coords, trans).astype(np.float32)


def decode(
    heatmaps: np.ndarray,
    centers: np.ndarray,
    scales: np.ndarray,
    decoder: Decoder = "dark",
    udp: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps [N, K, H, W] → keypoints in image pixels [N, K, 2] and scores [N, K, 1].

    With ``decoder="official"`` this is the official ``get_final_preds`` bit for bit; ``udp`` maps back with
    UDP's matrix (for models trained with ``udp`` targets).
    """
    coords, maxvals = heatmap_coords(heatmaps, decoder)
    _, _, h, w = heatmaps.shape
    return heatmap_to_image(coords, centers, scales, (w, h), udp), maxvals


def flip_back(flipped_output: np.ndarray, flip_pairs) -> np.ndarray:
    """Official ``flip_back``: mirror the W axis and swap the channels of each left/right pair."""
    out = flipped_output[..., ::-1]
    perm = np.arange(out.shape[1])
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    return np.ascontiguousarray(out[:, perm])


def aligned_flip_back(flipped_output: np.ndarray, flip_pairs, shift: bool = True) -> np.ndarray:
    """The mirrored crop's heatmaps as the crop's: flipped back and, with ``shift`` (official geometry, not UDP),
    shifted one pixel right (column 0 kept)."""
    back = flip_back(flipped_output, flip_pairs)
    if shift:
        back[..., 1:] = back[..., :-1].copy()
    return back


def average_flip(normal: np.ndarray, flipped_output: np.ndarray, flip_pairs, shift: bool = True) -> np.ndarray:
    """The official flip test: flip back, shift one pixel right (column 0 kept), average."""
    return (normal + aligned_flip_back(flipped_output, flip_pairs, shift)) * np.float32(0.5)
