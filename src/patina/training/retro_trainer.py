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
from torch.utils.data import DataLoader

from patina.core.errors import ConfigError
from patina.looks import ERA_NAMES, ERAS, GROUPS, render
from patina.looks.ops import blur, luma
from patina.looks.references import group_photos, split_references
from patina.losses import generator_loss
from patina.losses.pixel import ssim_loss
from patina.networks.discriminators import ProjectionDiscriminator
from patina.networks.retro import RetroGenerator
from patina.ops.metrics import ssim
from patina.training.augment import diff_augment
from patina.training.config import RetroTrainConfig
from patina.data import list_images, split_holdout
from patina.training.datasets import CleanCrops, PhotoCrops, sample_seed
from patina.training.ema import EMA
from patina.training.gan_trainer import GanTrainer, StepResult, kwargs_of
from patina.weights import ModelCard, save_model

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


class RetroTrainer(GanTrainer):
    """Retro G (era embedding) against a projection D on real old photos (group label), with an EMA of G."""

    state_names = ("generator", "discriminator", "ema_generator", "opt_g", "opt_d")

    def __init__(self, config: RetroTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        self.generator = RetroGenerator(eras=len(ERA_NAMES), **config.generator).to(self.device)
        self.discriminator = ProjectionDiscriminator(classes=len(GROUPS), **config.discriminator).to(self.device)
        self.ema_generator = EMA(self.generator, config.optim.ema_decay)
        optim = config.optim
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=optim.lr_g, betas=optim.betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=optim.lr_d, betas=optim.betas)
        self.train_files, self.val_files = split_holdout(list_images(config.data.roots), config.data.holdout_every)
        groups = group_photos(list_images(config.real_roots))
        self.real_train, self.real_held_out = split_references(groups, config.real_holdout_every)
        empty = [g for g in GROUPS if not self.real_train[g]]
        if empty:
            raise ConfigError(f"no real old photographs of group(s) {', '.join(empty)} for training under "
                              f"{', '.join(config.real_roots)}; each era is judged against its group")
        self.real = RealCrops(self.real_train, crop=config.data.crop, side=config.real_side)

    def data_loader(self) -> DataLoader:
        """Clean modern crops, resuming at the first sample the current step has not seen."""
        data = self.config.data
        return self.resuming_loader(CleanCrops(self.train_files, crop=data.crop, scale_range=data.scale_range,
                                               seed=self.config.seed))

    def _discriminate(self, images: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        """D's logits, on DiffAugment-ed images when the config asks (the real set is small)."""
        return self.discriminator(diff_augment(images) if self.config.loss.diff_augment else images, groups)

    def train_step(self, batch: dict[str, torch.Tensor]) -> StepResult:
        """One D step then one G step."""
        cfg, loss_cfg = self.config, self.config.loss
        seed = sample_seed(cfg.seed, self.step)
        torch.manual_seed(seed)
        modern = batch["target"].to(self.device, non_blocking=True)
        n = modern.shape[0]
        eras = torch.randint(len(ERA_NAMES), (n,), device=self.device)
        groups = ERA_GROUPS.to(self.device)[eras]
        with torch.no_grad():
            base = base_looks(modern, eras, scale=cfg.photo_scale)
        real = self.real.batch(groups.cpu(), np.random.default_rng(seed)).to(self.device)
        noise = torch.randn(n, 1, *modern.shape[-2:], device=self.device)
        adversarial_on = self.step >= loss_cfg.gan_start and loss_cfg.adversarial > 0
        losses: dict[str, float] = {}
        self._set_learning_rates()
        with self._autocast():
            fake = self.generator(base, noise, eras)
        if adversarial_on:
            self.discriminator_step(lambda x: self._discriminate(x, groups), real, fake.clamp(0, 1), losses)

        fake_f = fake.float()
        pixel = F.l1_loss(blur(fake_f, loss_cfg.content_sigma), blur(base, loss_cfg.content_sigma))
        structure = ssim_loss(luma(fake_f), luma(base))
        g_loss = loss_cfg.pixel * pixel + loss_cfg.ssim * structure
        losses.update({"g/pixel": pixel.item(), "g/ssim": structure.item()})
        if adversarial_on:
            self.discriminator.requires_grad_(False)
            with self._autocast():
                adv = generator_loss(loss_cfg.gan, self._discriminate(fake.clamp(0, 1), groups))
            g_loss = g_loss + loss_cfg.adversarial * adv
            losses["g/adversarial"] = adv.item()
        self.update_generator(g_loss, losses, self.generator.parameters(), [(self.ema_generator, self.generator)])
        return StepResult(losses, [modern, base, fake_f.detach().clamp(0, 1), real], "train/modern|base|retro|real")

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
            noise = torch.randn(1, 1, *modern.shape[-2:], generator=torch.Generator().manual_seed(index)).to(self.device)
            out = self.ema_generator.shadow(base, noise, era).float().clamp(0, 1)
            to_input.append(ssim(luma(out), luma(modern)).item())
            to_base.append(ssim(luma(out), luma(base)).item())
        return {"val/ssim_luma_to_input": float(np.mean(to_input)), "val/ssim_luma_to_base": float(np.mean(to_base))}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """Write the EMA generator as safetensors + model card (eras, groups, the real photos it saw)."""
        cfg = self.config
        common = self.card_fields(
            "retro", data=[*cfg.data.roots, *cfg.real_roots], train_images=len(self.train_files),
            eras=list(ERA_NAMES), era_groups={name: ERAS[name].group for name in ERA_NAMES},
            real_photos_train={g: len(files) for g, files in self.real_train.items()},
            real_photos_held_out={g: len(files) for g, files in self.real_held_out.items()})
        card = ModelCard(name=cfg.name, arch="RetroGenerator", kwargs=kwargs_of(self.generator, cfg.generator), **common)
        return [save_model(self.ema_generator.shadow, Path(folder) / f"{cfg.name}.safetensors", card)]
