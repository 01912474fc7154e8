"""Paired GAN training of the restoration generator and the damage-mask net on synthetic old-photo pairs."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from patina import __version__
from patina.core.config import to_dict
from patina.core.errors import ConfigError
from patina.core.device import autocast_dtype, select_device
from patina.losses import (
    PerceptualLoss,
    VGGTeacher,
    charbonnier_loss,
    discriminator_loss,
    feature_matching_loss,
    frequency_loss,
    generator_loss,
    gradient_penalty,
    mask_loss,
    r1_penalty,
    ssim_loss,
)
from patina.networks import DamageMaskNet, PatchDiscriminator, RestoreGenerator
from patina.ops.metrics import psnr
from patina.training.checkpoint import load_checkpoint, save_checkpoint
from patina.training.config import RestoreTrainConfig
from patina.training.datasets import (
    DEGRADATION_PRESETS,
    CountingSampler,
    DegradationPairs,
    list_images,
    sample_seed,
    single_threaded_worker,
    split_holdout,
)
from patina.training.ema import EMA
from patina.training.tracking import TrainingLog, progress_bar
from patina.weights import ModelCard, save_model
from patina.weights.files import load_model

CHECKPOINT_NAME = "checkpoint.pt"


def warmup_cosine(step: int, *, warmup: int, total: int) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to 10%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class StepResult:
    """Losses of one training step, and the tensors worth showing."""

    losses: dict[str, float]
    degraded: torch.Tensor
    mask: torch.Tensor
    restored: torch.Tensor
    target: torch.Tensor


class RestoreTrainer:
    """Alternating D and G steps with EMA of G, AMP on CUDA, gradient clipping and exact resume."""

    def __init__(self, config: RestoreTrainConfig, *, progress: bool = True) -> None:
        self.config = config
        self.progress = progress
        self.device = select_device(config.device)
        torch.manual_seed(config.seed)
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
        self.amp_dtype = autocast_dtype(self.device) if optim.amp else None
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.perceptual = self._perceptual_loss()
        files = list_images(config.data.roots)
        self.train_files, self.val_files = split_holdout(files, config.data.holdout_every)
        self.step = 0

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

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None)

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
            self.discriminator.requires_grad_(True)
            with self._autocast():
                d_loss = discriminator_loss(loss_cfg.gan, self._discriminate(degraded, target),
                                            self._discriminate(degraded, restored.detach()))
            if loss_cfg.r1 and self.step % loss_cfg.r1_every == 0:
                penalty = r1_penalty(lambda x: self._discriminate(degraded, x).float(), target)
                d_loss = d_loss + loss_cfg.r1 * loss_cfg.r1_every * penalty
                losses["d/r1"] = penalty.item()
            if loss_cfg.gradient_penalty:
                penalty = gradient_penalty(lambda x: self._discriminate(degraded, x).float(), target, restored)
                d_loss = d_loss + loss_cfg.gradient_penalty * penalty
                losses["d/gp"] = penalty.item()
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler.scale(d_loss).backward()
            self._clip_and_step(self.opt_d, self.discriminator.parameters())
            losses["d/loss"] = d_loss.item()

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
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(g_loss).backward()
        self._clip_and_step(self.opt_g, [*self.generator.parameters(), *self.mask_net.parameters()])
        self.scaler.update()
        self.ema_generator.update(self.generator)
        self.ema_mask_net.update(self.mask_net)
        losses["g/loss"] = g_loss.item()
        self.step += 1
        return StepResult(losses, degraded, mask_in, restored_f.detach(), target)

    def _set_learning_rates(self) -> None:
        """Warm-up + cosine schedule, a pure function of the step (so resume needs no scheduler state)."""
        optim = self.config.optim
        factor = warmup_cosine(self.step, warmup=optim.warmup, total=optim.steps)
        for optimizer, base in ((self.opt_g, optim.lr_g), (self.opt_d, optim.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = base * factor

    def _clip_and_step(self, optimizer: torch.optim.Optimizer, params) -> None:
        self.scaler.unscale_(optimizer)
        if self.config.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(list(params), self.config.optim.grad_clip)
        self.scaler.step(optimizer)

    def data_loader(self) -> DataLoader:
        """A loader that resumes at the first sample the current step has not seen."""
        data = self.config.data
        dataset = DegradationPairs(self.train_files, crop=data.crop, scale_range=data.scale_range,
                                   degradation=DEGRADATION_PRESETS[data.degradation], seed=self.config.seed)
        return DataLoader(dataset, batch_size=data.batch_size, sampler=CountingSampler(self.step * data.batch_size),
                          num_workers=data.workers, pin_memory=self.device.type == "cuda",
                          persistent_workers=data.workers > 0, prefetch_factor=4 if data.workers else None,
                          worker_init_fn=single_threaded_worker)

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

    def state_dict(self) -> dict:
        return {
            "step": self.step, "config": to_dict(self.config), "version": __version__,
            "generator": self.generator.state_dict(), "mask_net": self.mask_net.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "ema_generator": self.ema_generator.state_dict(), "ema_mask_net": self.ema_mask_net.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.step = state["step"]
        for name in ("generator", "mask_net", "discriminator", "ema_generator", "ema_mask_net",
                     "opt_g", "opt_d", "scaler"):
            getattr(self, name).load_state_dict(state[name])

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.config.out_dir) / CHECKPOINT_NAME

    def resume_if_possible(self) -> bool:
        """Load ``out_dir/checkpoint.pt`` if it exists; True if it did."""
        if not self.checkpoint_path.is_file():
            return False
        self.load_state_dict(load_checkpoint(self.checkpoint_path))
        return True

    def fit(self, max_minutes: float | None = None) -> None:
        """Train until ``optim.steps`` (or ``max_minutes`` of wall time), logging, validating and checkpointing."""
        cfg = self.config
        log = TrainingLog(cfg.out_dir)
        started = time.monotonic()
        batches = iter(self.data_loader())
        try:
            with progress_bar(self.progress) as bar:
                task = bar.add_task(f"train {cfg.name}", total=cfg.optim.steps, completed=self.step, status="")
                while self.step < cfg.optim.steps:
                    result = self.train_step(next(batches))
                    bar.update(task, completed=self.step, status=f"G {result.losses['g/loss']:.4f}")
                    if self.step % cfg.log_every == 0 or self.step == cfg.optim.steps:
                        log.scalars({**result.losses, "lr/g": self.opt_g.param_groups[0]["lr"]}, self.step)
                        if not self.progress:
                            rate = self.step / max(1e-9, time.monotonic() - started)
                            print(f"step {self.step} ({rate:.1f} it/s since start) "
                                  + " ".join(f"{k} {v:.4f}" for k, v in result.losses.items()), flush=True)
                    if self.step % cfg.image_every == 0:
                        log.images("train/degraded|mask|restored|target",
                                   [result.degraded, result.mask, result.restored, result.target], self.step)
                    if self.step % cfg.validate_every == 0:
                        metrics = self.validate()
                        log.scalars(metrics, self.step)
                        if metrics:
                            bar.console.print(f"step {self.step}: " + ", ".join(f"{k} {v:.2f}" for k, v in metrics.items()))
                    if self.step % cfg.checkpoint_every == 0:
                        self.save()
                    if max_minutes is not None and time.monotonic() - started > max_minutes * 60:
                        break
        finally:
            log.close()
        self.save()

    def save(self) -> None:
        """Checkpoint for resume, plus the exported EMA weights of both networks."""
        save_checkpoint(self.state_dict(), self.checkpoint_path)
        self.export(Path(self.config.out_dir) / "export")

    def export(self, folder: str | Path) -> list[ModelCard]:
        """Write the EMA generator and mask net as safetensors + model cards, ready for the registry."""
        folder = Path(folder)
        cfg = self.config
        device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"
        common = dict(
            version=__version__, task="restore", data=[*cfg.data.roots], steps=self.step, device=device_name,
            training={"config": to_dict(cfg), "train_images": len(self.train_files), "val_images": len(self.val_files)},
        )
        generator_card = ModelCard(name=cfg.name, arch="RestoreGenerator",
                                   kwargs=_kwargs_of(self.generator, cfg.generator), **common)
        mask_card = ModelCard(name="damage-mask", arch="DamageMaskNet",
                              kwargs=_kwargs_of(self.mask_net, cfg.mask_net), **common)
        return [
            save_model(self.ema_generator.shadow, folder / f"{cfg.name}.safetensors", generator_card),
            save_model(self.ema_mask_net.shadow, folder / "damage-mask.safetensors", mask_card),
        ]


def _kwargs_of(model: nn.Module, given: dict) -> dict:
    """The constructor kwargs a checkpoint must store: the defaults of the architecture overridden by ``given``."""
    import inspect

    defaults = {name: p.default for name, p in inspect.signature(type(model).__init__).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in {**defaults, **given}.items()}
