"""Data-parallel training across processes started by torchrun (gloo on CPUs, NCCL on GPUs).

Every process builds the same networks from the same seed and trains on its own share of the samples;
after each backward pass the gradients are averaged over all processes (what DistributedDataParallel
does, done here explicitly because the discriminator's R1 / gradient penalties differentiate through
``torch.autograd.grad``, which DDP does not support, and tasks call network methods besides ``forward``).
Rank 0 alone logs, validates, writes checkpoints and exports. Without torchrun (no ``WORLD_SIZE`` > 1)
nothing here does anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import distributed as dist
from torch import nn

from patina.core.device import select_device


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place among the training processes: ``rank`` of ``world_size`` (``local_rank`` on its host)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> ProcessGroup:
        """The group torchrun describes in RANK / WORLD_SIZE / LOCAL_RANK; a single process without them."""
        return cls(rank=int(os.environ.get("RANK", 0)), world_size=int(os.environ.get("WORLD_SIZE", 1)),
                   local_rank=int(os.environ.get("LOCAL_RANK", 0)))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this process logs, validates, checkpoints and exports."""
        return self.rank == 0

    def device(self, name: str) -> torch.device:
        """The configured device; under torchrun a CUDA device becomes this process's ``cuda:LOCAL_RANK``."""
        device = select_device(name)
        if self.distributed and device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        return device

    def start(self, device: torch.device) -> None:
        """Join the process group (NCCL for CUDA, gloo otherwise) unless single or already joined.

        ``torch.distributed.nn`` is imported first: its functions take ``group.WORLD`` as a default argument, so
        when it is first imported (by torch's compiler stack, lazily, mid-run) after the group exists, they
        keep the group alive past :meth:`end`, and its worker threads then free the last tensors while the
        interpreter shuts down, which aborts the process (now and then: a race)."""
        if self.distributed and not dist.is_initialized():
            import torch.distributed.nn  # noqa: F401

            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    def end(self) -> None:
        """Leave the process group (after the last checkpoint)."""
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def broadcast(self, modules: Iterable[nn.Module]) -> None:
        """Copy rank 0's parameters and buffers to every process, so all start from the same weights."""
        if self.distributed:
            with torch.no_grad():
                for module in modules:
                    for tensor in (*module.parameters(), *module.buffers()):
                        dist.broadcast(tensor.data, src=0)

    def average_gradients(self, parameters: Iterable[nn.Parameter]) -> None:
        """Replace each gradient by its mean over all processes (one flat all-reduce)."""
        if not self.distributed:
            return
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset:offset + grad.numel()].view_as(grad))
            offset += grad.numel()

    def average(self, values: dict[str, float], device: torch.device) -> dict[str, float]:
        """The mean of each value over all processes (every process must pass the same keys)."""
        if not self.distributed or not values:
            return values
        tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return dict(zip(values, (tensor / self.world_size).tolist(), strict=True))

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` is true in any process (so all stop together)."""
        if not self.distributed:
            return flag
        tensor = torch.tensor([float(flag)], device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())
