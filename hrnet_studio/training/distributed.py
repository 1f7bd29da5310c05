"""torchrun's view of a training run: how many processes, and which one this is."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class DistContext:
    """torchrun's environment: one process per GPU (or per CPU worker with gloo); rank 0 logs and saves."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> DistContext:
        return cls(int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0")),
                   int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0
