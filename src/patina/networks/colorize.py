"""Colorization generator: a residual U-Net predicting chroma (a*, b*) from luminance (L*)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from patina.networks.blocks import UNetBody


class ColorizeGenerator(nn.Module):
    """pix2pix-style generator for colorization in CIE Lab.

    Input: L* / 100 (N, 1, H, W) in [0, 1]. Output: (a*, b*) / 100 (N, 2, H, W), about -1..1.
    The luminance is pixel-unshuffled by ``unshuffle``, run through a U-Net whose deepest level also
    mixes in the whole picture's mean features (global context: sky, skin, foliage are judged on the
    whole photo), and shuffled back. H and W must be multiples of ``size_multiple``.

    ``chroma_gain`` scales the output: a regression-trained colorizer predicts colours duller than real
    ones (it hedges between plausible hues), and a gain calibrated on held-out images after training
    brings their colourfulness back; it is 1 while training.
    """

    def __init__(
        self,
        *,
        widths: tuple[int, ...] = (32, 64, 128, 160),
        blocks: tuple[int, ...] = (1, 1, 1, 2),
        unshuffle: int = 2,
        chroma_gain: float = 1.0,
    ) -> None:
        super().__init__()
        self.unshuffle = unshuffle
        self.chroma_gain = chroma_gain
        self.size_multiple = unshuffle * 2 ** (len(widths) - 1)
        self.head = nn.Sequential(nn.Conv2d(unshuffle * unshuffle, widths[0], 3, padding=1),
                                  nn.LeakyReLU(0.2, inplace=True))
        self.body = UNetBody(widths=tuple(widths), blocks=tuple(blocks), global_mixing=True)
        self.tail = nn.Conv2d(widths[0], 2 * unshuffle * unshuffle, 3, padding=1)
        nn.init.zeros_(self.tail.bias)

    def forward(self, light: torch.Tensor) -> torch.Tensor:
        x = self.head(F.pixel_unshuffle(light, self.unshuffle))
        chroma = F.pixel_shuffle(self.tail(self.body(x) + x), self.unshuffle)
        return chroma if self.chroma_gain == 1.0 else chroma * self.chroma_gain
