"""Patina's semantic encoder: what is in a black-and-white picture, seen from its luminance alone.

An EfficientNet-Lite-shaped stack of inverted-residual blocks (:class:`MBConv`, the teacher's stages at a
fraction of its widths) reads L* and predicts, through 1x1 heads, EfficientNet-Lite0's feature maps of the
*colour* photo at 1/8, 1/16 and 1/32 of its size, each channel standardised over the training photos
(`patina train semantic-encoder` distils it; the teacher is never shipped). The colorizer reads these
predictions (:class:`~patina.networks.colorize.ColorizeGenerator` ``semantic_width``): sky, skin, foliage
and fabric are told apart by a network much deeper than the colorizer's U-Net, at a fraction of its cost.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from patina.networks.efficientnet import BN_EPS, FEATURE_BLOCKS, FEATURE_CHANNELS, STAGES, MBConv, SameConv2d

STRIDES = tuple(sorted(FEATURE_CHANNELS))
"""The strides of the predicted maps: 8, 16, 32."""


def scaled(channels: int, width: float) -> int:
    """``channels`` times ``width``, rounded to a multiple of 8 (at least 8)."""
    return max(8, int(channels * width + 4) // 8 * 8)


class SemanticEncoder(nn.Module):
    """L* / 100 (N, 1, H, W) -> {8: (N, 40, H/8, W/8), 16: (N, 112, H/16, W/16), 32: (N, 320, H/32, W/32)}
    (sizes rounded up): EfficientNet-Lite0's standardised features of the colour photo, as predicted.

    ``width`` scales the teacher's channels (0.5: 0.9 M parameters); the depth is the teacher's.
    """

    def __init__(self, *, width: float = 0.5) -> None:
        super().__init__()
        if not 0 < width <= 2:
            raise ValueError(f"width must be in (0, 2], got {width}")
        self.width = width
        stem = scaled(STAGES[0][4], width)
        self.stem = nn.Sequential(SameConv2d(1, stem, 3, stride=2, bias=False), nn.BatchNorm2d(stem, eps=BN_EPS),
                                  nn.ReLU6(inplace=True))
        blocks = []
        for repeats, kernel, stride, expansion, channels_in, channels_out in STAGES:
            for index in range(repeats):
                blocks.append(MBConv(kernel, stride if index == 0 else 1, expansion,
                                     scaled(channels_in if index == 0 else channels_out, width),
                                     scaled(channels_out, width)))
        self.blocks = nn.ModuleList(blocks)
        self.taps = {block: stride for stride, block in FEATURE_BLOCKS.items()}
        self.trunk_channels = {stride: blocks[block]._bn2.num_features for stride, block in FEATURE_BLOCKS.items()}
        """The channels of :meth:`trunk`'s map at each stride."""
        self.heads = nn.ModuleDict({str(stride): nn.Conv2d(self.trunk_channels[stride], channels, 1)
                                    for stride, channels in FEATURE_CHANNELS.items()})

    def trunk(self, light: torch.Tensor) -> dict[int, torch.Tensor]:
        """The blocks' own feature maps at each stride (before the heads)."""
        out = self.stem((light - 0.5) / 0.25)
        taken = {}
        for index, block in enumerate(self.blocks):
            out = block(out)
            if index in self.taps:
                taken[self.taps[index]] = out
        return taken

    def forward(self, light: torch.Tensor) -> dict[int, torch.Tensor]:
        return {stride: self.heads[str(stride)](features) for stride, features in self.trunk(light).items()}


def resized(features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``features`` brought to ``size``: area-averaged when larger, bilinear when smaller, as is when equal."""
    if tuple(features.shape[-2:]) == tuple(size):
        return features
    if features.shape[-2] >= size[0] and features.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(features, size)
    return F.interpolate(features, size=size, mode="bilinear", align_corners=False)


__all__ = ["STRIDES", "SemanticEncoder", "resized", "scaled"]
