"""Backward passes and optimiser steps, shared by a trainer's generator side and its adversary."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from patina.core.device import autocast_dtype
from patina.training.distributed import ProcessGroup


class Backprop:
    """Autocast (``amp``: on CUDA, and bf16 on CPUs that compute it natively), loss scaling (fp16 only),
    gradient averaging across processes and gradient clipping (``grad_clip`` 0: none)."""

    def __init__(self, *, device: torch.device, amp: bool, grad_clip: float, group: ProcessGroup) -> None:
        self.device = device
        self.amp_dtype = autocast_dtype(device, cpu_bf16=True) if amp else None
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)
        self.grad_clip = grad_clip
        self.group = group

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                              enabled=self.amp_dtype is not None)

    def step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters: Iterable[nn.Parameter]) -> None:
        """Zero the gradients, backward the (scaled) ``loss``, average and clip the gradients of
        ``parameters``, step ``optimizer``. The scaler is updated once per iteration by the caller."""
        parameters = list(parameters)
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.group.average_gradients(parameters)
        self.scaler.unscale_(optimizer)
        if self.grad_clip:
            torch.nn.utils.clip_grad_norm_(parameters, self.grad_clip)
        self.scaler.step(optimizer)
