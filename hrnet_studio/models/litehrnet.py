"""Lite-HRNet (Yu et al., CVPR 2021) in plain PyTorch, laid out exactly as mmpose's ``LiteHRNet`` + heatmap head, so
mmpose's published checkpoints load strictly: ``backbone.*`` and ``keypoint_head.final_layer.*``, same keys, order and
shapes.

HRNet's parallel multi-resolution design with cheap blocks: a ShuffleNet-style stem, conditional channel weighting
(cross-resolution gates from pooled features, then per-branch SE gates) instead of 3×3 convolutions, depthwise fuse
layers, and an iterative head that sums the branches from the lowest resolution up. Input [N, 3, H, W] (ImageNet
normalised RGB), output heatmaps [N, K, H/4, W/4].

Kept as mmpose computes it, because the published weights were trained with it: the fuse step adds branch 0 to
itself in place (``fuse`` below), so branch 0 counts twice and the other branches see that doubled sum.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .hrnet import training_init


@dataclass(frozen=True)
class LiteHRNetConfig:
    arch: str
    num_modules: tuple[int, ...]  # LiteHRModules per stage
    num_channels: tuple[tuple[int, ...], ...]  # channels of each branch, per stage
    num_blocks: int = 2  # conditional channel weighting blocks per module
    reduce_ratio: int = 8  # of the cross-resolution weighting
    stem_channels: int = 32
    head_channels: int = 40  # the highest-resolution branch, what the keypoint head reads


LITEHRNET_ARCHS = {
    "litehrnet_18": LiteHRNetConfig("litehrnet_18", (2, 4, 2), ((40, 80), (40, 80, 160), (40, 80, 160, 320))),
    "litehrnet_30": LiteHRNetConfig("litehrnet_30", (3, 8, 3), ((40, 80), (40, 80, 160), (40, 80, 160, 320))),
}


class ConvModule(nn.Sequential):
    """conv → BN → activation, keys ``conv.*``, ``bn.*`` (no ``bn`` and a conv bias when ``norm`` is False)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: nn.Module | None = None, norm: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=not norm)
        if norm:
            self.bn = nn.BatchNorm2d(cout)
        if act is not None:
            self.activate = act


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle (mmpose's view–transpose–reshape) as a gather of the channels in a constant order:
    the same tensor, and an ONNX export gets one ``Gather`` where a view of the traced shape cost ``Shape`` arithmetic
    (over half the nodes of Lite-HRNet-18's optimized graph) and two reshapes around a transpose (ONNX Runtime fp32:
    1.1-1.2x the persons/s with the gather, 2-core CPU)."""
    c = _dims(x)[0]
    order = torch.arange(c, device=x.device).reshape(groups, c // groups).t().reshape(-1)
    return x.index_select(1, order)


def halves(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x.chunk(2, dim=1)`` as a split of constant sizes: no shape computed at run time in an ONNX export."""
    c = _dims(x)[0]
    first, second = torch.split(x, [(c + 1) // 2, c // 2], dim=1)
    return first, second


def resize_to(x: torch.Tensor, like: torch.Tensor, mode: str, align_corners: bool | None = None) -> torch.Tensor:
    """``F.interpolate(x, size=like's H×W)``; by a constant integer scale factor where the sizes are exact multiples
    (always, for inputs that are multiples of 32), which is the same numbers and exports to ONNX without a shape
    computation."""
    h, w = _dims(x)[1:]
    th, tw = _dims(like)[1:]
    if th % h == 0 and tw % w == 0:
        return F.interpolate(x, scale_factor=(th // h, tw // w), mode=mode, align_corners=align_corners)
    return F.interpolate(x, size=(th, tw), mode=mode, align_corners=align_corners)


def _dims(x: torch.Tensor) -> tuple[int, int, int]:
    """C, H, W of an [N, C, H, W] tensor as Python numbers (constants when traced for export)."""
    return int(x.shape[1]), int(x.shape[2]), int(x.shape[3])


def relu() -> nn.ReLU:
    return nn.ReLU(inplace=True)


class Stem(nn.Module):
    """3×3 s2 conv, then a ShuffleNet v2 down-sampling unit: [N, 3, H, W] → [N, 32, H/4, W/4]."""

    def __init__(self, cin: int, stem_channels: int, out_channels: int):
        super().__init__()
        half = stem_channels // 2
        self.conv1 = ConvModule(cin, stem_channels, 3, 2, act=relu())
        self.branch1 = nn.Sequential(ConvModule(half, half, 3, 2, groups=half),
                                     ConvModule(half, out_channels - half, 1, act=relu()))
        mid = stem_channels  # expand ratio 1
        self.expand_conv = ConvModule(half, mid, 1, act=relu())
        self.depthwise_conv = ConvModule(mid, mid, 3, 2, groups=mid)
        self.linear_conv = ConvModule(mid, half if stem_channels == out_channels else stem_channels, 1, act=relu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x1, x2 = halves(x)
        x2 = self.linear_conv(self.depthwise_conv(self.expand_conv(x2)))
        return channel_shuffle(torch.cat((self.branch1(x1), x2), dim=1), 2)


class CrossResolutionWeighting(nn.Module):
    """Gates for every branch from all branches pooled to the lowest resolution (1×1 → ReLU → 1×1 → sigmoid)."""

    def __init__(self, channels: list[int], ratio: int):
        super().__init__()
        self.channels = channels
        total = sum(channels)
        self.conv1 = ConvModule(total, int(total / ratio), 1, act=relu())
        self.conv2 = ConvModule(int(total / ratio), total, 1, act=nn.Sigmoid())

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        size = _dims(x[-1])[1:]
        pooled = [_pool_to(s, size) for s in x[:-1]] + [x[-1]]
        gates = torch.split(self.conv2(self.conv1(torch.cat(pooled, dim=1))), self.channels, dim=1)
        return [s * resize_to(g, s, "nearest") for s, g in zip(x, gates)]


def _pool_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Adaptive average pooling to ``size``; as a plain average pool where the sizes divide (always, for inputs that
    are multiples of 32), which is the same numbers and exports to ONNX with a fixed kernel."""
    h, w = _dims(x)[1:]
    if h % size[0] == 0 and w % size[1] == 0:
        return F.avg_pool2d(x, (h // size[0], w // size[1]))
    return F.adaptive_avg_pool2d(x, size)


class SpatialWeighting(nn.Module):
    """Squeeze-and-excitation channel gates (mmpose's name), convolutions with biases and no BN."""

    def __init__(self, channels: int, ratio: int = 4):
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, int(channels / ratio), 1, act=relu(), norm=False)
        self.conv2 = ConvModule(int(channels / ratio), channels, 1, act=nn.Sigmoid(), norm=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class ConditionalChannelWeighting(nn.Module):
    """Half of each branch passes untouched; the other half is gated across resolutions, depthwise-convolved and
    gated per channel; the halves are concatenated and shuffled (no residual add)."""

    def __init__(self, channels: list[int], reduce_ratio: int):
        super().__init__()
        half = [c // 2 for c in channels]
        self.cross_resolution_weighting = CrossResolutionWeighting(half, reduce_ratio)
        self.depthwise_convs = nn.ModuleList(ConvModule(c, c, 3, 1, groups=c) for c in half)
        self.spatial_weighting = nn.ModuleList(SpatialWeighting(c) for c in half)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        split = [halves(s) for s in x]
        x2 = self.cross_resolution_weighting([h[1] for h in split])
        x2 = [sw(dw(s)) for s, dw, sw in zip(x2, self.depthwise_convs, self.spatial_weighting)]
        return [channel_shuffle(torch.cat([h[0], s], dim=1), 2) for h, s in zip(split, x2)]


def _down(cin: int, cout: int, stride: int, act: nn.Module | None) -> nn.Sequential:
    """Depthwise 3×3 (stride), BN, 1×1, BN[, activation]: transitions and fuse down-sampling."""
    layers = [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
              nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([act] if act is not None else []))


class LiteHRModule(nn.Module):
    """``num_blocks`` channel-weighting blocks over all branches, then every branch fused into every other."""

    def __init__(self, channels: tuple[int, ...], num_blocks: int, reduce_ratio: int):
        super().__init__()
        self.layers = nn.Sequential(*(ConditionalChannelWeighting(list(channels), reduce_ratio)
                                      for _ in range(num_blocks)))
        n = len(channels)
        fuse = []
        for i in range(n):
            row: list[nn.Module | None] = []
            for j in range(n):
                if j > i:
                    row.append(nn.Sequential(nn.Conv2d(channels[j], channels[i], 1, 1, 0, bias=False),
                                             nn.BatchNorm2d(channels[i]),
                                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    row.append(None)
                else:
                    steps = [_down(channels[j], channels[i] if k == i - j - 1 else channels[j], 2,
                                   None if k == i - j - 1 else relu()) for k in range(i - j)]
                    row.append(nn.Sequential(*steps))
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse)
        self.relu = nn.ReLU()

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        out = self.layers(x)
        return self.fuse(out)

    def fuse(self, out: list[torch.Tensor]) -> list[torch.Tensor]:
        """mmpose's fuse, aliasing included: ``y`` *is* ``out[0]`` for i = 0 and is added to in place, so branch 0
        becomes S0 = 2·x0 + Σ up(x_j) and the branches i ≥ 1 are made from S0 (twice) and the others."""
        fused = []
        for i, row in enumerate(self.fuse_layers):
            y = out[0] if i == 0 else row[0](out[0])
            for j in range(len(out)):
                y += out[j] if i == j else row[j](out[j])
            fused.append(self.relu(y))
        return fused


class DepthwiseSeparable(nn.Module):
    """Depthwise 3×3 + BN (no activation), then 1×1 + BN + ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.depthwise_conv = ConvModule(cin, cin, 3, 1, groups=cin)
        self.pointwise_conv = ConvModule(cin, cout, 1, act=relu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


class IterativeHead(nn.Module):
    """From the lowest resolution up: each branch plus the bilinear-upsampled result below it, through a depthwise
    separable conv to the next branch's width; returns the outputs highest resolution first."""

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        widths = list(channels)[::-1]
        self.projects = nn.ModuleList(DepthwiseSeparable(cin, widths[i + 1] if i + 1 < len(widths) else cin)
                                      for i, cin in enumerate(widths))

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs, last = [], None
        for s, project in zip(x[::-1], self.projects):
            if last is not None:
                s = s + resize_to(last, s, "bilinear", align_corners=True)
            last = project(s)
            outputs.append(last)
        return outputs[::-1]


class LiteHRNetBackbone(nn.Module):
    def __init__(self, config: LiteHRNetConfig):
        super().__init__()
        self.stem = Stem(3, config.stem_channels, config.stem_channels)
        previous: tuple[int, ...] = (config.stem_channels,)
        for i, (modules, channels) in enumerate(zip(config.num_modules, config.num_channels)):
            setattr(self, f"transition{i}", self._transition(previous, channels))
            setattr(self, f"stage{i}", nn.Sequential(*(LiteHRModule(channels, config.num_blocks, config.reduce_ratio)
                                                       for _ in range(modules))))
            previous = channels
        self.head_layer = IterativeHead(previous)
        self.num_stages = len(config.num_modules)

    @staticmethod
    def _transition(previous: tuple[int, ...], current: tuple[int, ...]) -> nn.ModuleList:
        layers: list[nn.Module | None] = []
        for i, cout in enumerate(current):
            if i < len(previous):
                layers.append(None if cout == previous[i] else _down(previous[i], cout, 1, nn.ReLU()))
            else:
                layers.append(nn.Sequential(_down(previous[-1], cout, 2, nn.ReLU())))
        return nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.stem(x)]
        for i in range(self.num_stages):
            transition = getattr(self, f"transition{i}")
            inputs = [branches[j] if layer is None else layer(branches[min(j, len(branches) - 1)])
                      for j, layer in enumerate(transition)]
            branches = getattr(self, f"stage{i}")(inputs)
        return self.head_layer(branches)[0]


class KeypointHead(nn.Module):
    def __init__(self, channels: int, num_joints: int):
        super().__init__()
        self.final_layer = nn.Conv2d(channels, num_joints, 1)


class LiteHRNet(nn.Module):
    """Lite-HRNet with its heatmap head: [N, 3, H, W] → [N, K, H/4, W/4]."""

    def __init__(self, config: LiteHRNetConfig, num_joints: int = 17):
        super().__init__()
        self.config = config
        self.num_joints = num_joints
        self.backbone = LiteHRNetBackbone(config)
        self.keypoint_head = KeypointHead(config.head_channels, num_joints)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.keypoint_head.final_layer(self.backbone(x))

    def init_weights(self) -> None:
        """mmpose's training init, the same as HRNet's (``hrnet.training_init``)."""
        training_init(self)


def is_litehrnet_state(state_dict: dict[str, torch.Tensor]) -> bool:
    """Whether a state dict (``backbone.`` stripped, as the checkpoint reader gives it) is a Lite-HRNet's."""
    return "stem.conv1.conv.weight" in state_dict and any(k.startswith("head_layer.projects.") for k in state_dict)


def litehrnet_arch_of(state_dict: dict[str, torch.Tensor]) -> str:
    """``litehrnet_18`` or ``litehrnet_30``, told apart by the modules of each stage."""
    modules = tuple(len({k.split(".")[1] for k in state_dict if k.startswith(f"stage{i}.")}) for i in range(3))
    for arch, config in LITEHRNET_ARCHS.items():
        if config.num_modules == modules:
            return arch
    raise ValueError(f"a Lite-HRNet with {modules} modules per stage, not one of {', '.join(LITEHRNET_ARCHS)}")


def model_keys(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The checkpoint reader's keys (``backbone.`` stripped, ``final_layer.*``) back to this module's."""
    return {(f"keypoint_head.{k}" if k.startswith("final_layer.") else f"backbone.{k}"): v
            for k, v in state_dict.items()}


def build_litehrnet(arch: str, num_joints: int = 17) -> LiteHRNet:
    """``litehrnet_18`` or ``litehrnet_30`` (mmpose's COCO configs) for ``num_joints`` keypoints."""
    try:
        return LiteHRNet(LITEHRNET_ARCHS[arch], num_joints)
    except KeyError:
        raise ValueError(f"unknown Lite-HRNet {arch!r}; choose one of {', '.join(LITEHRNET_ARCHS)}") from None
