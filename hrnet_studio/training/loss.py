"""JointsMSELoss (and its online hard keypoint mining variant) as the official HRNet code defines them."""
from __future__ import annotations

import torch
from torch import nn


def per_joint_mse(output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None) -> torch.Tensor:
    """``0.5 · MSE(pred · w, target · w)`` per sample and joint, averaged over pixels: [B, K]."""
    b, k = output.shape[:2]
    pred = output.reshape(b, k, -1)
    gt = target.reshape(b, k, -1)
    if target_weight is not None:
        w = target_weight.reshape(b, k, 1)
        pred, gt = pred * w, gt * w
    return 0.5 * ((pred - gt) ** 2).mean(dim=2)


class JointsMSELoss(nn.Module):
    """Mean over joints of the per-joint MSE, itself averaged over batch and pixels."""

    def __init__(self, use_target_weight: bool = True):
        super().__init__()
        self.use_target_weight = use_target_weight

    def forward(self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        return per_joint_mse(output, target, target_weight if self.use_target_weight else None).mean()


class JointsOHKMMSELoss(nn.Module):
    """Online hard keypoint mining: per sample, the mean of its ``topk`` largest joint losses."""

    def __init__(self, use_target_weight: bool = True, topk: int = 8):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.topk = topk

    def forward(self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        losses = per_joint_mse(output, target, target_weight if self.use_target_weight else None)
        hardest, _ = losses.topk(self.topk, dim=1)
        return hardest.mean(dim=1).mean()
