"""Distillation of the semantic encoder (:class:`SemanticEncoder`) from EfficientNet-Lite0 (no discriminator).

The teacher sees the colour photo, the student only its randomly faded L*, as the colorizer does; the
student's heads predict the teacher's feature maps at 1/8, 1/16 and 1/32 (standardised per channel, MSE) and
a training-only linear head on its pooled 1/32 features the teacher's ImageNet class distribution (KL). The
photos are the colorizer's colour photos with its held-out split, so the colorizer's calibration photos stay
unseen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from patina.networks.semantic import SemanticEncoder
from patina.ops.color import split_lab
from patina.training.colorize_trainer import colour_split, jitter_light
from patina.training.config import SemanticEncoderTrainConfig
from patina.training.datasets import CleanCrops
from patina.training.loss_terms import LossTerm
from patina.training.semantic_distill import class_loss, feature_loss, load_teacher, teach
from patina.training.trainer import Generated, Trainer, init_source, kwargs_of, load_init_state
from patina.weights import ModelCard

VALIDATION_CROP = 192


class SemanticEncoderTrainer(Trainer):
    """Student encoder + class head against the frozen teacher. No EMA: averaged weights do not fit the batch
    norms' running statistics, which are the live network's (an EMA at decay 0.998 scored 0.93 where the live
    encoder scored 0.70, mid-run)."""

    task = "semantic-encoder"

    def __init__(self, config: SemanticEncoderTrainConfig, *, progress: bool = True) -> None:
        super().__init__(config, progress=progress)
        self.encoder = SemanticEncoder(**config.generator).to(self.device)
        # the class head is for distilling only, never exported
        self.class_head = nn.Linear(self.encoder.trunk_channels[32], 1000).to(self.device)
        self.teacher = load_teacher(config.teacher, self.device)
        self.train_generator({"encoder": self.encoder, "class_head": self.class_head}, ema=False)

    def initialise_from(self, path: Path) -> None:
        """The encoder's weights from an exported semantic encoder; the class head starts afresh."""
        load_init_state(self.encoder, init_source(path, "SemanticEncoder").state_dict(), path, "semantic encoder")

    def list_training_files(self) -> tuple[list[Path], list[Path]]:
        """The colorizer's colour photos and held-out split (:func:`colour_split`)."""
        train, held_out, _, _ = colour_split(self.config)
        return train, held_out

    def _scores(self, encoder: SemanticEncoder, light: torch.Tensor, colour: torch.Tensor) -> dict[str, torch.Tensor]:
        """Feature MSE and class KL of ``encoder`` on ``light`` against the teacher on ``colour``, and how often
        their top classes agree."""
        taught, taught_classes = teach(self.teacher, colour)
        with self.autocast():
            trunk = encoder.trunk(light)
            predicted = {stride: encoder.heads[str(stride)](features) for stride, features in trunk.items()}
            logits = self.class_head(trunk[32].float().mean(dim=(2, 3)))
        return {"features": feature_loss(predicted, taught), "classes": class_loss(logits, taught_classes),
                "agreement": (logits.argmax(dim=1) == taught_classes.argmax(dim=1)).float().mean()}

    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """The teacher on the colour crops, the student on their faded luminance."""
        colour = batch["target"].to(self.device, non_blocking=True)
        light = jitter_light(split_lab(colour)[0], self.config.light_jitter)
        scores = self._scores(self.encoder, light, colour)
        terms: dict[str, LossTerm] = {"features": scores["features"], "classes": scores["classes"]}
        return Generated(terms=terms, images=[light.expand(-1, 3, -1, -1), colour], label="train/input|teacher",
                         logged={"g/class_agreement": scores["agreement"].item()})

    @torch.no_grad()
    def validate(self, limit: int = 32) -> dict[str, float]:
        """The encoder (in eval mode) on held-out crops (not faded): feature MSE (predicting zeros scores about
        1), class KL, and how often its top ImageNet class is the teacher's."""
        if not self.val_files:
            return {}
        dataset = CleanCrops(self.val_files, crop=VALIDATION_CROP, scale_range=(0.6, 0.6), seed=12345)
        colour = torch.stack([dataset[index]["target"] for index in range(limit)]).to(self.device)
        self.encoder.eval()
        scores = self._scores(self.encoder, split_lab(colour)[0], colour)
        self.encoder.train()
        return {f"val/{name}": float(value) for name, value in scores.items()}

    def export(self, folder: str | Path) -> list[ModelCard]:
        """The encoder (the class head is only for distilling) as safetensors + card with held-out scores."""
        cfg = self.config
        held_out = self.validate()
        return [self.save_network(self.encoder, folder, name=cfg.name, arch="SemanticEncoder",
                                  kwargs=kwargs_of(self.encoder, cfg.generator), train_images=len(self.train_files),
                                  val_images=len(self.val_files), held_out=held_out)]

    def teacher_files(self) -> list[Path]:
        """EfficientNet-Lite0."""
        return [Path(self.config.teacher)]
