"""Paired GAN training of the restoration generator and the damage-mask net on synthetic old-photo pairs.

With ``tone_model`` the generator learns behind a trained (frozen) whole-photo tone correction, as the
pipeline runs it: the mask net sees the degraded photo, the generator its tone-corrected version.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from patina.core.errors import ConfigError
from patina.losses import charbonnier_loss, frequency_loss, mask_loss, ssim_loss
from patina.networks import DamageMaskNet, PatchDiscriminator, RestoreGenerator, ToneCorrector
from patina.networks.restore import THUMBNAIL_SIZE
from patina.ops.metrics import psnr
from patina.training.config import RestoreTrainConfig
from patina.training.datasets import DEGRADATION_PRESETS, DegradationPairs, degradation_preset
from patina.training.hard_negatives import read_list
from patina.training.loss_terms import LossTerm
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of
from patina.weights import ModelCard
from patina.weights.files import card_path, load_model


class RestoreTrainer(Trainer):
    """Restoration G + damage-mask net against a conditional PatchGAN, with EMA of both networks; with
    ``train_generator`` off, the damage-mask net alone (G, as initialised, only validates and is exported)."""

    task = "restore"

    def __init__(self, config: RestoreTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        self.generator = RestoreGenerator(**config.generator).to(self.device)
        self.mask_net = DamageMaskNet(**config.mask_net).to(self.device)
        trained = {"generator": self.generator, "mask_net": self.mask_net}
        if not config.train_generator:
            del trained["generator"]
        self.train_generator(trained)
        self.ema_mask_net = self.emas["mask_net"]
        self.perceptual = None
        if config.train_generator:
            self.adversary = self.make_adversary(PatchDiscriminator(**config.discriminator))
            self.perceptual = self.perceptual_loss()
        self.tone_corrector = self._tone_corrector(config.tone_model)

    def _tone_corrector(self, path: str | None) -> ToneCorrector | None:
        if path is None:
            return None
        network = init_source(Path(path), "ToneCorrector").to(self.device).eval().requires_grad_(False)
        assert isinstance(network, ToneCorrector)
        return network

    @torch.no_grad()
    def tone_corrected(self, degraded: torch.Tensor) -> torch.Tensor:
        """``degraded`` after the frozen tone correction, gated as the pipeline gates it (each crop judged on
        its own thumbnail), or as it is."""
        if self.tone_corrector is None:
            return degraded
        with torch.autocast(self.device.type, enabled=False):
            thumb = torch.nn.functional.adaptive_avg_pool2d(degraded.float(), THUMBNAIL_SIZE)
            return self.tone_corrector.blend(degraded.float(), *self.tone_corrector.propose(thumb))

    @property
    def restorer(self) -> RestoreGenerator:
        """The generator to validate and export: its EMA when it is trained, else as initialised."""
        shadow = self.emas["generator"].shadow if "generator" in self.emas else self.generator
        assert isinstance(shadow, RestoreGenerator)
        return shadow

    def initialise_from(self, folder: Path) -> None:
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

    def training_set(self) -> DegradationPairs:
        """Degraded/clean pairs of the training images."""
        data = self.config.data
        hard = read_list(data.hard_negatives, self.train_files, data.roots) if data.hard_negatives else []
        return DegradationPairs(self.train_files, crop=data.crop, scale_range=data.scale_range,
                                degradation=degradation_preset(data.degradation, data.degradation_overrides),
                                seed=self.config.seed, hard=hard, p_hard=data.p_hard_negative)

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """Mask net, then G on the degraded photo and the predicted mask (dropped for some samples)."""
        pos_weight = self.config.loss.mask_pos_weight
        degraded, target, true_mask = (batch[k].to(self.device, non_blocking=True)
                                       for k in ("degraded", "target", "mask"))
        if not self.config.train_generator:
            with self.autocast():
                logits = self.mask_net(degraded)
            return Generated(terms={"mask": lambda: mask_loss(logits, true_mask, pos_weight=pos_weight)},
                             images=[degraded, torch.sigmoid(logits.detach().float()), true_mask],
                             label="train/degraded|mask|true mask")
        with self.autocast():
            mask_logits = self.mask_net(degraded)
            dropout = self.config.optim.mask_dropout
            keep = (torch.rand(degraded.shape[0], 1, 1, 1, device=self.device) >= dropout).float()
            mask_in = torch.sigmoid(mask_logits.detach().float()) * keep
            restored = self.generator(self.tone_corrected(degraded), mask_in)
        restored_f = restored.float()

        def paired(image: torch.Tensor) -> torch.Tensor:  # D judges an image next to its degraded input
            return torch.cat([degraded, image], dim=1)

        terms: dict[str, LossTerm] = {
            "mask": lambda: mask_loss(mask_logits, true_mask, pos_weight=pos_weight),
            "pixel": lambda: charbonnier_loss(restored_f, target),
            "ssim": lambda: ssim_loss(restored_f.clamp(0, 1), target),
            "frequency": lambda: frequency_loss(restored_f, target),
        }
        perceptual = self.perceptual
        if perceptual is not None:
            terms["perceptual"] = lambda: perceptual(restored_f, target)
        return Generated(
            terms=terms, images=[degraded, mask_in, restored_f.detach(), target],
            label="train/degraded|mask|restored|target", real=target, fake=restored,
            discriminate=lambda image: self.gan.discriminator(paired(image)),
            adversarial_terms={"feature_matching": lambda: self.gan.feature_matching(paired(target),
                                                                                     paired(restored))})

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
            restored = self.restorer(self.tone_corrected(degraded), mask).clamp(0, 1)
            before.append(psnr(degraded, target).item())
            after.append(psnr(restored, target).item())
        return {"val/psnr_input": float(np.mean(before)), "val/psnr_restored": float(np.mean(after))}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """Write the EMA generator and mask net as safetensors + model cards, ready for the registry."""
        cfg = self.config
        train_images, val_images = len(self.train_files), len(self.val_files)
        cards = [
            self.save_network(self.restorer, folder, name=cfg.name, arch="RestoreGenerator",
                              kwargs=kwargs_of(self.generator, cfg.generator),
                              train_images=train_images, val_images=val_images),
            self.save_network(self.ema_mask_net.shadow, folder, name="damage-mask", arch="DamageMaskNet",
                              kwargs=kwargs_of(self.mask_net, cfg.mask_net),
                              train_images=train_images, val_images=val_images),
        ]
        if cfg.tone_model is not None:  # the pipeline finds it beside the generator
            for source in (Path(cfg.tone_model), card_path(cfg.tone_model)):
                shutil.copyfile(source, Path(folder) / f"restore-tone{source.suffix}")
        return cards
