"""Super-resolution generators: a compact conv stack, an EDSR-style residual net and ESRGAN's RRDBNet.

Every upscaler has ``scale`` (output pixels per input pixel) and ``size_multiple`` (input size multiple).
``CompactUpscaler`` and ``RRDBNet`` name their parameters as Real-ESRGAN's SRVGGNetCompact and RRDBNet
do, so those projects' state dicts load into them unchanged (see :mod:`patina.weights.external`).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from patina.networks.blocks import ResidualBlock, zero_init
from patina.ops.resize import imresize

ACTIVATIONS = ("prelu", "leakyrelu", "relu")


def _activation(kind: str, channels: int) -> nn.Module:
    if kind == "prelu":
        return nn.PReLU(num_parameters=channels)
    if kind == "leakyrelu":
        return nn.LeakyReLU(0.1, inplace=True)
    if kind == "relu":
        return nn.ReLU(inplace=True)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {kind!r}")


def _check_scale(scale: int, allowed: tuple[int, ...]) -> int:
    if scale not in allowed:
        raise ValueError(f"scale must be one of {allowed}, got {scale}")
    return scale


class CompactUpscaler(nn.Module):
    """A plain stack of 3x3 convs + activations at input resolution, one pixel shuffle at the end, and the
    nearest-upsampled input added (the network learns the residual): Real-ESRGAN's SRVGGNetCompact layout.

    With ``unshuffle`` 2 the input is first pixel-unshuffled, so the stack runs at half resolution (4x
    cheaper) and upsamples by ``2 * scale``: how the x2 model stays as fast per output pixel as the x4.
    """

    def __init__(self, *, channels: int = 64, convs: int = 16, scale: int = 4, activation: str = "prelu",
                 unshuffle: int = 1, in_channels: int = 3) -> None:
        super().__init__()
        self.scale = _check_scale(scale, (1, 2, 3, 4, 8))
        self.unshuffle = unshuffle
        self.size_multiple = unshuffle
        shuffle = scale * unshuffle
        layers: list[nn.Module] = [nn.Conv2d(in_channels * unshuffle**2, channels, 3, padding=1),
                                   _activation(activation, channels)]
        for _ in range(convs):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), _activation(activation, channels)]
        layers.append(nn.Conv2d(channels, in_channels * shuffle**2, 3, padding=1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(shuffle)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


@torch.no_grad()
def fold_unshuffle(model: CompactUpscaler) -> CompactUpscaler:
    """The same network without its pixel-unshuffle, at ``unshuffle`` times the scale: a x2 net with
    ``unshuffle`` 2 becomes a x4 net that computes exactly ``model(nearest_upsample_x2(x))``.

    The first conv's weights are summed over each unshuffled group (a nearest-upsampled image repeats
    every pixel in its group); the other layers are kept. Used to start a x4 training from a x2 one.
    """
    if model.unshuffle == 1:
        raise ValueError("the model has no pixel-unshuffle to fold")
    first = model.body[0]
    assert isinstance(first, nn.Conv2d)
    groups = model.unshuffle**2
    in_channels = first.in_channels // groups
    folded = CompactUpscaler(channels=first.out_channels, convs=(len(model.body) - 3) // 2,
                             scale=model.scale * model.unshuffle, activation=_activation_kind(model),
                             in_channels=in_channels)
    state = dict(model.state_dict())
    weight = state["body.0.weight"]
    state["body.0.weight"] = weight.reshape(weight.shape[0], in_channels, groups, 3, 3).sum(2)
    folded.load_state_dict(state)
    return folded


@torch.no_grad()
def divide_scale(model: CompactUpscaler, factor: int) -> CompactUpscaler:
    """The same network at ``factor`` times less scale: a x4 net becomes a x2 net that computes exactly
    ``avg_pool2d(model(x), factor)``, at the same cost. Used to start a x2 training from a x4 one.

    Every output pixel of the new net is the mean of the ``factor`` x ``factor`` sub-pixels it covers, so the
    last conv's output channels are averaged in those groups; the nearest-upsampled input stays as it was.
    """
    if model.unshuffle != 1 or factor < 2 or model.scale % factor:
        raise ValueError(f"cannot divide scale {model.scale} (unshuffle {model.unshuffle}) by {factor}")
    last = model.body[-1]
    assert isinstance(last, nn.Conv2d)
    channels = last.out_channels // model.scale**2
    scale = model.scale // factor
    divided = CompactUpscaler(channels=last.in_channels, convs=(len(model.body) - 3) // 2, scale=scale,
                              activation=_activation_kind(model), in_channels=channels)
    state = dict(model.state_dict())
    name = f"body.{len(model.body) - 1}"
    for key in (f"{name}.weight", f"{name}.bias"):
        grouped = state[key].reshape(channels, scale, factor, scale, factor, *state[key].shape[1:])
        state[key] = grouped.mean((2, 4)).reshape(channels * scale**2, *state[key].shape[1:])
    divided.load_state_dict(state)
    return divided


def _activation_kind(model: CompactUpscaler) -> str:
    """The ``activation`` argument ``model`` was built with."""
    return next(kind for kind, cls in zip(ACTIVATIONS, (nn.PReLU, nn.LeakyReLU, nn.ReLU), strict=True)
                if isinstance(model.body[1], cls))


class ResidualUpscaler(nn.Module):
    """EDSR-style: head conv, residual blocks with a long skip, then conv + pixel-shuffle x2 stages (one x3
    stage for scale 3); the bilinear-upsampled input is added, so the net only learns the detail."""

    def __init__(self, *, channels: int = 64, blocks: int = 15, scale: int = 4, res_scale: float = 1.0) -> None:
        super().__init__()
        self.scale = _check_scale(scale, (1, 2, 3, 4, 8))
        self.size_multiple = 1
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*[ResidualBlock(channels, res_scale=res_scale) for _ in range(blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))
        stages: list[nn.Module] = []
        factors = [3] if scale == 3 else [2] * int(math.log2(scale))
        for factor in factors:
            stages += [nn.Conv2d(channels, channels * factor**2, 3, padding=1), nn.PixelShuffle(factor),
                       nn.LeakyReLU(0.2, inplace=True)]
        self.upsample = nn.Sequential(*stages)
        self.tail = nn.Conv2d(channels, 3, 3, padding=1)
        zero_init(self.tail)  # starts as plain bilinear upscaling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        features = features + self.body(features)
        out = self.tail(self.upsample(features))
        if self.scale == 1:
            return out + x
        return out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs (growth ``growth``) with a scaled residual: ESRGAN's RDB."""

    conv1: nn.Conv2d  # set in __init__ by name
    conv2: nn.Conv2d
    conv3: nn.Conv2d
    conv4: nn.Conv2d
    conv5: nn.Conv2d

    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        for index in range(5):
            out = channels if index == 4 else growth
            setattr(self, f"conv{index + 1}", nn.Conv2d(channels + index * growth, out, 3, padding=1))
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for index in range(1, 5):
            features.append(self.act(getattr(self, f"conv{index}")(torch.cat(features, 1))))
        return x + 0.2 * self.conv5(torch.cat(features, 1))


