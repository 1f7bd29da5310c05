"""torchrun's view of a training run, and every collective the trainer uses: joining the process group, wrapping
the model in DDP, sharding the training set, agreeing on a stop, summing the loss, checking weights are in sync.
With one process every call is a no-op, so the trainer reads the same either way."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch


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

    def join(self, device: torch.device) -> torch.device:
        """Join the process group (NCCL on CUDA, gloo on the CPU); the device this process trains on."""
        if not self.enabled:
            return device
        import torch.distributed as dist

        cuda = device.type == "cuda"
        if not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo")
        if cuda:
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        return device

    def leave(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """The model as the training step calls it: DDP-wrapped with several processes, itself with one."""
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def sampler(self, dataset, seed: int, epoch: int):
        """This process's shard of ``dataset`` for ``epoch`` (shuffled the same way by every process), or None."""
        if not self.enabled:
            return None
        from torch.utils.data.distributed import DistributedSampler

        sampler = DistributedSampler(dataset, self.world_size, self.rank, shuffle=True, seed=seed)
        sampler.set_epoch(epoch)
        return sampler

    def any(self, flag: bool, device: torch.device) -> bool:
        """True when any process says True (a stop asked of one process stops them all)."""
        if not self.enabled:
            return flag
        import torch.distributed as dist

        tensor = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Each value summed over every process (float64)."""
        if not self.enabled:
            return values
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def max_difference(self, model: torch.nn.Module, device: torch.device) -> float:
        """The largest difference of any weight between processes (0.0 when they are in sync)."""
        if not self.enabled:
            return 0.0
        import torch.distributed as dist

        flat = torch.cat([p.detach().flatten() for p in model.parameters()]).to(device)
        gathered = [torch.empty_like(flat) for _ in range(self.world_size)]
        dist.all_gather(gathered, flat)
        return max(float((g - gathered[0]).abs().max()) for g in gathered)
