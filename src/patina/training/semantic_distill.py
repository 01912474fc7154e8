"""Semantic distillation for the colorizer: its encoder learns what EfficientNet-Lite0 sees in the photo.

The colorizer sees only L*; the teacher (an ImageNet classifier, never shipped) sees the colour photo. Two
1x1 heads map the colorizer's U-Net encoder features at 1/8 and 1/16 of the input to the teacher's feature
channels there (40 and 112), compared with the teacher's features standardised per channel (MSE), and a
linear head on the pooled 1/16 features predicts the teacher's ImageNet class distribution (KL at
``TEMPERATURE``): what is in the picture, learnt from the colour photo, must be recognised from its gray
version. The heads are trained with the generator and dropped on export.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

from patina.core.errors import ConfigError
from patina.networks import ColorizeGenerator
from patina.networks.efficientnet import FEATURE_CHANNELS, EfficientNetLite0, imagenet_input
from patina.training.loss_terms import LossTerm

STRIDES = (8, 16)
"""Feature strides distilled (the teacher's 1/8 and 1/16 maps); the class head reads the deepest."""
TEMPERATURE = 2.0
"""Softmax temperature of the class distillation."""


def encoder_level(generator: ColorizeGenerator, stride: int) -> int:
    """The U-Net encoder level whose features are at 1/``stride`` of the input (a ConfigError if none)."""
    level = math.log2(stride / generator.unshuffle)
    if not level.is_integer() or not 0 <= level < len(generator.body.encoders):
        raise ConfigError(f"semantic distillation needs a U-Net level at 1/{stride} of the input; this generator "
                          f"(unshuffle {generator.unshuffle}, {len(generator.body.encoders)} levels) has none")
    return int(level)


class SemanticHeads(nn.Module):
    """1x1 convs from the encoder levels to the teacher's channels, and the class head on the deepest one."""

    def __init__(self, generator: ColorizeGenerator, classes: int = 1000) -> None:
        super().__init__()
        widths = generator.body.widths
        self.levels = levels = {stride: encoder_level(generator, stride) for stride in STRIDES}
        self.features = nn.ModuleDict({str(stride): nn.Conv2d(widths[level], FEATURE_CHANNELS[stride], 1)
                                       for stride, level in levels.items()})
        self.classes = nn.Linear(widths[levels[STRIDES[-1]]], classes)


class SemanticDistillation:
    """The teacher, the heads and the taps on the generator's encoder: :meth:`terms` gives the two loss terms."""

    def __init__(self, teacher_file: str | Path, generator: ColorizeGenerator, device: torch.device) -> None:
        path = Path(teacher_file)
        if not path.is_file():
            raise ConfigError(f"semantic_teacher {path}: no such file (EfficientNet-Lite0 safetensors)")
        self.teacher_file = path
        self.teacher = EfficientNetLite0().to(device).eval().requires_grad_(False)
        self.teacher.load_state_dict(load_file(path, device=str(device)))
        self.heads = SemanticHeads(generator).to(device)
        self.tapped: dict[int, torch.Tensor] = {}
        for stride, level in self.heads.levels.items():
            generator.body.encoders[level].register_forward_hook(self._tap(stride))

    def _tap(self, stride: int) -> Callable[[nn.Module, object, torch.Tensor], None]:
        """A forward hook keeping the output of the encoder level at 1/``stride``."""

        def keep(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
            self.tapped[stride] = output
        return keep

    def terms(self, colour: torch.Tensor) -> dict[str, LossTerm]:
        """The loss terms for the generator forward just run, against the teacher on ``colour`` (N, 3, H, W)."""
        with torch.no_grad():
            taught = self.teacher.features(imagenet_input(colour.float()))
            taught_classes = self.teacher.classify(taught[32])
        student = {stride: self.tapped[stride].float() for stride in STRIDES}

        def features() -> torch.Tensor:
            total = colour.new_zeros(())
            for stride in STRIDES:
                target = taught[stride]
                target = (target - target.mean(dim=(0, 2, 3), keepdim=True)) / target.std(
                    dim=(0, 2, 3), keepdim=True).clamp_min(1e-3)
                predicted = self.heads.features[str(stride)](student[stride])
                if predicted.shape[-2:] != target.shape[-2:]:
                    predicted = F.interpolate(predicted, size=target.shape[-2:], mode="bilinear", align_corners=False)
                total = total + F.mse_loss(predicted, target)
            return total / len(STRIDES)

        def classes() -> torch.Tensor:
            logits = self.heads.classes(student[STRIDES[-1]].mean(dim=(2, 3)))
            return F.kl_div(F.log_softmax(logits / TEMPERATURE, dim=1), F.log_softmax(taught_classes / TEMPERATURE,
                            dim=1), log_target=True, reduction="batchmean") * TEMPERATURE**2

        return {"semantic_features": features, "semantic_classes": classes}


__all__ = ["SemanticDistillation", "SemanticHeads", "encoder_level"]
