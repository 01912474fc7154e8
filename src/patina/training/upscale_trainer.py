"""Super-resolution training: a fidelity upscaler on L1 alone, a GAN upscaler (Real-ESRGAN recipe), or a
student distilled from teacher upscalers.

Fidelity (``loss.adversarial`` 0): bicubic-downscaled pairs, L1, no discriminator. GAN: second-order
degraded pairs, L1 and perceptual losses on the unsharp-masked target, and a U-Net discriminator with
spectral norm judging every pixel, switched on after ``loss.gan_start`` steps of L1 only (the
"Real-ESRNet" warm start). Distillation (a ``teachers`` section): cached samples of
:mod:`patina.training.teacher_cache`; L1 and perceptual distance to the teachers' output
(``loss.teacher_pixel``, ``loss.teacher_perceptual``) and their SSIM (``loss.teacher_ssim``: an L1 student is
smoother than its teacher), L1, SSIM and perceptual distance to the ground truth where it exists
(``loss.pixel``, ``loss.ssim``, ``loss.perceptual``), and D judging the student against the teachers' output
(``loss.adversarial``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from patina.core.errors import ConfigError
from patina.losses import ssim_loss
from patina.networks import ARCHITECTURES, UNetDiscriminator
from patina.networks.upscale import CompactUpscaler, divide_scale, fold_unshuffle
from patina.ops.metrics import psnr_y, ssim_y
from patina.ops.resize import imresize
from patina.training.config import UpscaleTrainConfig
from patina.training.datasets import UpscalePairs
from patina.training.loss_terms import LossTerm
from patina.training.teacher_cache import CacheSpec, DistillationCrops, TeacherCache
from patina.training.teachers import teacher_entry
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard
from patina.weights.external import load_external

UPSCALERS = ("CompactUpscaler", "ResidualUpscaler", "RRDBNet")
VALIDATION_SEED = 12345
"""Seed of the held-out crops, so that every validation scores the same ones."""


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
        self.perceptual = self.perceptual_loss(config.loss.perceptual + config.loss.teacher_perceptual)
        self.teacher_outputs: dict[str, list[Path]] = {}
        if config.teachers is not None:
            self.teacher_outputs = {split: self._cached_teachers(split) for split in ("train", "val")}

    def _cache(self, split: str) -> TeacherCache:
        """The teacher cache of the training (``train``) or held-out (``val``) photos."""
        cfg = self.config
        assert cfg.teachers is not None
        files, crops, stream = ((self.train_files, cfg.teachers.crops, 0) if split == "train"
                                else (self.val_files, cfg.teachers.val_crops, 1))
        spec = CacheSpec(tuple(files), crops, cfg.teachers.input_size, cfg.scale, cfg.teachers.real_share,
                         cfg.seed + 1000 * stream)
        return TeacherCache(cfg.teachers.cache, spec)

    def _cached_teachers(self, split: str) -> list[Path]:
        """The cached outputs of every teacher on the samples of ``split`` (computed by the main process)."""
        assert self.config.teachers is not None
        cache, outputs = self._cache(split), []
        for name in self.config.teachers.files:
            digest = teacher_entry(name)["sha256"]
            path = cache.teacher_file(digest)
            if self.is_main and not path.is_file():
                teacher, _card = load_external(name)
                path = cache.teacher_outputs(teacher, digest, progress=self.progress)
            outputs.append(path)
        self.group.barrier()
        return outputs

    def teacher_files(self) -> list[Path]:
        """The perceptual loss's teacher and, for distillation, the teacher upscalers."""
        teachers = [Path(name) for name in self.config.teachers.files] if self.config.teachers else []
        return super().teacher_files() + teachers

    def initialise_from(self, path: Path) -> None:
        """Start from a trained generator of the same arch. For a configured CompactUpscaler without unshuffle, a
        source at another scale is converted first: a x2 net with a pixel-unshuffle is folded into the x4 layout
        (see `fold_unshuffle`), a x4 net becomes a x2 one that averages its output's 2x2 blocks (`divide_scale`)."""
        source = init_source(path, self.config.arch)
        plain = self.config.generator.get("unshuffle", 1) == 1
        if isinstance(source, CompactUpscaler) and plain and source.scale != self.config.scale:
            if source.unshuffle > 1 and source.scale * source.unshuffle == self.config.scale:
                source = fold_unshuffle(source)
            elif source.unshuffle == 1 and source.scale % self.config.scale == 0:
                source = divide_scale(source, source.scale // self.config.scale)
        load_init_state(self.generator, source.state_dict(), path, "generator")

    def _pairs(self, files: list[Path], *, crop: int, scale_range: tuple[float, float], seed: int) -> UpscalePairs:
        cfg = self.config
        return UpscalePairs(files, crop=crop, scale_range=scale_range, scale=cfg.scale, degradation=cfg.degradation,
                            sharpen_target=cfg.sharpen_target, seed=seed)

    def training_set(self) -> UpscalePairs | DistillationCrops:
        """Low/high-resolution pairs of the training images (for distillation, the cached samples)."""
        if self.config.teachers is not None:
            return self._distillation_set("train")
        data = self.config.data
        return self._pairs(self.train_files, crop=data.crop, scale_range=data.scale_range, seed=self.config.seed)

    def _distillation_set(self, split: str) -> DistillationCrops:
        """The cached samples of ``split``; the training ones drawn by detail when ``teachers.detail_power``
        says so, the held-out ones always all alike."""
        assert self.config.teachers is not None
        training = split == "train"
        return DistillationCrops(self._cache(split), self.teacher_outputs[split],
                                 seed=self.config.seed if training else VALIDATION_SEED,
                                 detail_power=self.config.teachers.detail_power if training else 0.0)

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """The upscaled input; L1 and perceptual losses against the (sharpened) target, D sees the plain one
        (for distillation, :meth:`distill`)."""
        if "teacher" in batch:
            return self.distill(batch, rng)
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

    def distill(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """The student's output against the teachers' (L1, SSIM, perceptual, the last on a random square of
        ``loss.perceptual_crop``; D's real samples) and against the ground truth where a sample has one (L1,
        SSIM, perceptual on the same square)."""
        low, target, teacher = (batch[k].to(self.device, non_blocking=True) for k in ("input", "target", "teacher"))
        with_target = batch["has_target"].to(self.device).bool()
        with self.autocast():
            upscaled = self.generator(low)
        upscaled_f = upscaled.float()
        terms: dict[str, LossTerm] = {
            "teacher_pixel": lambda: F.l1_loss(upscaled_f, teacher),
            "teacher_ssim": lambda: ssim_loss(upscaled_f, teacher),
        }
        perceptual = self.perceptual
        window = _random_square(upscaled_f.shape[-2:], self.config.loss.perceptual_crop, rng)
        if perceptual is not None:
            terms["teacher_perceptual"] = lambda: self._perceptual_in_autocast(perceptual, upscaled_f[window],
                                                                               teacher[window])
        if bool(with_target.any()):
            student, truth = upscaled_f[with_target], target[with_target]
            terms["pixel"] = lambda: F.l1_loss(student, truth)
            terms["ssim"] = lambda: ssim_loss(student, truth)
            if perceptual is not None:
                terms["perceptual"] = lambda: self._perceptual_in_autocast(perceptual, student[window], truth[window])
        nearest = F.interpolate(low, scale_factor=self.config.scale, mode="nearest")
        return Generated(terms=terms, images=[nearest, upscaled_f.detach(), teacher],
                         label="train/input|student|teacher", real=teacher, fake=upscaled,
                         discriminate=lambda image: self.gan.discriminator(image))

    def _perceptual_in_autocast(self, perceptual: torch.nn.Module, image: torch.Tensor,
                                reference: torch.Tensor) -> torch.Tensor:
        """The VGG distance under the run's autocast (with ``optim.amp``, bf16: twice as fast on a CPU that has it)."""
        with self.autocast():
            return perceptual(image, reference).float()

    @torch.no_grad()
    def validate(self, limit: int = 8) -> dict[str, float]:
        """Y-channel PSNR of the EMA generator and of bicubic upscaling on held-out crops degraded as in training
        (for distillation: of the student and the teachers against the ground truth, and student to teachers)."""
        if not self.val_files:
            return {}
        if self.config.teachers is not None:
            return self._validate_distillation()
        scale = self.config.scale
        crop = max(scale * 8, 256 // (scale * 8) * scale * 8)
        dataset = self._pairs(self.val_files, crop=crop, scale_range=(1.0, 1.0), seed=VALIDATION_SEED)
        model, bicubic = [], []
        for index in range(limit):
            item = dataset[index]
            low, target = item["input"][None].to(self.device), item["target"][None].to(self.device)
            model.append(psnr_y(self.ema_generator.shadow(low).float(), target, border=scale))
            bicubic.append(psnr_y(imresize(low, float(scale)), target, border=scale))
        return {"val/psnr_y_model": float(np.mean(model)), "val/psnr_y_bicubic": float(np.mean(bicubic))}

    def _validate_distillation(self) -> dict[str, float]:
        scale, dataset = self.config.scale, self._distillation_set("val")
        scores: dict[str, list[float]] = {"model": [], "teacher": [], "bicubic": [], "model_to_teacher": []}
        structure: list[float] = []
        for index in range(len(dataset.inputs)):
            sample = {key: value[None].to(self.device) for key, value in dataset.sample(index).items()}
            low, teacher, target = sample["input"], sample["teacher"], sample["target"]
            student = self.ema_generator.shadow(low).float().clamp(0, 1)
            scores["model_to_teacher"].append(psnr_y(student, teacher, border=scale))
            structure.append(ssim_y(student, teacher, border=scale))
            if bool(sample["has_target"]):
                scores["model"].append(psnr_y(student, target, border=scale))
                scores["teacher"].append(psnr_y(teacher, target, border=scale))
                scores["bicubic"].append(psnr_y(imresize(low, float(scale)), target, border=scale))
        return {**{f"val/psnr_y_{key}": float(np.mean(values)) for key, values in scores.items() if values},
                "val/ssim_y_model_to_teacher": float(np.mean(structure))}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """Write the EMA generator as safetensors + model card."""
        cfg = self.config
        return [self.save_network(self.ema_generator.shadow, folder, name=cfg.name, arch=cfg.arch,
                                  kwargs=kwargs_of(self.generator, {**cfg.generator, "scale": cfg.scale}),
                                  train_images=len(self.train_files), val_images=len(self.val_files),
                                  degradation=cfg.degradation)]


def _random_square(size: torch.Size, side: int, rng: np.random.Generator) -> tuple[Any, ...]:
    """Index of a random ``side`` x ``side`` square of images of ``size`` (height, width): all of them when
    ``side`` is 0 or not smaller."""
    height, width = size
    if not side or side >= min(height, width):
        return (Ellipsis,)
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    return (Ellipsis, slice(top, top + side), slice(left, left + side))
