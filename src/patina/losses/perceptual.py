"""Perceptual and style losses on the VGG19 relu1_1..relu3_1 teacher (training only; weights from outside)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

from patina.core.errors import ModelNotFoundError

TEACHER_FILE = "vgg_normalised_conv3_1.pth"
INVERTER_FILE = "feature_invertor_conv3_1.pth"
FEATURE_LAYERS = ("relu1_1", "relu2_1", "relu3_1")
M = TypeVar("M", bound=nn.Module)


def _load_sequential(model: M, path: str | Path, names: dict[str, str], what: str) -> M:
    """Load a plain nn.Sequential state dict into ``model`` (``names``: Sequential index -> module name), frozen."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: {what} weights not found")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict({f"{names[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in state.items()})
    model.requires_grad_(False)
    return model.eval()


class VGGTeacher(nn.Module):
    """VGG19 (normalised variant) cut at relu3_1, built from the teacher's plain state dict.

    Input: RGB in [0, 1]. The first 1x1 conv converts to mean-subtracted BGR in 0..255, as in the original.
    ``forward`` returns the relu1_1, relu2_1 and relu3_1 activations.
    """

    def __init__(self) -> None:
        super().__init__()
        self.normalise = nn.Conv2d(3, 3, 1)
        self.conv1_1 = nn.Conv2d(3, 64, 3)
        self.conv1_2 = nn.Conv2d(64, 64, 3)
        self.conv2_1 = nn.Conv2d(64, 128, 3)
        self.conv2_2 = nn.Conv2d(128, 128, 3)
        self.conv3_1 = nn.Conv2d(128, 256, 3)

    @classmethod
    def from_file(cls, path: str | Path) -> VGGTeacher:
        """Load the teacher's state dict (Sequential indices 0, 2, 5, 9, 12, 16) and freeze it."""
        names = {"0": "normalise", "2": "conv1_1", "5": "conv1_2", "9": "conv2_1", "12": "conv2_2", "16": "conv3_1"}
        return _load_sequential(cls(), path, names, "VGG teacher")

    @staticmethod
    def _conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        return F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect")))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.normalise(x)
        relu1_1 = self._conv(self.conv1_1, x)
        x = F.max_pool2d(self._conv(self.conv1_2, relu1_1), 2)
        relu2_1 = self._conv(self.conv2_1, x)
        x = F.max_pool2d(self._conv(self.conv2_2, relu2_1), 2)
        relu3_1 = self._conv(self.conv3_1, x)
        return [relu1_1, relu2_1, relu3_1]


class TeacherInverter(nn.Module):
    """The teacher's relu3_1 feature inverter (256 channels -> RGB in about [0, 1]; conv, nearest x2 upsampling,
    reflect padding, ReLU), built from its plain state dict: the plain-AdaIN baseline of `patina eval stylize`."""

    LAYOUT = {"1": 0, "5": 1, "8": 2, "12": 3, "15": 4}  # Sequential index in the state dict -> conv number

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(256, 128, 3), nn.Conv2d(128, 128, 3), nn.Conv2d(128, 64, 3),
                                    nn.Conv2d(64, 64, 3), nn.Conv2d(64, 3, 3)])

    @classmethod
    def from_file(cls, path: str | Path) -> TeacherInverter:
        """Load the inverter's state dict (Sequential indices 1, 5, 8, 12, 15) and freeze it."""
        return _load_sequential(cls(), path, {k: f"convs.{v}" for k, v in cls.LAYOUT.items()}, "teacher inverter")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features
        for index, conv in enumerate(self.convs):
            x = conv(F.pad(x, (1, 1, 1, 1), mode="reflect"))
            if index < len(self.convs) - 1:
                x = F.relu(x)
            if index in (0, 2):
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return x


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) Gram matrix normalised by C*H*W."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


class PerceptualLoss(nn.Module):
    """Weighted L1 between teacher features (perceptual) plus optional Gram-matrix (style) distance."""

    def __init__(
        self,
        teacher: VGGTeacher,
        *,
        layer_weights: tuple[float, ...] = (1.0, 1.0, 1.0),
        style_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.teacher = teacher
        self.layer_weights = layer_weights
        self.style_weight = style_weight

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred_feats = self.teacher(prediction.float())
        with torch.no_grad():
            target_feats = self.teacher(target.float())
        loss = prediction.new_zeros((), dtype=torch.float32)
        for weight, pred, tgt in zip(self.layer_weights, pred_feats, target_feats, strict=True):
            loss = loss + weight * (pred - tgt).abs().mean()
            if self.style_weight:
                loss = loss + self.style_weight * (gram_matrix(pred) - gram_matrix(tgt)).abs().mean()
        return loss
