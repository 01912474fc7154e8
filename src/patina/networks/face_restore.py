"""Patina's face restoration network: an aged face, aligned to a square crop by its landmarks
(:mod:`patina.ops.face_align`), in; the restored crop out (the input plus a predicted correction).

Conditioned (``conditioned=True``), it also reads the same crop of the photo as the general restoration gave
it, and corrects *that*: it starts as the identity on the restoration (its last layer begins at zero) and
learns what a face model adds to it.

A residual U-Net over four scales (:class:`~patina.networks.blocks.UNetBody`), no normalisation: a face crop is
small and always processed whole."""

from __future__ import annotations

import torch
from torch import nn

from patina.networks.blocks import UNetBody

CROP = 128
"""Side of the aligned face crops the model is trained on."""


class FaceRestorer(nn.Module):
    """(N, 3, S, S) aligned RGB face crops in [0, 1] (and, conditioned, the general restoration's same crops)
    -> restored crops (S a multiple of 2 ** (len(widths) - 1))."""

    def __init__(self, *, widths: tuple[int, ...] = (32, 64, 96, 128), blocks: tuple[int, ...] = (1, 1, 2, 2),
                 conditioned: bool = False) -> None:
        super().__init__()
        self.size_multiple = 2 ** (len(widths) - 1)
        self.conditioned = conditioned
        self.head = nn.Conv2d(6 if conditioned else 3, widths[0], 3, padding=1)
        self.body = UNetBody(widths=tuple(widths), blocks=tuple(blocks), global_mixing=True)
        self.tail = nn.Conv2d(widths[0], 3, 3, padding=1)
        if conditioned:
            nn.init.zeros_(self.tail.weight)
            assert self.tail.bias is not None
            nn.init.zeros_(self.tail.bias)

    def forward(self, crop: torch.Tensor, restored: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditioned != (restored is not None):
            raise ValueError("a conditioned face restorer needs the restored crop, an unconditioned one takes none")
        given = crop if restored is None else torch.cat([crop, restored], dim=1)
        features = self.head(given * 2 - 1)
        base = crop if restored is None else restored
        return base + self.tail(self.body(features) + features) / 2


__all__ = ["CROP", "FaceRestorer"]
