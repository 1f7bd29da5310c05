"""The description that travels with a pose model (as timm's ``pretrained_cfg`` does): what the network is, the
input it expects and the heatmaps it gives. No PyTorch is needed to read it.

Every size derived from the input size is computed here (``heatmap_size_for``), and the normalisation the
network was trained with is read from the model's metadata rather than assumed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..skeletons import KeypointSet

HEATMAP_STRIDE = 4  # HRNet's heatmaps are a quarter of the input, in both directions
COLOURS = ("rgb", "bgr")
# training targets and the crop geometry they imply (inference/codec/heatmap_codec.py)
ENCODINGS = ("official", "unbiased", "udp")


def input_size_from_name(path: Path) -> tuple[int, int] | None:
    """Official file names give the input as HxW (``pose_hrnet_w32_384x288.pth`` → 288×384; ``…_128x96`` → 96×128)."""
    m = re.search(r"(?<!\d)(\d{2,4})x(\d{2,4})(?!\d)", path.stem)
    if not m:
        return None
    h, w = int(m.group(1)), int(m.group(2))
    return (w, h)


def default_input_size(num_joints: int, arch: str = "hrnet_w32") -> tuple[int, int]:
    """(width, height): 256×256 for MPII and for HRNetV2's faces and hands, else COCO's 192×256."""
    return (256, 256) if num_joints == 16 or arch.startswith("hrnetv2") else (192, 256)


def resolve_input_size(given: tuple[int, int] | None, recorded: tuple[int, int] | None, path: Path,
                       num_joints: int, arch: str) -> tuple[tuple[int, int], str | None]:
    """A model's input size (width, height) in pixels, decided in this one place: the size the user gave, else the
    one recorded with the model (its metadata or checkpoint), else the official file name's, else the default for
    its joints and architecture. The second value is a note when the size was assumed, else None."""
    size = given or recorded or input_size_from_name(path)
    if size is not None:
        return (int(size[0]), int(size[1])), None
    size = default_input_size(num_joints, arch)
    return size, (f"input size {size[0]}x{size[1]} assumed (not in the file name or the checkpoint; "
                  "pass --input-size WxH to change)")


def heatmap_size_for(input_size: tuple[int, int] | list[int]) -> tuple[int, int]:
    """(width, height) of the heatmaps for an input of (width, height) pixels: the one place this is computed."""
    return int(input_size[0]) // HEATMAP_STRIDE, int(input_size[1]) // HEATMAP_STRIDE


@dataclass(frozen=True)
class Normalization:
    """How crops become network input: channel order, then ``(x / 255 − mean) / std`` per channel (mean and std
    in [0, 1] units, in the network's channel order). The default is ImageNet's, on RGB, as the official HRNet."""

    colour: str = "rgb"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Normalization:
        """From a model's metadata (``{"colour", "mean", "std"}``); missing keys take the defaults."""
        if not data:
            return cls()
        default = cls()
        colour = str(data.get("colour", default.colour)).lower()
        mean = tuple(float(v) for v in data.get("mean", default.mean))
        std = tuple(float(v) for v in data.get("std", default.std))
        if colour not in COLOURS or len(mean) != 3 or len(std) != 3 or not all(s > 0 for s in std):
            raise ValueError(f"normalisation needs colour rgb|bgr and three means and positive stds, got {data}")
        return cls(colour, mean, std)

    def to_dict(self) -> dict[str, Any]:
        return {"colour": self.colour, "mean": list(self.mean), "std": list(self.std)}

    @property
    def mean_array(self) -> np.ndarray:
        return np.asarray(self.mean, dtype=np.float32)

    @property
    def std_array(self) -> np.ndarray:
        return np.asarray(self.std, dtype=np.float32)


@dataclass
class PoseModelSpec:
    """What the pipeline needs to know about a pose model besides its weights."""

    arch: str
    num_joints: int
    input_size: tuple[int, int]  # (width, height) pixels
    keypoints: KeypointSet
    path: Path | None = None
    final_conv_kernel: int = 1
    notes: list[str] = field(default_factory=list)
    normalization: Normalization = field(default_factory=Normalization)
    # the training targets' encoding, so inference decodes to match (inference/codec/heatmap_codec.py)
    encoding: str = "official"

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """(width, height) of the network's output."""
        return heatmap_size_for(self.input_size)
