"""GAN training of the retro generator: modern photos in, real old-photo texture out.

Each modern crop gets a random era's base look (the preset chain without grain or damage); the
conditional generator turns it into the finished look. Its content loss keeps it close to the base look
at low frequencies (L1 of blurred images, SSIM of luminance); a projection discriminator, conditioned on
the era's group (toned / neutral / colour), compares it with crops of REAL old photographs of that group,
so the generator learns the grain, softness and print texture the presets can only approximate. D's
inputs, real and generated, are DiffAugment-ed: there are only a few dozen real photos per group.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from patina.core.errors import ConfigError
from patina.data import list_images
from patina.looks import ERA_NAMES, ERAS, GROUPS, render
from patina.looks.ops import blur, luma
from patina.looks.references import group_photos, split_references
from patina.losses.pixel import ssim_loss
from patina.networks.discriminators import ProjectionDiscriminator
from patina.networks.retro import RetroGenerator
from patina.ops.metrics import ssim
from patina.training.config import RetroTrainConfig
from patina.training.datasets import CleanCrops, PhotoCrops
from patina.training.loss_terms import LossTerm
from patina.training.trainer import Generated, Trainer, kwargs_of
from patina.weights import ModelCard

ERA_GROUPS = torch.tensor([GROUPS.index(ERAS[name].group) for name in ERA_NAMES])
"""The real-photo group index of each era index."""


class RealCrops:
    """Random crops of real old photographs by group (a :class:`PhotoCrops` per group)."""

    def __init__(self, groups: dict[str, list[Path]], *, crop: int, side: int) -> None:
        self.photos = {GROUPS.index(name): PhotoCrops(files, crop=crop, side=side) for name, files in groups.items()}

    def batch(self, groups: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """One crop (float (3, crop, crop)) of a random photo of each requested group, randomly flipped."""
        return torch.stack([self.photos[group].random_crop(rng) for group in groups.tolist()])


def base_looks(modern: torch.Tensor, eras: torch.Tensor, *, scale: float) -> torch.Tensor:
    """Each image of the batch with its era's base look (no texture) at full strength."""
    return torch.cat([render(modern[i:i + 1], ERAS[ERA_NAMES[era]], texture=False, scale=scale)
                      for i, era in enumerate(eras.tolist())])


class RetroTrainer(Trainer):
    """Retro G (era embedding) against a projection D on real old photos (group label), with an EMA of G."""

    task = "retro"

    def __init__(self, config: RetroTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        self.generator = RetroGenerator(eras=len(ERA_NAMES), **config.generator).to(self.device)
        self.adversary = self.make_adversary(ProjectionDiscriminator(classes=len(GROUPS), **config.discriminator))
        (self.ema_generator,) = self.train_generator({"generator": self.generator})
        groups = group_photos(list_images(list(config.real_roots)))
        self.real_train, self.real_held_out = split_references(groups, config.real_holdout_every)
        empty = [g for g in GROUPS if not self.real_train[g]]
        if empty:
            raise ConfigError(f"no real old photographs of group(s) {', '.join(empty)} for training under "
                              f"{', '.join(config.real_roots)}; each era is judged against its group")
        self.real = RealCrops(self.real_train, crop=config.data.crop, side=config.real_side)

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """A random era's base look of each modern crop, finished by G; D compares it (DiffAugment-ed when the
        config asks, the real set being small) with real photos of the era's group."""
        cfg, loss_cfg = self.config, self.config.loss
        modern = batch["target"].to(self.device, non_blocking=True)
        n = modern.shape[0]
        eras = torch.randint(len(ERA_NAMES), (n,), device=self.device)
        groups = ERA_GROUPS.to(self.device)[eras]
        with torch.no_grad():
            base = base_looks(modern, eras, scale=cfg.photo_scale)
        real = self.real.batch(groups.cpu(), rng).to(self.device)
        noise = torch.randn(n, 1, *modern.shape[-2:], device=self.device)
        with self.autocast():
            fake = self.generator(base, noise, eras)
        fake_f = fake.float()
        sigma = loss_cfg.content_sigma
        terms: dict[str, LossTerm] = {"pixel": lambda: F.l1_loss(blur(fake_f, sigma), blur(base, sigma)),
                                      "ssim": lambda: ssim_loss(luma(fake_f), luma(base))}
        return Generated(terms=terms, images=[modern, base, fake_f.detach().clamp(0, 1), real],
                         label="train/modern|base|retro|real", real=real, fake=fake.clamp(0, 1),
                         discriminate=lambda images: self.gan.discriminator(self.gan.augment(images), groups))

    @torch.no_grad()
    def validate(self, limit: int = 6) -> dict[str, float]:
        """SSIM (luma) of the EMA generator's output to the modern input and to the base look, on held-out crops."""
        if not self.val_files:
            return {}
        dataset = CleanCrops(self.val_files, crop=self.config.data.crop, scale_range=(1.0, 1.0), seed=12345)
        to_input, to_base = [], []
        for index in range(limit):
            modern = dataset[index]["target"][None].to(self.device)
            era = torch.tensor([index % len(ERA_NAMES)], device=self.device)
            base = base_looks(modern, era, scale=self.config.photo_scale)
            seeded = torch.Generator().manual_seed(index)
            noise = torch.randn(1, 1, *modern.shape[-2:], generator=seeded).to(self.device)
            out = self.ema_generator.shadow(base, noise, era).float().clamp(0, 1)
            to_input.append(ssim(luma(out), luma(modern)).item())
            to_base.append(ssim(luma(out), luma(base)).item())
        return {"val/ssim_luma_to_input": float(np.mean(to_input)), "val/ssim_luma_to_base": float(np.mean(to_base))}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """Write the EMA generator as safetensors + model card (eras, groups, the real photos it saw)."""
        cfg = self.config
        return [self.save_network(
            self.ema_generator.shadow, folder, name=cfg.name, arch="RetroGenerator",
            kwargs=kwargs_of(self.generator, cfg.generator), data=[*cfg.data.roots, *cfg.real_roots],
            train_images=len(self.train_files), eras=list(ERA_NAMES),
            era_groups={name: ERAS[name].group for name in ERA_NAMES},
            real_photos_train={g: len(files) for g, files in self.real_train.items()},
            real_photos_held_out={g: len(files) for g, files in self.real_held_out.items()})]
