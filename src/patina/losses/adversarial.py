"""Adversarial losses for D and G (non-saturating BCE, LSGAN, hinge, WGAN), gradient penalties and feature matching."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch.nn import functional as F

GanKind = Literal["bce", "lsgan", "hinge", "wgan"]


def discriminator_loss(kind: GanKind, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Loss D minimises, given its logits on real and on (detached) generated images."""
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if kind == "bce":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * (((real_logits - 1) ** 2).mean() + (fake_logits**2).mean())
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    if kind == "wgan":
        return fake_logits.mean() - real_logits.mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def generator_loss(kind: GanKind, fake_logits: torch.Tensor) -> torch.Tensor:
    """Loss G minimises, given D's logits on generated images (non-saturating for BCE)."""
    fake_logits = fake_logits.float()
    if kind == "bce":
        return F.softplus(-fake_logits).mean()
    if kind == "lsgan":
        return 0.5 * ((fake_logits - 1) ** 2).mean()
    if kind in ("hinge", "wgan"):
        return -fake_logits.mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def r1_penalty(discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """R1: mean squared gradient norm of D's output with respect to real inputs (Mescheder et al. 2018)."""
    real = real.detach().requires_grad_(True)
    logits = discriminator(real)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def gradient_penalty(
    discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    logits = discriminator(mixed)
    (grad,) = torch.autograd.grad(logits.sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def feature_matching_loss(real_features: list[torch.Tensor], fake_features: list[torch.Tensor]) -> torch.Tensor:
    """Mean L1 between D's intermediate activations on real (detached) and generated images."""
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError("feature lists must be non-empty and of equal length")
    terms = [(fake.float() - real.detach().float()).abs().mean()
             for real, fake in zip(real_features, fake_features, strict=True)]
    return torch.stack(terms).mean()
