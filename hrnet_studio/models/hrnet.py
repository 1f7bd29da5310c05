"""PoseHighResolutionNet with the module tree of the official HRNet pose code, and HRNetV2 on the same backbone.

The attribute names and construction order are chosen so that ``state_dict()``
has exactly the keys, order and shapes of the official checkpoints
(deep-high-resolution-net.pytorch), which therefore load with ``strict=True``.

HRNetV2 (mmpose's face and hand models, ``hrnetv2_w18``) is the same backbone with a multi-scale stage 4 and bilinear
fuse upsampling, followed by the concatenation head: the four branches resized to the highest resolution, concatenated
(270 channels for W18), a 1×1 conv + BN + ReLU and a 1×1 conv to K heatmaps. Its keys are mmpose 0.x's without the
``backbone.``/``keypoint_head.`` prefixes (parity kit §12).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

BN_MOMENTUM = 0.1


@dataclass(frozen=True)
class HRNetConfig:
    """Architecture of one HRNet pose model.

    ``width`` is the channel count of the highest-resolution branch (32 for W32);
    branch b has ``width * 2**b`` channels.
    """

    width: int = 32
    num_joints: int = 17
    final_conv_kernel: int = 1
    stage_modules: tuple[int, int, int] = (1, 4, 3)
    blocks_per_branch: int = 4
    v2: bool = False  # HRNetV2: every branch to the end, concatenated; bilinear fuse upsampling

    @property
    def arch(self) -> str:
        return f"hrnetv2_w{self.width}" if self.v2 else f"hrnet_w{self.width}"

    @property
    def upsample(self) -> str:
        """How the fuse layers upsample lower-resolution branches: the official pose HRNet's nearest, or mmpose
        HRNetV2's bilinear (``align_corners=False``)."""
        return "bilinear" if self.v2 else "nearest"

    def branch_channels(self, num_branches: int) -> list[int]:
        return [self.width * 2**b for b in range(num_branches)]


PRESETS = {
    "hrnet_w18": HRNetConfig(width=18),
    "hrnet_w32": HRNetConfig(width=32),
    "hrnet_w48": HRNetConfig(width=48),
}


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, ch: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = conv3x3(in_ch, ch, stride)
        self.bn1 = batch_norm(ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(ch, ch)
        self.bn2 = batch_norm(ch)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, ch: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, ch, kernel_size=1, bias=False)
        self.bn1 = batch_norm(ch)
        self.conv2 = conv3x3(ch, ch, stride)
        self.bn2 = batch_norm(ch)
        self.conv3 = nn.Conv2d(ch, ch * self.expansion, kernel_size=1, bias=False)
        self.bn3 = batch_norm(ch * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


def make_blocks(block: type[nn.Module], in_ch: int, ch: int, count: int) -> nn.Sequential:
    """``count`` blocks; the first gets a 1×1 projection when the channel count changes."""
    out_ch = ch * block.expansion
    downsample = None
    if in_ch != out_ch:
        downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel_size=1, bias=False), batch_norm(out_ch))
    layers = [block(in_ch, ch, 1, downsample)]
    layers += [block(out_ch, ch) for _ in range(count - 1)]
    return nn.Sequential(*layers)


def fuse_path(src: int, dst: int, channels: list[int], upsample: str = "nearest") -> nn.Module:
    """Module that brings branch ``src`` to the resolution and width of branch ``dst``.

    Lower-resolution inputs are projected with a 1×1 conv and upsampled (``upsample``: nearest or bilinear);
    higher-resolution inputs go through a chain of stride-2 3×3 convs, with a ReLU
    after every link but the last.
    """
    if src == dst:
        return nn.Identity()
    if src > dst:
        return nn.Sequential(
            nn.Conv2d(channels[src], channels[dst], kernel_size=1, bias=False),
            batch_norm(channels[dst]),
            nn.Upsample(scale_factor=2 ** (src - dst), mode=upsample,
                        align_corners=False if upsample == "bilinear" else None),
        )
    links = []
    for k in range(dst - src):
        last = k == dst - src - 1
        out_ch = channels[dst] if last else channels[src]
        link = [conv3x3(channels[src], out_ch, stride=2), batch_norm(out_ch)]
        if not last:
            link.append(nn.ReLU(inplace=True))
        links.append(nn.Sequential(*link))
    return nn.Sequential(*links)


class HighResolutionModule(nn.Module):
    """Parallel branches of BasicBlocks followed by all-to-all fusion."""

    def __init__(self, channels: list[int], blocks_per_branch: int, multi_scale_output: bool = True,
                 upsample: str = "nearest"):
        super().__init__()
        self.num_branches = len(channels)
        self.branches = nn.ModuleList(
            make_blocks(BasicBlock, ch, ch, blocks_per_branch) for ch in channels
        )
        num_outputs = self.num_branches if multi_scale_output else 1
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(fuse_path(src, dst, channels, upsample) for src in range(self.num_branches))
            for dst in range(num_outputs)
        ) if self.num_branches > 1 else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        fused = []
        for paths in self.fuse_layers:
            y = paths[0](xs[0])
            for src in range(1, self.num_branches):
                y = y + paths[src](xs[src])
            fused.append(self.relu(y))
        return fused


