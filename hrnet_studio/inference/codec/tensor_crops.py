"""Person crops made on the network's device: the frame goes up once, every person's crop is sampled there.

The CPU path (``transforms.person_crops``) warps each person with OpenCV and copies the batch to the device. Here the
frame (BGR uint8 [H, W, 3]) is uploaded once (from pinned memory on CUDA) and all crops of the frame come out of one
``grid_sample`` call, from the same matrices (``transforms.crop_transform``: official or UDP, pixel_std 200, the
box's aspect and 1.25 padding as ``box_to_center_scale`` gives them), normalised on the device.

Sampling follows OpenCV's ``warpAffine`` with ``INTER_LINEAR`` and a black border: the output pixel (u, v) reads the
frame at the inverse matrix's (x, y) (float64), bilinearly, and the value is rounded to a whole level as OpenCV's
uint8 output is. OpenCV interpolates in fixed point, so a few values in 100,000 differ by one level (gym clip, OpenCV
5.1: 3 in 100,000; rounding the positions to 1/32 pixel, as older OpenCV releases did, made it 6 in 100;
``tests/inference/test_tensor_path.py`` checks it).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .transforms import (
    IMAGENET,
    Normalization,
    box_to_center_scale,
    crop_transform,
    xyxy_to_xywh,
)

if TYPE_CHECKING:
    import torch


def upload_frame(frame_bgr: np.ndarray, device: torch.device) -> torch.Tensor:
    """The frame on ``device`` as float32 [1, 3, H, W] in BGR order, 0-255. On CUDA it is copied from pinned memory on
    a stream of its own (``copy_stream``), so the upload overlaps the network work queued before it (an earlier pass
    still running); the work queued after it waits for the copy."""
    import torch

    host = torch.from_numpy(np.ascontiguousarray(frame_bgr))
    if device.type != "cuda":
        return host.to(device).permute(2, 0, 1).unsqueeze(0).float()
    host = host.pin_memory()
    compute = torch.cuda.current_stream(device)
    copying = copy_stream(device)
    with torch.cuda.stream(copying):  # allocated from this stream's own pool: no wait for the compute stream's work
        frame = host.to(device, non_blocking=True)
    compute.wait_stream(copying)
    frame.record_stream(compute)  # its memory is not reused while the compute stream still reads it
    return frame.permute(2, 0, 1).unsqueeze(0).float()


_copy_streams: dict = {}


def copy_stream(device: torch.device):
    """The CUDA stream this process uploads frames to ``device`` on (one per device)."""
    import torch

    index = device.index if device.index is not None else torch.cuda.current_device()
    if index not in _copy_streams:
        _copy_streams[index] = torch.cuda.Stream(device=index)
    return _copy_streams[index]


def sampling_grid(matrices: np.ndarray, frame_size: tuple[int, int], out_size: tuple[int, int],
                  device: torch.device) -> torch.Tensor:
    """``grid_sample``'s grid [N, h, w, 2] for crops [h, w] = ``out_size`` (w, h) of a frame ``frame_size`` (W, H)
    through the crop matrices [N, 2, 3] (frame → crop pixels): each crop pixel's source position in
    ``align_corners=True`` coordinates."""
    import cv2
    import torch

    inverse = np.stack([cv2.invertAffineTransform(m) for m in matrices]) if len(matrices) else np.zeros((0, 2, 3))
    w, h = out_size
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    points = torch.from_numpy(np.stack([u, v, np.ones_like(u)], axis=-1)).to(device)  # [h, w, 3]
    source = torch.einsum("hwc,nrc->nhwr", points, torch.from_numpy(inverse).to(device))  # [N, h, w, 2], float64
    size = torch.tensor([frame_size[0] - 1, frame_size[1] - 1], dtype=torch.float64, device=device).clamp(min=1)
    return (2 * source / size - 1).float()


def warp_crops_tensor(frame: torch.Tensor, matrices: np.ndarray, out_size: tuple[int, int]) -> torch.Tensor:
    """Crops float32 [N, 3, h, w] (whole levels 0-255, the frame's channel order) of an uploaded frame
    [1, 3, H, W] through the crop matrices [N, 2, 3]."""
    import torch
    import torch.nn.functional as F

    n = len(matrices)
    _, _, height, width = frame.shape
    if n == 0:
        return frame.new_zeros((0, 3, out_size[1], out_size[0]))
    grid = sampling_grid(matrices, (width, height), out_size, frame.device)
    crops = F.grid_sample(frame.expand(n, -1, -1, -1), grid, mode="bilinear", padding_mode="zeros",
                          align_corners=True)
    return torch.round(crops)


def normalize_tensor(crops_bgr: torch.Tensor, normalization: Normalization = IMAGENET) -> torch.Tensor:
    """Crops float [N, 3, h, w] 0-255 in BGR order → the model's input: its channel order, ``(x/255 − mean)/std``,
    float32, as ``transforms.normalize_crops`` computes it."""
    import torch

    x = crops_bgr if normalization.colour == "bgr" else crops_bgr.flip(1)
    mean = torch.as_tensor(normalization.mean_array, device=x.device).view(1, 3, 1, 1)
    std = torch.as_tensor(normalization.std_array, device=x.device).view(1, 3, 1, 1)
    return ((x / 255.0) - mean) / std


def person_crops_tensor(frame_bgr: np.ndarray, boxes_xyxy: np.ndarray, input_size: tuple[int, int],
                        device: torch.device, normalization: Normalization = IMAGENET, udp: bool = False,
                        ) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``transforms.person_crops`` on ``device``: (batch float32 [N, 3, H, W] there, centres [N, 2] and scales
    [N, 2] as numpy). ``input_size`` (w, h) pixels; ``boxes_xyxy`` [N, 4] frame pixels."""
    w, h = input_size
    centers, scales = box_to_center_scale(xyxy_to_xywh(boxes_xyxy), w / h)
    matrices = np.array([crop_transform(c, s, 0.0, input_size, udp) for c, s in zip(centers, scales)])
    crops = warp_crops_tensor(upload_frame(frame_bgr, device), matrices.reshape(-1, 2, 3), (w, h))
    return normalize_tensor(crops, normalization), centers, scales
