"""What the pipeline needs to know about a pose model besides its weights (no PyTorch needed to read it)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..skeletons import KeypointSet


@dataclass
class PoseModelSpec:
    """What the pipeline needs to know about a pose model besides its weights."""

    arch: str
    num_joints: int
    input_size: tuple[int, int]  # (width, height)
    keypoints: KeypointSet
    path: Path | None = None
    final_conv_kernel: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def heatmap_size(self) -> tuple[int, int]:
        return self.input_size[0] // 4, self.input_size[1] // 4
