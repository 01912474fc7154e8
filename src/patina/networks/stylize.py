"""Style transfer networks: a compact encoder distilled from the VGG19 relu1_1..relu3_1 teacher, and the
decoder that turns fused features back into an image."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

TEACHER_WIDTHS = (64, 128, 256)
"""Channels of the teacher's relu1_1, relu2_1 and relu3_1 features."""


class StyleEncoder(nn.Module):
    """The teacher's layout (conv1_1, conv1_2, pool, conv2_1, conv2_2, pool, conv3_1; reflect padding, ReLU)
    at ``widths`` channels; ``forward`` returns the relu1_1, relu2_1 and relu3_1 features.

    Input: RGB in [0, 1]. Trained by distillation: 1x1 adapters map its features onto the teacher's, so
    statistics computed on them (mean / std, as AdaIN uses) follow the teacher's. H, W: multiples of 4.
    """

    size_multiple = 4

    def __init__(self, *, widths: tuple[int, int, int] = (32, 64, 128)) -> None:
        super().__init__()
        first, second, third = widths
        self.conv1_1 = nn.Conv2d(3, first, 3)
        self.conv1_2 = nn.Conv2d(first, first, 3)
        self.conv2_1 = nn.Conv2d(first, second, 3)
        self.conv2_2 = nn.Conv2d(second, second, 3)
        self.conv3_1 = nn.Conv2d(second, third, 3)
        self.widths = tuple(widths)

    def forward(self, x: torch.Tensor, *, zero_padding: bool = False) -> list[torch.Tensor]:
        """``zero_padding``: pad each convolution with zeros, not by reflection: the features differ only
        along the edges, and forward + backward take about a third less time (the pipeline's refinement)."""

        def conv(layer: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
            if zero_padding:
                return F.relu(F.conv2d(x, layer.weight, layer.bias, padding=1))
            return F.relu(layer(F.pad(x, (1, 1, 1, 1), mode="reflect")))

        relu1_1 = conv(self.conv1_1, x * 2 - 1)
        x = F.max_pool2d(conv(self.conv1_2, relu1_1), 2)
        relu2_1 = conv(self.conv2_1, x)
        x = F.max_pool2d(conv(self.conv2_2, relu2_1), 2)
        return [relu1_1, relu2_1, conv(self.conv3_1, x)]


class FeatureAdapters(nn.Module):
    """1x1 convolutions from the student's features to the teacher's channels (used while distilling)."""

    def __init__(self, *, widths: tuple[int, int, int] = (32, 64, 128)) -> None:
        super().__init__()
        self.maps = nn.ModuleList([nn.Conv2d(w, t, 1) for w, t in zip(widths, TEACHER_WIDTHS, strict=True)])

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        return [adapt(f) for adapt, f in zip(self.maps, features, strict=True)]


class StyleDecoder(nn.Module):
    """Inverts relu3_1 features to an image: ``blocks`` residual blocks at the features' resolution, then the
    encoder's layout mirrored (conv, nearest x2 upsampling; reflect padding, ReLU) at ``widths`` channels,
    output RGB in about [0, 1]. ``widths[2]`` is the encoder's relu3_1 width. H, W of the features: any."""

    def __init__(self, *, widths: tuple[int, int, int] = (32, 64, 128), blocks: int = 0) -> None:
        super().__init__()
        first, second, third = widths
        self.blocks = nn.ModuleList([nn.ModuleList([nn.Conv2d(third, third, 3), nn.Conv2d(third, third, 3)])
                                     for _ in range(blocks)])
        self.convs = nn.ModuleList([nn.Conv2d(third, second, 3), nn.Conv2d(second, second, 3),
                                    nn.Conv2d(second, first, 3), nn.Conv2d(first, first, 3), nn.Conv2d(first, 3, 3)])
        self.upsample_after = (0, 2)

    @staticmethod
    def _pad(x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (1, 1, 1, 1), mode="reflect")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features
        for block in self.blocks:
            first, second = cast(nn.ModuleList, block)  # each block is a ModuleList of two convs
            x = x + second(self._pad(F.relu(first(self._pad(x)))))
        for index, conv in enumerate(self.convs):
            x = conv(self._pad(x))
            if index < len(self.convs) - 1:
                x = F.relu(x)
            if index in self.upsample_after:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return x


class StyleTransferNet(nn.Module):
    """The shipped pair: the distilled :class:`StyleEncoder` and a :class:`StyleDecoder` trained on its fused
    relu3_1 features (``encoder`` / ``decoder``: their constructor kwargs)."""

    size_multiple = StyleEncoder.size_multiple

    def __init__(self, *, encoder: dict | None = None, decoder: dict | None = None) -> None:
        super().__init__()
        self.encoder = StyleEncoder(**(encoder or {}))
        self.decoder = StyleDecoder(**(decoder or {}))
        if self.decoder.convs[0].in_channels != self.encoder.widths[2]:
            raise ValueError(f"the decoder takes {self.decoder.convs[0].in_channels} channels, the encoder's "
                             f"relu3_1 has {self.encoder.widths[2]}")

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """relu3_1 features of RGB images in [0, 1] (H, W multiples of 4)."""
        return self.encoder(images)[2]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Reconstruction (no style): decode(encode(images))."""
        return self.decoder(self.encode(images))
