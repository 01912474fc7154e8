"""Differentiable augmentation of discriminator inputs (DiffAugment, Zhao et al. 2020) for GANs whose real
set is small: real and generated batches both pass through random colour, translation and cutout, so the
discriminator cannot memorise the few real images and the generator is not taught to produce the
augmentations. Randomness comes from torch's global generator (seeded per step by the trainers)."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def diff_augment(x: torch.Tensor, *, shift: float = 0.125, cutout: float = 0.25,
                 channels_per_image: int | None = None) -> torch.Tensor:
    """Random brightness, saturation and contrast per sample, a translation of up to ``shift`` of the side
    (reflected borders) and a zeroed square of ``cutout`` of the side; differentiable in ``x``.

    ``channels_per_image`` (e.g. 3 for a 6-channel image + condition pair): the colour changes are made to
    each image of the stack alike, so a conditional D still sees matching colours."""
    n, channels, height, width = x.shape
    group = channels_per_image or channels
    if channels % group:
        raise ValueError(f"{channels} channels do not split into images of {group}")
    rand = lambda: torch.rand(n, 1, 1, 1, 1, device=x.device, dtype=x.dtype)  # noqa: E731
    x = x.reshape(n, channels // group, group, height, width)
    x = x + (rand() - 0.5) * 0.2
    gray = x.mean(dim=2, keepdim=True)
    x = gray + (x - gray) * (0.7 + 0.6 * rand())
    mean = x.mean(dim=(2, 3, 4), keepdim=True)
    x = (mean + (x - mean) * (0.75 + 0.5 * rand())).reshape(n, channels, height, width)
    pad_y, pad_x = int(height * shift), int(width * shift)
    if pad_y or pad_x:
        padded = F.pad(x, (pad_x, pad_x, pad_y, pad_y), mode="reflect")
        offsets = torch.stack([torch.randint(0, 2 * pad_y + 1, (n,)), torch.randint(0, 2 * pad_x + 1, (n,))], dim=1)
        x = torch.stack([padded[i, :, dy:dy + height, dx:dx + width] for i, (dy, dx) in enumerate(offsets.tolist())])
    size_y, size_x = int(height * cutout), int(width * cutout)
    if size_y and size_x:
        ys = torch.arange(height, device=x.device).view(1, height, 1)
        xs = torch.arange(width, device=x.device).view(1, 1, width)
        top = torch.randint(0, height - size_y + 1, (n, 1, 1), device=x.device)
        left = torch.randint(0, width - size_x + 1, (n, 1, 1), device=x.device)
        hole = (ys >= top) & (ys < top + size_y) & (xs >= left) & (xs < left + size_x)
        x = x * (~hole).unsqueeze(1).to(x.dtype)
    return x


__all__ = ["diff_augment"]