class RRDB(nn.Module):
    """Three residual dense blocks inside a scaled residual."""

    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(channels, growth)
        self.rdb2 = ResidualDenseBlock(channels, growth)
        self.rdb3 = ResidualDenseBlock(channels, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """ESRGAN / Real-ESRGAN generator (the larger variant): RRDB trunk, two nearest x2 upsamplings + convs.

    Scales 1 and 2 pixel-unshuffle the input by 4 and 2 first (as Real-ESRGAN's x2 model does); scale 8
    adds a third upsampling conv.
    """

    def __init__(self, *, channels: int = 64, blocks: int = 23, growth: int = 32, scale: int = 4) -> None:
        super().__init__()
        self.scale = _check_scale(scale, (1, 2, 4, 8))
        self.unshuffle = {1: 4, 2: 2}.get(scale, 1)
        self.size_multiple = self.unshuffle
        self.conv_first = nn.Conv2d(3 * self.unshuffle**2, channels, 3, padding=1)
        self.body = nn.Sequential(*[RRDB(channels, growth) for _ in range(blocks)])
        self.conv_body = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv_up1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv_up2 = nn.Conv2d(channels, channels, 3, padding=1)
        if scale == 8:
            self.conv_up3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv_hr = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv_last = nn.Conv2d(channels, 3, 3, padding=1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.conv_first(F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x)
        features = features + self.conv_body(self.body(features))
        ups = [self.conv_up1, self.conv_up2] + ([self.conv_up3] if self.scale == 8 else [])
        for conv in ups:
            features = self.act(conv(F.interpolate(features, scale_factor=2, mode="nearest")))
        return self.conv_last(self.act(self.conv_hr(features)))


class Rescaled(nn.Module):
    """An upscaler of another scale brought to ``scale``: ``network``'s output resized by
    ``scale / network.scale`` (MATLAB bicubic), e.g. an x4 teacher's output halved for an x2 student."""

    def __init__(self, network: nn.Module, scale: int) -> None:
        super().__init__()
        native: int = getattr(network, "scale")  # noqa: B009 (an nn.Module attribute mypy cannot see)
        self.network, self.scale, self.native_scale = network, scale, native
        self.size_multiple = int(getattr(network, "size_multiple", 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.network(x)
        return imresize(out.float().clamp(0, 1), self.scale / self.native_scale)


__all__ = ["CompactUpscaler", "RRDBNet", "Rescaled", "ResidualUpscaler"]
