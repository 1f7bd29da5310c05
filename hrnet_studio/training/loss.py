"""JointsMSELoss (and its online hard keypoint mining variant) as the official HRNet code defines them."""
from __future__ import annotations

import torch
from torch import nn


class JointsMSELoss(nn.Module):
    """``mean over joints of 0.5 · MSE(pred_j · w_j, target_j · w_j)``; the MSE averages over batch and pixels."""

    def __init__(self, use_target_weight: bool = True):
        super().__init__()
        self.use_target_weight = use_target_weight

    def forward(self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        b, k = output.shape[:2]
        pred = output.reshape(b, k, -1)
        gt = target.reshape(b, k, -1)
        if self.use_target_weight:
            w = target_weight.reshape(b, k, 1)
            pred, gt = pred * w, gt * w
        per_joint = ((pred - gt) ** 2).mean(dim=(0, 2))
        return 0.5 * per_joint.mean()


class JointsOHKMMSELoss(nn.Module):
    """Online hard keypoint mining: per sample, the mean of its ``topk`` largest joint losses."""

    def __init__(self, use_target_weight: bool = True, topk: int = 8):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.topk = topk

    def forward(self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        b, k = output.shape[:2]
        pred = output.reshape(b, k, -1)
        gt = target.reshape(b, k, -1)
        if self.use_target_weight:
            w = target_weight.reshape(b, k, 1)
            pred, gt = pred * w, gt * w
        per_joint = 0.5 * ((pred - gt) ** 2).mean(dim=2)  # [B, K]
        hardest, _ = per_joint.topk(self.topk, dim=1)
        return hardest.mean(dim=1).mean()
