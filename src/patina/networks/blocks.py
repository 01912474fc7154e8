"""Small building blocks shared by the generators."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """conv-act-conv with an identity skip; no normalisation, so tiled inference matches untiled."""

    def __init__(self, channels: int, *, negative_slope: float = 0.2, res_scale: float = 1.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(negative_slope, inplace=True)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.conv2(self.act(self.conv1(x)))


def zero_init(layer: nn.Module, *, weight: bool = True) -> None:
    """Zero a convolution's or linear layer's bias, and its weight unless ``weight`` is False: the branch
    the layer ends then starts as a no-op."""
    if not isinstance(layer, (nn.Conv2d, nn.Linear)):
        raise TypeError(f"expected a Conv2d or Linear layer, got {type(layer).__name__}")
    if weight:
        nn.init.zeros_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def conv_act(in_channels: int, out_channels: int, *, stride: int = 1) -> nn.Sequential:
    """3x3 convolution followed by LeakyReLU(0.2)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
                         nn.LeakyReLU(0.2, inplace=True))


class UNetBody(nn.Module):
    """Encoder/decoder over ``len(widths)`` scales with additive skips and residual blocks at each scale.

    Input (N, widths[0], H, W) with H, W divisible by 2 ** (len(widths) - 1); output the same shape.
    With ``global_mixing`` the deepest level adds an MLP of its spatial mean to every position, so each
    output pixel sees the whole input (use it only where the whole image is processed at once, not tiles).
    """

    def __init__(self, *, widths: tuple[int, ...], blocks: tuple[int, ...], global_mixing: bool = False) -> None:
        super().__init__()
        if len(widths) != len(blocks) or len(widths) < 1:
            raise ValueError("widths and blocks must be non-empty and of equal length")
        self.widths = tuple(widths)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        for level, (width, count) in enumerate(zip(widths, blocks, strict=True)):
            self.encoders.append(nn.Sequential(*[ResidualBlock(width) for _ in range(count)]))
            if level + 1 < len(widths):
                self.downs.append(conv_act(width, widths[level + 1], stride=2))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in range(len(widths) - 2, -1, -1):
            self.ups.append(nn.Sequential(nn.Conv2d(widths[level + 1], widths[level] * 4, 1), nn.PixelShuffle(2)))
            self.decoders.append(nn.Sequential(*[ResidualBlock(widths[level]) for _ in range(max(1, blocks[level]))]))
        deepest = widths[-1]
        self.global_mix = nn.Sequential(nn.Linear(deepest, deepest), nn.LeakyReLU(0.2, inplace=True),
                                        nn.Linear(deepest, deepest)) if global_mixing else None

    def forward(self, x: torch.Tensor, additions: Sequence[torch.Tensor | None] = ()) -> torch.Tensor:
        """``additions[level]`` (optional) is added to the features entering that encoder level (level 0: ``x``)."""
        skips = []
        for level, encoder in enumerate(self.encoders):
            addition = additions[level] if level < len(additions) else None
            if addition is not None:
                x = x + addition
            x = encoder(x)
            if level < len(self.downs):
                skips.append(x)
                x = self.downs[level](x)
        if self.global_mix is not None:
            x = x + self.global_mix(x.mean(dim=(2, 3)))[:, :, None, None]
        for up, decoder in zip(self.ups, self.decoders, strict=True):
            x = decoder(up(x) + skips.pop())
        return x
