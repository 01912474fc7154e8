"""Distillation of the compact style encoder from the VGG19 relu3_1 teacher (no discriminator).

The student (:class:`StyleEncoder`) and 1x1 adapters to the teacher's channels are trained so that the
adapted relu1_1, relu2_1 and relu3_1 features match the teacher's (MSE relative to the teacher's energy)
and so do their channel means and standard deviations, which is what AdaIN fuses. Crops are randomly
re-coloured so that the student also sees saturated and flat palettes, as paintings have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from patina.losses import VGGTeacher
from patina.networks.stylize import FeatureAdapters, StyleEncoder
from patina.ops.fusion import mean_std
from patina.training.config import EncoderDistillConfig
from patina.training.datasets import CleanCrops
from patina.training.loss_terms import LossTerms
from patina.training.trainer import Generated, Trainer, kwargs_of
from patina.weights import ModelCard

LAYERS = ("relu1_1", "relu2_1", "relu3_1")


def channel_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel spatial mean and standard deviation, as AdaIN computes them (:func:`mean_std`): (N, C) each."""
    mean, std = mean_std(features)
    return mean.flatten(1), std.flatten(1)


def distillation_losses(student: list[torch.Tensor],
                        teacher: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer: feature MSE relative to the teacher's mean square, and the relative L1 error of the channel
    means and standard deviations."""
    feature, statistics = [], []
    for s, t in zip(student, teacher, strict=True):
        feature.append((s - t).pow(2).mean() / t.pow(2).mean().clamp_min(1e-8))
        (s_mean, s_std), (t_mean, t_std) = channel_statistics(s), channel_statistics(t)
        scale = t_mean.abs().mean() + t_std.mean()
        statistics.append(((s_mean - t_mean).abs().mean() + (s_std - t_std).abs().mean()) / scale.clamp_min(1e-8))
    return feature, statistics


def layer_sum(values: list[torch.Tensor]) -> torch.Tensor:
    """``values[0] + values[1] + ...`` (the builtin ``sum`` would start from the int 0)."""
    return sum(values[1:], values[0])


def jitter_colour(images: torch.Tensor, strength: float) -> torch.Tensor:
    """Random saturation (0.3..1.7 at strength 1) and contrast (0.6..1.4) per sample."""
    if strength <= 0:
        return images
    n = images.shape[0]
    rand = lambda: torch.rand(n, 1, 1, 1, device=images.device)  # noqa: E731
    gray = images.mean(dim=1, keepdim=True)
    images = gray + (images - gray) * (1 + (rand() * 2 - 1) * 0.7 * strength)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return (mean + (images - mean) * (1 + (rand() * 2 - 1) * 0.4 * strength)).clamp(0, 1)


class EncoderDistiller(Trainer):
    """Student encoder + adapters against the frozen teacher (no discriminator, no EMA)."""

    task = "stylize"

    def __init__(self, config: EncoderDistillConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        self.encoder = StyleEncoder(**config.generator).to(self.device)
        first, second, third = self.encoder.widths  # a StyleEncoder has three stages
        self.adapters = FeatureAdapters(widths=(first, second, third)).to(self.device)
        self.teacher = VGGTeacher.from_file(config.teacher).to(self.device)
        self.train_generator({"encoder": self.encoder, "adapters": self.adapters}, ema=False)
        self.loss_terms = LossTerms({"feature": 1.0, "statistics": config.statistics_weight})
        self.scales = self._teacher_scales()

    @torch.no_grad()
    def _teacher_scales(self, samples: int = 8) -> list[float]:
        """RMS of each teacher layer on the first training crops: the teacher's features (hundreds, from its
        0..255 input) are divided by these, so the adapters start at the right magnitude."""
        crops = self.training_set()
        batch = torch.stack([crops[i]["target"] for i in range(samples)]).to(self.device)
        return [float(f.pow(2).mean().sqrt().clamp_min(1e-6)) for f in self.teacher(batch)]

    def _targets(self, images: torch.Tensor) -> list[torch.Tensor]:
        return [f / scale for f, scale in zip(self.teacher(images), self.scales, strict=True)]

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """The adapted student features of re-coloured crops against the teacher's: feature MSE and
        statistics error summed over the layers (each layer's also logged)."""
        images = jitter_colour(batch["target"].to(self.device, non_blocking=True), self.config.colour_jitter)
        with torch.no_grad():
            targets = self._targets(images)
        feature, statistics = distillation_losses(self.adapters(self.encoder(images)), targets)
        logged = {f"g/feature_{name}": f.item() for name, f in zip(LAYERS, feature, strict=True)}
        logged.update({f"g/statistics_{name}": s.item() for name, s in zip(LAYERS, statistics, strict=True)})
        return Generated(terms={"feature": layer_sum(feature), "statistics": layer_sum(statistics)}, images=[images],
                         label="train/input", logged=logged)

    @torch.no_grad()
    def validate(self, limit: int = 16) -> dict[str, float]:
        """Relative feature MSE and statistics error per layer on held-out 256 px crops."""
        if not self.val_files:
            return {}
        dataset = CleanCrops(self.val_files, crop=256, scale_range=(1.0, 1.0), seed=12345)
        rows = []
        for index in range(limit):
            image = dataset[index]["target"][None].to(self.device)
            feature, statistics = distillation_losses(self.adapters(self.encoder(image)), self._targets(image))
            rows.append([f.item() for f in feature] + [s.item() for s in statistics])
        means = np.mean(rows, axis=0)
        names = [f"val/feature_{n}" for n in LAYERS] + [f"val/statistics_{n}" for n in LAYERS]
        return {name: float(value) for name, value in zip(names, means, strict=True)}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """The encoder (the adapters are only for distilling) as safetensors + card with held-out errors."""
        cfg = self.config
        return [self.save_network(self.encoder, folder, name=cfg.name, arch="StyleEncoder",
                                  kwargs=kwargs_of(self.encoder, cfg.generator), train_images=len(self.train_files),
                                  teacher=Path(cfg.teacher).name, held_out=self.validate())]
