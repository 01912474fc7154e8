"""Patina's face restoration network: an aged face, aligned to a square crop by its landmarks
(:mod:`patina.ops.face_align`), in; the restored crop out (the input plus a predicted correction).

A residual U-Net over four scales (:class:`~patina.networks.blocks.UNetBody`), no normalisation: a face crop is
small and always processed whole."""

from __future__ import annotations

import torch
from torch import nn

from patina.networks.blocks import UNetBody

CROP = 128
"""Side of the aligned face crops the model is trained on."""


class FaceRestorer(nn.Module):
    """(N, 3, S, S) aligned RGB face crops in [0, 1] -> restored crops (S a multiple of 2 ** (len(widths) - 1))."""

    def __init__(self, *, widths: tuple[int, ...] = (32, 64, 96, 128), blocks: tuple[int, ...] = (1, 1, 2, 2)) -> None:
        super().__init__()
        self.size_multiple = 2 ** (len(widths) - 1)
        self.head = nn.Conv2d(3, widths[0], 3, padding=1)
        self.body = UNetBody(widths=tuple(widths), blocks=tuple(blocks), global_mixing=True)
        self.tail = nn.Conv2d(widths[0], 3, 3, padding=1)

    def forward(self, crop: torch.Tensor) -> torch.Tensor:
        features = self.head(crop * 2 - 1)
        return crop + self.tail(self.body(features) + features) / 2


__all__ = ["CROP", "FaceRestorer"]
