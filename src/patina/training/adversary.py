"""The optional adversarial half of a training run: a discriminator, its optimiser, its update, and the
generator's adversarial terms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from patina.losses import discriminator_loss, feature_matching_loss, generator_loss, gradient_penalty, r1_penalty
from patina.training.augment import diff_augment
from patina.training.backprop import Backprop
from patina.training.config import GanLossConfig, OptimConfig

Discriminate = Callable[[torch.Tensor], torch.Tensor]
"""D's logits for a batch of (real or generated) samples, with whatever condition the task adds."""


@runtime_checkable
class FeatureDiscriminator(Protocol):
    """A discriminator that also gives its intermediate activations (as PatchDiscriminator does)."""

    def features(self, x: torch.Tensor) -> list[torch.Tensor]: ...


class Adversary:
    """A discriminator trained with the config's ``loss.gan`` (bce / lsgan / hinge / wgan), R1 every
    ``loss.r1_every`` steps (lazy: weighted by ``r1 * r1_every``), the WGAN gradient penalty and, where
    the task's loss config has ``diff_augment``, DiffAugment-ed inputs; it switches on at ``loss.gan_start``."""

    def __init__(self, discriminator: nn.Module, *, loss: GanLossConfig, optim: OptimConfig,
                 backprop: Backprop) -> None:
        self.discriminator = discriminator
        self.loss = loss
        self.backprop = backprop
        self.optimizer = torch.optim.Adam(discriminator.parameters(), lr=optim.lr_d, betas=optim.betas)

    def active(self, step: int) -> bool:
        """Whether D is trained and the generator's adversarial term is on at ``step``."""
        return step >= self.loss.gan_start and self.loss.adversarial > 0

    def augment(self, images: torch.Tensor, *, channels_per_image: int | None = None) -> torch.Tensor:
        """``images`` DiffAugment-ed when the loss config asks for it (a small real set), else unchanged."""
        if not getattr(self.loss, "diff_augment", False):
            return images
        return diff_augment(images, channels_per_image=channels_per_image)

    def update(self, discriminate: Discriminate, real: torch.Tensor, fake: torch.Tensor, *, step: int,
               losses: dict[str, float]) -> None:
        """One D step on ``real`` vs (detached) ``fake``, with the penalties the config asks for; records
        ``d/loss``, ``d/r1`` and ``d/gp`` in ``losses``."""
        loss = self.loss
        self.discriminator.requires_grad_(True)
        with self.backprop.autocast():
            d_loss = discriminator_loss(loss.gan, discriminate(real), discriminate(fake.detach()))
        if loss.r1 and step % loss.r1_every == 0:
            penalty = r1_penalty(lambda x: discriminate(x).float(), real)
            d_loss = d_loss + loss.r1 * loss.r1_every * penalty
            losses["d/r1"] = penalty.item()
        if loss.gradient_penalty:
            penalty = gradient_penalty(lambda x: discriminate(x).float(), real, fake)
            d_loss = d_loss + loss.gradient_penalty * penalty
            losses["d/gp"] = penalty.item()
        self.backprop.step(self.optimizer, d_loss, self.discriminator.parameters())
        losses["d/loss"] = d_loss.item()

    def generator_loss(self, discriminate: Discriminate, fake: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial loss on ``fake`` (D frozen, so only G gets gradients)."""
        self.discriminator.requires_grad_(False)
        with self.backprop.autocast():
            return generator_loss(self.loss.gan, discriminate(fake))

    def feature_matching(self, real_input: torch.Tensor, fake_input: torch.Tensor) -> torch.Tensor:
        """L1 between D's intermediate features on a real and a generated input (after :meth:`generator_loss`)."""
        discriminator = self.discriminator
        if not isinstance(discriminator, FeatureDiscriminator):
            raise TypeError("feature matching needs a discriminator with features(), "
                            f"not a {type(discriminator).__name__}")
        with self.backprop.autocast():
            return feature_matching_loss(discriminator.features(real_input), discriminator.features(fake_input))

    def state_dict(self) -> dict[str, dict]:
        return {"discriminator": self.discriminator.state_dict(), "opt_d": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, dict]) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimizer.load_state_dict(state["opt_d"])
