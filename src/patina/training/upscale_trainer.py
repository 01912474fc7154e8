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

from patina.core.errors import ConfigError
from patina.networks import ARCHITECTURES, UNetDiscriminator
from patina.networks.upscale import CompactUpscaler, fold_unshuffle
from patina.ops.metrics import psnr_y
from patina.ops.resize import imresize
from patina.training.config import UpscaleTrainConfig
from patina.training.datasets import UpscalePairs
from patina.training.loss_terms import LossTerm
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard

UPSCALERS = ("CompactUpscaler", "ResidualUpscaler", "RRDBNet")


class UpscaleTrainer(Trainer):
    """An upscaler G (any of ``UPSCALERS``), with an EMA, and a U-Net D when the run is adversarial."""

    task = "upscale"

    def __init__(self, config: UpscaleTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        if config.arch not in UPSCALERS:
            raise ConfigError(f"arch must be one of {', '.join(UPSCALERS)}, got {config.arch!r}")
        self.generator = ARCHITECTURES[config.arch](scale=config.scale, **config.generator).to(self.device)
        (self.ema_generator,) = self.train_generator({"generator": self.generator})
        if config.loss.adversarial > 0:
            self.adversary = self.make_adversary(UNetDiscriminator(**config.discriminator))
        self.perceptual = self.perceptual_loss()

    def initialise_from(self, path: Path) -> None:
        """Start from a trained generator of the same arch; a CompactUpscaler with a pixel-unshuffle at a
        lower scale (x2, unshuffle 2) is folded into the plain x4 layout first (see `fold_unshuffle`)."""
        source = init_source(path, self.config.arch)
        if (isinstance(source, CompactUpscaler) and source.unshuffle > 1
                and self.config.generator.get("unshuffle", 1) == 1
                and source.scale * source.unshuffle == self.config.scale):  # folds
            source = fold_unshuffle(source)
        load_init_state(self.generator, source.state_dict(), path, "generator")

    def _pairs(self, files: list[Path], *, crop: int, scale_range: tuple[float, float], seed: int) -> UpscalePairs:
        cfg = self.config
        return UpscalePairs(files, crop=crop, scale_range=scale_range, scale=cfg.scale, degradation=cfg.degradation,
                            sharpen_target=cfg.sharpen_target, seed=seed)

    def training_set(self) -> UpscalePairs:
        """Low/high-resolution pairs of the training images."""
        data = self.config.data
        return self._pairs(self.train_files, crop=data.crop, scale_range=data.scale_range, seed=self.config.seed)

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """The upscaled input; L1 and perceptual losses against the (sharpened) target, D sees the plain one."""
        low, target = (batch[k].to(self.device, non_blocking=True) for k in ("input", "target"))
        sharp = batch["sharp"].to(self.device, non_blocking=True) if "sharp" in batch else target
        with self.autocast():
            upscaled = self.generator(low)
        upscaled_f = upscaled.float()
        terms: dict[str, LossTerm] = {"pixel": lambda: F.l1_loss(upscaled_f, sharp)}
        perceptual = self.perceptual
        if perceptual is not None:
            terms["perceptual"] = lambda: perceptual(upscaled_f, sharp)
        nearest = F.interpolate(low, scale_factor=self.config.scale, mode="nearest")
        return Generated(terms=terms, images=[nearest, upscaled_f.detach(), target],
                         label="train/input|upscaled|target", real=target, fake=upscaled,
                         discriminate=lambda image: self.gan.discriminator(image))

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
        return [self.save_network(self.ema_generator.shadow, folder, name=cfg.name, arch=cfg.arch,
                                  kwargs=kwargs_of(self.generator, {**cfg.generator, "scale": cfg.scale}),
                                  train_images=len(self.train_files), val_images=len(self.val_files),
                                  degradation=cfg.degradation)]
