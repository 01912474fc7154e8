"""Generators for old-photo restoration: the restoration U-Net and the damage (scratch/dust/crease) mask net."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from patina.networks.blocks import UNetBody


class RestoreGenerator(nn.Module):
    """Residual U-Net that restores an RGB image and inpaints the pixels flagged by a damage mask.

    The image and mask are pixel-unshuffled by ``unshuffle`` (cheap at full resolution), processed by a
    U-Net without normalisation layers (so tiles equal the whole image) and shuffled back; the network
    predicts a correction added to the input. Inputs: image (N, 3, H, W) in [0, 1], mask (N, 1, H, W) in
    [0, 1]; H and W must be multiples of ``size_multiple``.
    """

    def __init__(
        self,
        *,
        widths: tuple[int, ...] = (48, 96, 192),
        blocks: tuple[int, ...] = (1, 2, 2),
        unshuffle: int = 2,
    ) -> None:
        super().__init__()
        self.unshuffle = unshuffle
        self.size_multiple = unshuffle * 2 ** (len(widths) - 1)
        in_channels = 4 * unshuffle * unshuffle
        self.head = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.body = UNetBody(widths=tuple(widths), blocks=tuple(blocks))
        self.tail = nn.Conv2d(widths[0], 3 * unshuffle * unshuffle, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image, mask], dim=1)
        x = F.pixel_unshuffle(x, self.unshuffle)
        x = self.head(x)
        x = self.body(x) + x
        residual = F.pixel_shuffle(self.tail(x), self.unshuffle)
        return image + residual


class DamageMaskNet(nn.Module):
    """Small U-Net segmenting scratches, dust and creases: image (N, 3, H, W) -> logits (N, 1, H, W)."""

    def __init__(
        self,
        *,
        widths: tuple[int, ...] = (24, 48, 96),
        blocks: tuple[int, ...] = (1, 1, 2),
        unshuffle: int = 2,
    ) -> None:
        super().__init__()
        self.unshuffle = unshuffle
        self.size_multiple = unshuffle * 2 ** (len(widths) - 1)
        self.head = nn.Sequential(
            nn.Conv2d(3 * unshuffle * unshuffle, widths[0], 3, padding=1), nn.LeakyReLU(0.2, inplace=True)
        )
        self.body = UNetBody(widths=tuple(widths), blocks=tuple(blocks))
        self.tail = nn.Conv2d(widths[0], unshuffle * unshuffle, 3, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.head(F.pixel_unshuffle(image, self.unshuffle))
        x = self.body(x) + x
        return F.pixel_shuffle(self.tail(x), self.unshuffle)
