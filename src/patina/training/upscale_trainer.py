"""Super-resolution training: a fidelity upscaler on L1 alone, or a GAN upscaler (Real-ESRGAN recipe).

Fidelity (``loss.adversarial`` 0): bicubic-downscaled pairs, L1, no discriminator. GAN: second-order
degraded pairs, L1 and perceptual losses on the unsharp-masked target, and a U-Net discriminator with
spectral norm judging every pixel, switched on after ``loss.gan_start`` steps of L1 only (the
"Real-ESRNet" warm start).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from patina.core.errors import ConfigError
from patina.losses import PerceptualLoss, VGGTeacher, generator_loss
from patina.networks import ARCHITECTURES, UNetDiscriminator
from patina.networks.upscale import CompactUpscaler, fold_unshuffle
from patina.ops.metrics import psnr_y
from patina.ops.resize import imresize
from patina.training.config import UpscaleTrainConfig
from patina.data import list_images, split_holdout
from patina.training.datasets import UpscalePairs, sample_seed
from patina.training.ema import EMA
from patina.training.gan_trainer import GanTrainer, StepResult, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard, save_model

UPSCALERS = ("CompactUpscaler", "ResidualUpscaler", "RRDBNet")


class UpscaleTrainer(GanTrainer):
    """An upscaler G (any of ``UPSCALERS``), with an EMA, and a U-Net D when the run is adversarial."""

    def __init__(self, config: UpscaleTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        if config.arch not in UPSCALERS:
            raise ConfigError(f"arch must be one of {', '.join(UPSCALERS)}, got {config.arch!r}")
        self.generator = ARCHITECTURES[config.arch](scale=config.scale, **config.generator).to(self.device)
        if config.init_from:
            self._initialise_from(Path(config.init_from))
        self.ema_generator = EMA(self.generator, config.optim.ema_decay)
        optim, loss = config.optim, config.loss
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=optim.lr_g, betas=optim.betas)
        names = ["generator", "ema_generator", "opt_g"]
        if loss.adversarial > 0:
            self.discriminator = UNetDiscriminator(**config.discriminator).to(self.device)
            self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=optim.lr_d, betas=optim.betas)
            names += ["discriminator", "opt_d"]
        self.state_names = tuple(names)
        teacher = loss.teacher
        self.perceptual = (PerceptualLoss(VGGTeacher.from_file(teacher)).to(self.device)
                           if loss.perceptual and teacher and Path(teacher).is_file() else None)
        self.train_files, self.val_files = split_holdout(list_images(config.data.roots), config.data.holdout_every)

    def _initialise_from(self, path: Path) -> None:
        """Start from a trained generator of the same arch; a CompactUpscaler with a pixel-unshuffle at a
        lower scale (x2, unshuffle 2) is folded into the plain x4 layout first (see `fold_unshuffle`)."""
        source = init_source(path, self.config.arch)
        folds = (isinstance(source, CompactUpscaler) and source.unshuffle > 1
                 and self.config.generator.get("unshuffle", 1) == 1
                 and source.scale * source.unshuffle == self.config.scale)
        if folds:
            source = fold_unshuffle(source)
        load_init_state(self.generator, source.state_dict(), path, "generator")

    def _pairs(self, files: list[Path], *, crop: int, scale_range: tuple[float, float], seed: int) -> UpscalePairs:
        cfg = self.config
        return UpscalePairs(files, crop=crop, scale_range=scale_range, scale=cfg.scale, degradation=cfg.degradation,
                            sharpen_target=cfg.sharpen_target, seed=seed)

    def data_loader(self) -> DataLoader:
        """Low/high-resolution pairs, resuming at the first sample the current step has not seen."""
        data = self.config.data
        return self.resuming_loader(self._pairs(self.train_files, crop=data.crop, scale_range=data.scale_range,
                                                seed=self.config.seed))

    def train_step(self, batch: dict[str, torch.Tensor]) -> StepResult:
        """One D step (when adversarial and past ``gan_start``) then one G step."""
        cfg, loss_cfg = self.config, self.config.loss
        torch.manual_seed(sample_seed(cfg.seed, self.step))
        low, target = (batch[k].to(self.device, non_blocking=True) for k in ("input", "target"))
        sharp = batch["sharp"].to(self.device, non_blocking=True) if "sharp" in batch else target
        adversarial_on = self.discriminator is not None and self.step >= loss_cfg.gan_start
        losses: dict[str, float] = {}
        self._set_learning_rates()
        with self._autocast():
            upscaled = self.generator(low)
        if adversarial_on:
            self.discriminator_step(self.discriminator, target, upscaled, losses)

        upscaled_f = upscaled.float()
        pixel = F.l1_loss(upscaled_f, sharp)
        g_loss = loss_cfg.pixel * pixel
        losses["g/pixel"] = pixel.item()
        if self.perceptual is not None:
            perceptual = self.perceptual(upscaled_f, sharp)
            g_loss = g_loss + loss_cfg.perceptual * perceptual
            losses["g/perceptual"] = perceptual.item()
        if adversarial_on:
            assert self.discriminator is not None
            self.discriminator.requires_grad_(False)
            with self._autocast():
                adv = generator_loss(loss_cfg.gan, self.discriminator(upscaled))
            g_loss = g_loss + loss_cfg.adversarial * adv
            losses["g/adversarial"] = adv.item()
        self.update_generator(g_loss, losses, self.generator.parameters(), [(self.ema_generator, self.generator)])
        nearest = F.interpolate(low, scale_factor=cfg.scale, mode="nearest")
        return StepResult(losses, [nearest, upscaled_f.detach(), target], "train/input|upscaled|target")

    @torch.no_grad()
    def validate(self, limit: int = 8) -> dict[str, float]:
        """Y-channel PSNR of the EMA generator and of bicubic upscaling on held-out crops degraded as in training."""
        if not self.val_files:
            return {}
        scale = self.config.scale
        crop = max(scale * 8, 256 // (scale * 8) * scale * 8)
        dataset = self._pairs(self.val_files, crop=crop, scale_range=(1.0, 1.0), seed=12345)
        model, bicubic = [], []
        for index in range(limit):
            item = dataset[index]
            low, target = item["input"][None].to(self.device), item["target"][None].to(self.device)
            model.append(psnr_y(self.ema_generator.shadow(low).float(), target, border=scale))
            bicubic.append(psnr_y(imresize(low, float(scale)), target, border=scale))
        return {"val/psnr_y_model": float(np.mean(model)), "val/psnr_y_bicubic": float(np.mean(bicubic))}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """Write the EMA generator as safetensors + model card."""
        cfg = self.config
        common = self.card_fields("upscale", data=cfg.data.roots, train_images=len(self.train_files),
                                  val_images=len(self.val_files), degradation=cfg.degradation)
        card = ModelCard(name=cfg.name, arch=cfg.arch,
                         kwargs=kwargs_of(self.generator, {**cfg.generator, "scale": cfg.scale}), **common)
        return [save_model(self.ema_generator.shadow, Path(folder) / f"{cfg.name}.safetensors", card)]
