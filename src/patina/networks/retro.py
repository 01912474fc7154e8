"""Retro generator: turns an era's base look into a photo with the texture of a real old print."""

from __future__ import annotations

import torch
from torch import nn

from patina.networks.blocks import conv_act, zero_init


class FiLMBlock(nn.Module):
    """Residual block whose inner activations are scaled and shifted per era (feature-wise linear modulation)."""

    def __init__(self, channels: int, embed: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.film = nn.Linear(embed, 2 * channels)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor, era: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(era)[:, :, None, None].chunk(2, dim=1)
        return x + self.conv2(self.act(self.conv1(x) * (1 + scale) + shift))


class RetroGenerator(nn.Module):
    """Conditional generator: (base look, noise, era) -> the look with real aging texture.

    Input: the era's base look (N, 3, H, W) in [0, 1] (tone, colour, softness; no grain), one channel of
    unit gaussian noise (N, 1, H, W) for stochastic texture, and the era index (N,) long. The era is an
    embedding that modulates every residual block (FiLM). The network works at half resolution and adds
    its output to the base look, so it changes texture and local tone, not the picture. Fully
    convolutional with a small receptive field, so it runs tile by tile; it upsamples bilinearly (no pixel
    shuffle: no checkerboard). H, W: multiples of 2.
    """

    size_multiple = 2

    def __init__(self, *, eras: int = 6, width: int = 24, inner: int = 48, blocks: int = 4, embed: int = 16) -> None:
        super().__init__()
        self.embedding = nn.Embedding(eras, embed)
        self.head = conv_act(4, width)
        self.down = conv_act(width, inner, stride=2)
        self.blocks = nn.ModuleList([FiLMBlock(inner, embed) for _ in range(blocks)])
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                nn.Conv2d(inner, width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.tail = nn.Sequential(conv_act(2 * width, width), nn.Conv2d(width, 3, 3, padding=1))
        zero_init(self.tail[-1])

    def forward(self, base: torch.Tensor, noise: torch.Tensor, era: torch.Tensor) -> torch.Tensor:
        embedding = self.embedding(era)
        first = self.head(torch.cat([base * 2 - 1, noise], dim=1))
        x = self.down(first)
        for block in self.blocks:
            x = block(x, embedding)
        return base + self.tail(torch.cat([self.up(x), first], dim=1))
