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


def load_teacher(teacher_file: str | Path, device: torch.device) -> EfficientNetLite0:
    """The frozen EfficientNet-Lite0 teacher from its safetensors (a ConfigError when the file is missing)."""
    path = Path(teacher_file)
    if not path.is_file():
        raise ConfigError(f"semantic teacher {path}: no such file (EfficientNet-Lite0 safetensors)")
    teacher = EfficientNetLite0().to(device).eval().requires_grad_(False)
    teacher.load_state_dict(load_file(path, device=str(device)))
    return teacher


def teach(teacher: EfficientNetLite0, colour: torch.Tensor) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """The teacher's feature maps and class logits of sRGB ``colour`` (N, 3, H, W) in [0, 1]."""
    with torch.no_grad():
        taught = teacher.features(imagenet_input(colour.float()))
        return taught, teacher.classify(taught[32])


def standardised(features: torch.Tensor) -> torch.Tensor:
    """Teacher features with each channel standardised over the batch and its positions."""
    mean, std = features.mean(dim=(0, 2, 3), keepdim=True), features.std(dim=(0, 2, 3), keepdim=True)
    return (features - mean) / std.clamp_min(1e-3)


def feature_loss(predicted: dict[int, torch.Tensor], taught: dict[int, torch.Tensor]) -> torch.Tensor:
    """Mean over the strides of ``predicted`` of the MSE to the teacher's standardised maps of that stride
    (a prediction of another size is resized to the teacher's first)."""
    total = []
    for stride, prediction in predicted.items():
        target = standardised(taught[stride])
        if prediction.shape[-2:] != target.shape[-2:]:
            prediction = F.interpolate(prediction, size=target.shape[-2:], mode="bilinear", align_corners=False)
        total.append(F.mse_loss(prediction.float(), target))
    return torch.stack(total).mean()


def class_loss(logits: torch.Tensor, taught_logits: torch.Tensor) -> torch.Tensor:
    """KL of the predicted ImageNet class distribution from the teacher's, both at ``TEMPERATURE``."""
    return F.kl_div(F.log_softmax(logits.float() / TEMPERATURE, dim=1), F.log_softmax(taught_logits / TEMPERATURE,
                    dim=1), log_target=True, reduction="batchmean") * TEMPERATURE**2


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
        self.teacher_file = Path(teacher_file)
        self.teacher = load_teacher(self.teacher_file, device)
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
        taught, taught_classes = teach(self.teacher, colour)
        student = {stride: self.tapped[stride].float() for stride in STRIDES}

        def features() -> torch.Tensor:
            predicted = {stride: self.heads.features[str(stride)](student[stride]) for stride in STRIDES}
            return feature_loss(predicted, taught)

        def classes() -> torch.Tensor:
            return class_loss(self.heads.classes(student[STRIDES[-1]].mean(dim=(2, 3))), taught_classes)

        return {"semantic_features": features, "semantic_classes": classes}


__all__ = ["SemanticDistillation", "SemanticHeads", "class_loss", "encoder_level", "feature_loss", "load_teacher",
           "standardised", "teach"]
