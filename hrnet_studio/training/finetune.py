"""Which tensors of a base model a fine-tune keeps, and which it re-initialises (a new keypoint set's last layer)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..models.checkpoints import HRNETV2_FINAL_KEY, build_pose_model
from ..models.hrnet import PoseHighResolutionNet
from ..models.litehrnet import (
    LITEHRNET_ARCHS,
    LiteHRNet,
    is_litehrnet_state,
    litehrnet_arch_of,
    model_keys,
)


@dataclass
class FinetunePlan:
    arch: str
    loaded: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.reinitialised:
            return f"all {len(self.loaded)} tensors are loaded; nothing is re-initialised"
        return (f"{len(self.loaded)} tensors are loaded; re-initialised (new keypoint set): "
                f"{', '.join(self.reinitialised)}")


def arch_of_state(state: dict[str, torch.Tensor], default: str = "hrnet_w32") -> str:
    """``hrnet_wN`` from the width of the first transition layer of an official-layout state dict, ``hrnetv2_wN``
    when it ends in the concatenation head, or ``litehrnet_18``/``_30`` for a Lite-HRNet's (as the checkpoint reader
    gives them)."""
    if is_litehrnet_state(state):
        return litehrnet_arch_of(state)
    weight = state.get("transition1.0.0.weight")
    if weight is None:
        return default
    return f"{'hrnetv2' if HRNETV2_FINAL_KEY in state else 'hrnet'}_w{int(weight.shape[0])}"


def plan_finetune(state: dict[str, torch.Tensor], num_joints: int, arch: str | None = None) -> FinetunePlan:
    """The plan for training ``num_joints`` keypoints from ``state``; the model is built on the meta device."""
    arch = arch or arch_of_state(state)
    with torch.device("meta"):
        own = build_pose_model(arch, num_joints).state_dict()
    return _split(own, _model_keys(arch, state), arch)


def load_weights_for_finetune(model: PoseHighResolutionNet | LiteHRNet, state: dict[str, torch.Tensor]) -> FinetunePlan:
    """Copy every tensor whose name and shape fit; the rest keeps its initialisation."""
    own = model.state_dict()
    state = _model_keys(model.config.arch, state)
    plan = _split(own, state, model.config.arch)
    own.update({key: state[key] for key in plan.loaded})
    model.load_state_dict(own)
    return plan


def _model_keys(arch: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The reader's keys as the model names them (Lite-HRNet keeps mmpose's ``backbone.``/``keypoint_head.``)."""
    return model_keys(state) if arch in LITEHRNET_ARCHS and not any(k.startswith("backbone.") for k in state) else state


def _split(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor], arch: str) -> FinetunePlan:
    plan = FinetunePlan(arch)
    for key, value in own.items():
        if key.endswith("num_batches_tracked") and key not in state:
            continue  # a BN counter, not a weight: files saved without it (mmpose's) lose nothing
        fits = key in state and tuple(state[key].shape) == tuple(value.shape)
        (plan.loaded if fits else plan.reinitialised).append(key)
    return plan