def make_transition(in_channels: list[int], out_channels: list[int]) -> nn.ModuleList:
    """Adapt the branches of one stage to the next; a new branch is a stride-2 conv of the last one."""
    layers: list[nn.Module] = []
    for b, out_ch in enumerate(out_channels):
        if b < len(in_channels):
            if in_channels[b] == out_ch:
                layers.append(nn.Identity())
            else:
                layers.append(nn.Sequential(conv3x3(in_channels[b], out_ch), batch_norm(out_ch), nn.ReLU(inplace=True)))
        else:
            downs = []
            for k in range(b + 1 - len(in_channels)):
                last = k == b - len(in_channels)
                ch = out_ch if last else in_channels[-1]
                downs.append(nn.Sequential(conv3x3(in_channels[-1], ch, 2), batch_norm(ch), nn.ReLU(inplace=True)))
            layers.append(nn.Sequential(*downs))
    return nn.ModuleList(layers)


def make_stage(channels: list[int], num_modules: int, blocks: int, multi_scale_output: bool,
               upsample: str = "nearest") -> nn.Sequential:
    modules = [
        HighResolutionModule(channels, blocks, multi_scale_output or m < num_modules - 1, upsample)
        for m in range(num_modules)
    ]
    return nn.Sequential(*modules)


class PoseHighResolutionNet(nn.Module):
    """HRNet (or HRNetV2) top-down pose network: image crop [B,3,H,W] → heatmaps [B,K,H/4,W/4]."""

    def __init__(self, config: HRNetConfig = HRNetConfig()):
        super().__init__()
        self.config = config
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = batch_norm(64)
        self.conv2 = nn.Conv2d(64, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn2 = batch_norm(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_blocks(Bottleneck, 64, 64, 4)

        ch2, ch3, ch4 = (config.branch_channels(n) for n in (2, 3, 4))
        m2, m3, m4 = config.stage_modules
        self.transition1 = make_transition([64 * Bottleneck.expansion], ch2)
        up = config.upsample
        self.stage2 = make_stage(ch2, m2, config.blocks_per_branch, True, up)
        self.transition2 = make_transition(ch2, ch3)
        self.stage3 = make_stage(ch3, m3, config.blocks_per_branch, True, up)
        self.transition3 = make_transition(ch3, ch4)
        self.stage4 = make_stage(ch4, m4, config.blocks_per_branch, config.v2, up)
        k = config.final_conv_kernel
        if config.v2:  # the concatenation head (mmpose 0.x keypoint_head.final_layer.{0,1,3})
            width = sum(ch4)
            self.final_layer = nn.Sequential(nn.Conv2d(width, width, 1), batch_norm(width), nn.ReLU(inplace=True),
                                             nn.Conv2d(width, config.num_joints, 1))
        else:
            self.final_layer = nn.Conv2d(ch4[0], config.num_joints, kernel_size=k, stride=1,
                                         padding=1 if k == 3 else 0)

    @staticmethod
    def _transit(transition: nn.ModuleList, ys: list[torch.Tensor]) -> list[torch.Tensor]:
        return [layer(ys[b] if b < len(ys) else ys[-1]) for b, layer in enumerate(transition)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.layer1(x)
        ys = self.stage2(self._transit(self.transition1, [x]))
        ys = self.stage3(self._transit(self.transition2, ys))
        ys = self.stage4(self._transit(self.transition3, ys))
        if self.config.v2:
            size = ys[0].shape[-2:]
            ys = [ys[0]] + [nn.functional.interpolate(y, size=size, mode="bilinear", align_corners=False)
                            for y in ys[1:]]
            return self.final_layer(torch.cat(ys, dim=1))
        return self.final_layer(ys[0])

    def init_weights(self) -> None:
        """The official training init (``training_init``)."""
        training_init(self)


def training_init(model: nn.Module) -> None:
    """The HRNet family's training init (official HRNet and mmpose alike): conv weights N(0, 0.001), biases 0,
    BN weight 1 / bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=0.001)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def build_hrnet(arch: str = "hrnet_w32", num_joints: int = 17, final_conv_kernel: int = 1) -> PoseHighResolutionNet:
    """Build an HRNet by preset name (``hrnet_w32``), any width (``hrnet_w40``), or an HRNetV2 (``hrnetv2_w18``)."""
    v2 = arch.startswith("hrnetv2_w")
    try:
        width = int(arch.removeprefix("hrnetv2_w" if v2 else "hrnet_w"))
    except ValueError:
        raise ValueError(f"unknown architecture {arch!r}: expected hrnet_w18/w32/w48, hrnet_w<width>, hrnetv2_w18, "
                         f"litehrnet_18 or litehrnet_30") from None
    return PoseHighResolutionNet(HRNetConfig(width=width, num_joints=num_joints, final_conv_kernel=final_conv_kernel,
                                             v2=v2))
