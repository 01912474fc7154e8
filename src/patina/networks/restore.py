"""Generators for old-photo restoration: the restoration U-Net and the damage (scratch/dust/crease) mask net."""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional as F

from patina.networks.blocks import UNetBody, zero_init

THUMBNAIL_SIZE = 64
QUANTILES = (0.02, 0.5, 0.98)


@torch.no_grad()
def thumbnail(image: torch.Tensor, size: int = THUMBNAIL_SIZE) -> torch.Tensor:
    """``adaptive_avg_pool2d(image, size)`` in float32, computed one output row at a time.

    Works on uint8/uint16 views of huge scans without a full-size float copy: each band of input rows
    that averages into one output row is converted on its own (same row and column bins as the whole).
    """
    height = image.shape[-2]
    if image.is_floating_point() and image.dtype == torch.float32 and height <= 4 * size:
        return F.adaptive_avg_pool2d(image, size)
    scale = 65535.0 if image.dtype == torch.uint16 else 255.0 if image.dtype == torch.uint8 else 1.0
    rows = []
    for i in range(size):
        start, end = (i * height) // size, -(-(i + 1) * height // size)
        band = image[..., start:end, :].float()
        rows.append(F.adaptive_avg_pool2d(band, (1, size)) / scale)
    return torch.cat(rows, dim=-2)


class GlobalContext(nn.Module):
    """What the whole photograph looks like (tone, colour cast, fading), from its 64 x 64 thumbnail.

    A strided conv encoder, averaged, plus per-channel 2/50/98 % quantiles, mapped by an MLP to
    ``out_features`` numbers. The last layer starts at zero, so a generator gains this branch as a no-op.
    """

    def __init__(self, out_features: int, width: int = 128) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = (3, 32, 64, 96, width)
        for c_in, c_out in itertools.pairwise(channels):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        self.encoder = nn.Sequential(*layers)
        self.mlp = nn.Sequential(nn.Linear(width + 3 * len(QUANTILES), width), nn.LeakyReLU(0.2, inplace=True),
                                 nn.Linear(width, out_features))
        zero_init(self.mlp[-1])

    def forward(self, thumb: torch.Tensor) -> torch.Tensor:
        features = self.encoder(thumb).mean(dim=(2, 3))
        levels = torch.quantile(thumb.float().flatten(2), thumb.new_tensor(QUANTILES, dtype=torch.float32), dim=2)
        levels = levels.permute(1, 0, 2).flatten(1)  # (N, quantiles * 3)
        return self.mlp(torch.cat([features, levels.to(features.dtype)], dim=1))


class RestoreGenerator(nn.Module):
    """Residual U-Net that restores an RGB image and inpaints the pixels flagged by a damage mask.

    The image and mask are pixel-unshuffled by ``unshuffle`` (cheap at full resolution), processed by a
    U-Net without normalisation layers (so tiles equal the whole image) and shuffled back; the network
    predicts a correction added to the input. Inputs: image (N, 3, H, W) in [0, 1], mask (N, 1, H, W) in
    [0, 1]; H and W must be multiples of ``size_multiple``.

    With ``global_context`` the network also sees the whole photograph: :meth:`describe` turns a
    thumbnail of it into a context vector that modulates the features (FiLM) and applies a global colour
    matrix, so fading and casts are judged on the whole image even when it is processed in tiles
    (the pipeline computes the context once and passes it to every tile).
    """

    def __init__(
        self,
        *,
        widths: tuple[int, ...] = (48, 96, 192),
        blocks: tuple[int, ...] = (1, 2, 2),
        unshuffle: int = 2,
        global_context: bool = False,
    ) -> None:
        super().__init__()
        self.unshuffle = unshuffle
        self.size_multiple = unshuffle * 2 ** (len(widths) - 1)
        self.film_channels = widths[0]
        self.context_net = GlobalContext(4 * widths[0] + 12) if global_context else None
        in_channels = 4 * unshuffle * unshuffle
        self.head = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.body = UNetBody(widths=tuple(widths), blocks=tuple(blocks))
        self.tail = nn.Conv2d(widths[0], 3 * unshuffle * unshuffle, 3, padding=1)
        zero_init(self.tail)

    @property
    def uses_context(self) -> bool:
        return self.context_net is not None

    def describe(self, thumb: torch.Tensor) -> torch.Tensor | None:
        """Context vectors of whole photos from their :func:`thumbnail` (N, 3, 64, 64); None without the branch."""
        if self.context_net is None:
            return None
        return self.context_net(thumb.to(next(self.context_net.parameters()).device))

    def forward(self, image: torch.Tensor, mask: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Restore ``image``; ``context`` defaults to :meth:`describe` of ``image`` itself (a whole photo)."""
        if context is None and self.context_net is not None:
            context = self.describe(thumbnail(image))
        x = self.head(F.pixel_unshuffle(torch.cat([image, mask], dim=1), self.unshuffle))
        if context is None:
            return image + F.pixel_shuffle(self.tail(self.body(x) + x), self.unshuffle)
        c = self.film_channels
        scale_in, shift_in, scale_out, shift_out = context[:, : 4 * c, None, None].to(x.dtype).chunk(4, dim=1)
        x = x * (1 + scale_in) + shift_in
        y = self.body(x) + x
        y = y * (1 + scale_out) + shift_out
        out = image + F.pixel_shuffle(self.tail(y), self.unshuffle)
        matrix = context[:, 4 * c : 4 * c + 9].float().view(-1, 3, 3)
        offset = context[:, 4 * c + 9 :].float()[:, :, None, None]
        return out + (torch.einsum("nij,njhw->nihw", matrix, image.float()) + offset).to(out.dtype)


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
