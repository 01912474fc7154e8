"""Discriminators: a PatchGAN with spectral normalisation."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class PatchDiscriminator(nn.Module):
    """pix2pix-style PatchGAN: strided 4x4 convs with spectral norm, one real/fake logit per patch.

    ``in_channels`` is 3 for an unconditional D, or 6 when the degraded input is concatenated (conditional).
    """

    def __init__(self, *, in_channels: int = 3, width: int = 64, layers: int = 3) -> None:
        super().__init__()
        modules: list[nn.Module] = [spectral_norm(nn.Conv2d(in_channels, width, 4, stride=2, padding=1))]
        modules.append(nn.LeakyReLU(0.2, inplace=True))
        channels = width
        for index in range(1, layers + 1):
            out_channels = width * min(2**index, 8)
            stride = 2 if index < layers else 1
            modules += [spectral_norm(nn.Conv2d(channels, out_channels, 4, stride=stride, padding=1))]
            modules += [nn.LeakyReLU(0.2, inplace=True)]
            channels = out_channels
        modules.append(spectral_norm(nn.Conv2d(channels, 1, 4, stride=1, padding=1)))
        self.model = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after each LeakyReLU, for the feature-matching loss."""
        feats = []
        for module in self.model:
            x = module(x)
            if isinstance(module, nn.LeakyReLU):
                feats.append(x)
        return feats


class UNetDiscriminator(nn.Module):
    """Real-ESRGAN's U-Net discriminator with spectral norm: a real/fake logit for every pixel.

    Three stride-2 stages down and three bilinear stages up with additive skips, so D judges both the
    global structure and each pixel's texture. Input H and W should be multiples of 8.
    """

    def __init__(self, *, in_channels: int = 3, width: int = 64) -> None:
        super().__init__()
        sn = spectral_norm
        self.conv0 = nn.Conv2d(in_channels, width, 3, padding=1)
        self.down = nn.ModuleList([sn(nn.Conv2d(width, width * 2, 4, 2, 1, bias=False)),
                                   sn(nn.Conv2d(width * 2, width * 4, 4, 2, 1, bias=False)),
                                   sn(nn.Conv2d(width * 4, width * 8, 4, 2, 1, bias=False))])
        self.up = nn.ModuleList([sn(nn.Conv2d(width * 8, width * 4, 3, 1, 1, bias=False)),
                                 sn(nn.Conv2d(width * 4, width * 2, 3, 1, 1, bias=False)),
                                 sn(nn.Conv2d(width * 2, width, 3, 1, 1, bias=False))])
        self.head = nn.Sequential(sn(nn.Conv2d(width, width, 3, 1, 1, bias=False)), nn.LeakyReLU(0.2, inplace=True),
                                  sn(nn.Conv2d(width, width, 3, 1, 1, bias=False)), nn.LeakyReLU(0.2, inplace=True),
                                  nn.Conv2d(width, 1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = lambda t: nn.functional.leaky_relu(t, 0.2)  # noqa: E731
        x = act(self.conv0(x))
        skips = [x]
        for conv in self.down:
            x = act(conv(x))
            skips.append(x)
        skips.pop()
        for conv in self.up:
            x = nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = act(conv(x)) + skips.pop()
        return self.head(x)


class ProjectionDiscriminator(nn.Module):
    """Class-conditional PatchGAN with a projection head (Miyato & Koyama 2018): one logit per patch,
    ``psi(phi(x)) + <embed(y), phi(x)>``, so D judges realness in general and for class ``y``."""

    def __init__(self, *, classes: int, in_channels: int = 3, width: int = 32, layers: int = 3) -> None:
        super().__init__()
        modules: list[nn.Module] = []
        channels = in_channels
        for index in range(layers + 1):
            out_channels = width * min(2**index, 8)
            stride = 2 if index < layers else 1
            modules += [spectral_norm(nn.Conv2d(channels, out_channels, 4, stride=stride, padding=1)),
                        nn.LeakyReLU(0.2, inplace=True)]
            channels = out_channels
        self.body = nn.Sequential(*modules)
        self.head = spectral_norm(nn.Conv2d(channels, 1, 1))
        self.embedding = spectral_norm(nn.Embedding(classes, channels))

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        features = self.body(x)
        projection = (self.embedding(label)[:, :, None, None] * features).sum(dim=1, keepdim=True)
        return self.head(features) + projection
