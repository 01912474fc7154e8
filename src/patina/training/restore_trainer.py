"""Paired GAN training of the restoration generator and the damage-mask net on synthetic old-photo pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from patina.core.errors import ConfigError
from patina.losses import (
    PerceptualLoss,
    VGGTeacher,
    charbonnier_loss,
    feature_matching_loss,
    frequency_loss,
    generator_loss,
    mask_loss,
    ssim_loss,
)
from patina.networks import DamageMaskNet, PatchDiscriminator, RestoreGenerator
from patina.ops.metrics import psnr
from patina.training.config import RestoreTrainConfig
from patina.data import list_images, split_holdout
from patina.training.datasets import DEGRADATION_PRESETS, DegradationPairs, sample_seed
from patina.training.ema import EMA
from patina.training.gan_trainer import GanTrainer, StepResult, kwargs_of
from patina.weights import ModelCard, save_model
from patina.weights.files import load_model


class RestoreTrainer(GanTrainer):
    """Restoration G + damage-mask net against a conditional PatchGAN, with EMA of both networks."""

    state_names = ("generator", "mask_net", "discriminator", "ema_generator", "ema_mask_net", "opt_g", "opt_d")

    def __init__(self, config: RestoreTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        self.generator = RestoreGenerator(**config.generator).to(self.device)
        self.mask_net = DamageMaskNet(**config.mask_net).to(self.device)
        self.discriminator = PatchDiscriminator(**config.discriminator).to(self.device)
        if config.init_from:
            self._initialise_from(Path(config.init_from))
        self.ema_generator = EMA(self.generator, config.optim.ema_decay)
        self.ema_mask_net = EMA(self.mask_net, config.optim.ema_decay)
        optim = config.optim
        g_params = list(self.generator.parameters()) + list(self.mask_net.parameters())
        self.opt_g = torch.optim.Adam(g_params, lr=optim.lr_g, betas=optim.betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=optim.lr_d, betas=optim.betas)
        self.perceptual = self._perceptual_loss()
        files = list_images(config.data.roots)
        self.train_files, self.val_files = split_holdout(files, config.data.holdout_every)

    def _initialise_from(self, folder: Path) -> None:
        """Start G and the mask net from exported weights; only a new global-context branch may be missing."""
        for network, file_name in ((self.generator, f"{self.config.name}.safetensors"),
                                   (self.mask_net, "damage-mask.safetensors")):
            source, _ = load_model(folder / file_name)
            try:
                missing, unexpected = network.load_state_dict(source.state_dict(), strict=False)
            except RuntimeError as exc:  # shape mismatches
                raise ConfigError(f"init_from {folder / file_name}: weights do not fit the configured network "
                                  f"({str(exc).splitlines()[1].strip()})") from None
            if unexpected or any(not key.startswith("context_net.") for key in missing):
                raise ConfigError(f"init_from {folder / file_name}: weights do not fit the configured network "
                                  f"(missing {missing[:3]}, unexpected {unexpected[:3]})")

    def _perceptual_loss(self) -> nn.Module | None:
        teacher = self.config.loss.teacher
        if not self.config.loss.perceptual or not teacher or not Path(teacher).is_file():
            return None
        return PerceptualLoss(VGGTeacher.from_file(teacher)).to(self.device)

    def _discriminate(self, degraded: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.discriminator(torch.cat([degraded, image], dim=1))

    def train_step(self, batch: dict[str, torch.Tensor]) -> StepResult:
        """One D step then one G (+ mask net) step."""
        cfg, loss_cfg = self.config, self.config.loss
        torch.manual_seed(sample_seed(cfg.seed, self.step))
        degraded, target, true_mask = (batch[k].to(self.device, non_blocking=True) for k in ("degraded", "target", "mask"))
        adversarial_on = self.step >= loss_cfg.gan_start and loss_cfg.adversarial > 0
        losses: dict[str, float] = {}
        self._set_learning_rates()

        with self._autocast():
            mask_logits = self.mask_net(degraded)
            keep = (torch.rand(degraded.shape[0], 1, 1, 1, device=self.device) >= cfg.optim.mask_dropout).float()
            mask_in = torch.sigmoid(mask_logits.detach().float()) * keep
            restored = self.generator(degraded, mask_in)

        if adversarial_on:
            self.discriminator_step(lambda x: self._discriminate(degraded, x), target, restored, losses)

        restored_f = restored.float()
        g_terms = {
            "g/pixel": (loss_cfg.pixel, lambda: charbonnier_loss(restored_f, target)),
            "g/ssim": (loss_cfg.ssim, lambda: ssim_loss(restored_f.clamp(0, 1), target)),
            "g/frequency": (loss_cfg.frequency, lambda: frequency_loss(restored_f, target)),
            "g/perceptual": (loss_cfg.perceptual if self.perceptual else 0.0,
                             lambda: self.perceptual(restored_f, target)),
        }
        g_loss = mask_loss(mask_logits, true_mask) * loss_cfg.mask
        losses["m/mask"] = g_loss.item()
        for name, (weight, term) in g_terms.items():
            if weight:
                value = term()
                losses[name] = value.item()
                g_loss = g_loss + weight * value
        if adversarial_on:
            self.discriminator.requires_grad_(False)
            with self._autocast():
                fake_input = torch.cat([degraded, restored], dim=1)
                adv = generator_loss(loss_cfg.gan, self.discriminator(fake_input))
                g_loss = g_loss + loss_cfg.adversarial * adv
                losses["g/adversarial"] = adv.item()
                if loss_cfg.feature_matching:
                    real_feats = self.discriminator.features(torch.cat([degraded, target], dim=1))
                    fm = feature_matching_loss(real_feats, self.discriminator.features(fake_input))
                    g_loss = g_loss + loss_cfg.feature_matching * fm
                    losses["g/feature_matching"] = fm.item()
        self.update_generator(g_loss, losses, [*self.generator.parameters(), *self.mask_net.parameters()],
                              [(self.ema_generator, self.generator), (self.ema_mask_net, self.mask_net)])
        return StepResult(losses, [degraded, mask_in, restored_f.detach(), target], "train/degraded|mask|restored|target")

    def data_loader(self) -> DataLoader:
        """Degraded/clean pairs, resuming at the first sample the current step has not seen."""
        data = self.config.data
        return self.resuming_loader(DegradationPairs(self.train_files, crop=data.crop, scale_range=data.scale_range,
                                                     degradation=DEGRADATION_PRESETS[data.degradation],
                                                     seed=self.config.seed))

    @torch.no_grad()
    def validate(self, limit: int = 8) -> dict[str, float]:
        """PSNR of the EMA generator (with its EMA mask net) on held-out images, degraded with the eval preset."""
        if not self.val_files:
            return {}
        crop = min(256, self.config.data.crop * 2)
        dataset = DegradationPairs(self.val_files, crop=crop, scale_range=(1.0, 1.0),
                                   degradation=DEGRADATION_PRESETS["eval"], seed=12345)
        before, after = [], []
        for index in range(limit):
            item = dataset[index]
            degraded, target = item["degraded"][None].to(self.device), item["target"][None].to(self.device)
            mask = torch.sigmoid(self.ema_mask_net.shadow(degraded))
            restored = self.ema_generator.shadow(degraded, mask).clamp(0, 1)
            before.append(psnr(degraded, target).item())
            after.append(psnr(restored, target).item())
        return {"val/psnr_input": float(np.mean(before)), "val/psnr_restored": float(np.mean(after))}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """Write the EMA generator and mask net as safetensors + model cards, ready for the registry."""
        folder = Path(folder)
        cfg = self.config
        common = self.card_fields("restore", data=cfg.data.roots, train_images=len(self.train_files),
                                  val_images=len(self.val_files))
        generator_card = ModelCard(name=cfg.name, arch="RestoreGenerator",
                                   kwargs=kwargs_of(self.generator, cfg.generator), **common)
        mask_card = ModelCard(name="damage-mask", arch="DamageMaskNet",
                              kwargs=kwargs_of(self.mask_net, cfg.mask_net), **common)
        return [
            save_model(self.ema_generator.shadow, folder / f"{cfg.name}.safetensors", generator_card),
            save_model(self.ema_mask_net.shadow, folder / "damage-mask.safetensors", mask_card),
        ]

