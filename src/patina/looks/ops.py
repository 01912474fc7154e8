"""Differentiable photographic ops: the building blocks of the era looks.

Every op maps an (N, 3, H, W) sRGB tensor in [0, 1] to another, is differentiable in the image and in its
parameters (floats or tensors broadcastable to (N, 1, 1, 1) / (N, 3, 1, 1)), and never changes the size.
Sizes (blur sigma, grain size) are given for a 1000-pixel long side and scale with the image, so a look
is the same on a thumbnail and on a 6000-pixel scan (a crop passes its photo's ``scale``). Random ops
take a ``torch.Generator`` and draw their noise on the CPU, so a seed gives the same picture on any device.
"""

from __future__ import annotations

import math

import torch
from kornia.filters import gaussian_blur2d
from torch.nn import functional as F

Param = float | torch.Tensor
"""One value, or a tensor of one value per image."""
ChannelParam = float | tuple[float, ...] | torch.Tensor
"""One value for every channel, one per channel (an RGB triple), or a tensor of either per image."""
LUMA = (0.2126, 0.7152, 0.0722)
"""Rec. 709 luma weights (on the sRGB values, as film looks are judged by eye)."""


def _param(value: ChannelParam, like: torch.Tensor, channels: int = 1) -> torch.Tensor:
    """A parameter as a tensor broadcastable to ``like``: (N or 1, channels, 1, 1)."""
    tensor = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if tensor.ndim == 0:
        return tensor.view(1, 1, 1, 1)
    if tensor.ndim == 1:
        return tensor.view(1, -1, 1, 1) if tensor.numel() == channels else tensor.view(-1, 1, 1, 1)
    return tensor.reshape(tensor.shape[0], -1, 1, 1)


def pixel_scale(image: torch.Tensor, scale: float | None = None) -> float:
    """Pixels of this image per pixel of the 1000-pixel reference long side (``scale`` when given: a crop
    of a larger photo has the photo's scale, not its own)."""
    return scale if scale is not None else max(image.shape[-2:]) / 1000.0


def luma(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W) Rec. 709 luma."""
    weights = image.new_tensor(LUMA).view(1, 3, 1, 1)
    return (image * weights).sum(dim=1, keepdim=True)


def blur(image: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """Gaussian blur with ``sigma_px`` pixels (reflect borders); a no-op below 0.3 px."""
    if sigma_px < 0.3:
        return image
    radius = max(1, math.ceil(3 * sigma_px))
    radius = min(radius, (min(image.shape[-2:]) - 1) // 2) or 1
    size = 2 * radius + 1
    return gaussian_blur2d(image, (size, size), (sigma_px, sigma_px), border_type="reflect")


def tone_curve(image: torch.Tensor, *, black: ChannelParam = 0.0, white: ChannelParam = 1.0, gamma: Param = 1.0,
               contrast: Param = 0.0) -> torch.Tensor:
    """Levels and an S-curve: ``contrast`` > 0 steepens the mid-tones, < 0 flattens them; then the range
    is mapped to [black, white] (a lifted black and lowered white are the fade of an old print)."""
    x = image.clamp(1e-5, 1.0) ** _param(gamma, image)
    c = _param(contrast, image)
    s_curve = x - c * torch.sin(2 * math.pi * x) / (2 * math.pi)  # monotone for |c| <= 1
    black, white = _param(black, image, 3), _param(white, image, 3)
    return black + (white - black) * s_curve


def saturate(image: torch.Tensor, amount: Param) -> torch.Tensor:
    """Blend between the luma (0) and the image (1); above 1 boosts colour."""
    gray = luma(image)
    return (gray + _param(amount, image) * (image - gray)).clamp(0.0, 1.0)


def tint(image: torch.Tensor, *, shadows: ChannelParam, highlights: ChannelParam, amount: Param) -> torch.Tensor:
    """Toning: the luma is mapped onto a ramp from the ``shadows`` colour to the ``highlights`` colour
    (RGB triples) and blended in by ``amount`` (1 = a fully toned monochrome print, as sepia or albumen)."""
    gray = luma(image)
    ramp = _param(shadows, image, 3) + gray * (_param(highlights, image, 3) - _param(shadows, image, 3))
    # keep the luma of the original: toning changes hue, not tone
    ramp = ramp * gray / luma(ramp).clamp_min(1e-4)
    return image + _param(amount, image) * (ramp.clamp(0.0, 1.0) - image)


def colour_balance(image: torch.Tensor, *, gains: ChannelParam = (1.0, 1.0, 1.0),
                   shadow_shift: ChannelParam = (0.0, 0.0, 0.0),
                   highlight_shift: ChannelParam = (0.0, 0.0, 0.0)) -> torch.Tensor:
    """Per-channel gains, plus colour shifts weighted towards the shadows and the highlights (the dye
    fading and casts of colour prints: e.g. magenta shadows and yellow highlights)."""
    gray = luma(image)
    out = image * _param(gains, image, 3)
    out = out + _param(shadow_shift, image, 3) * (1 - gray) ** 2 + _param(highlight_shift, image, 3) * gray**2
    return out.clamp(0.0, 1.0)


def soften(image: torch.Tensor, sigma: Param, *, scale: float | None = None) -> torch.Tensor:
    """Lens and print softness: a gaussian blur of ``sigma`` reference pixels (scaled to the image)."""
    value = float(sigma)
    return blur(image, value * pixel_scale(image, scale)) if value > 0 else image


def halation(image: torch.Tensor, *, amount: Param, radius: float = 8.0, threshold: float = 0.7,
             colour: ChannelParam = (1.0, 0.35, 0.15), scale: float | None = None) -> torch.Tensor:
    """The red-orange glow film gives around bright highlights (light scattered back through the base)."""
    if float(torch.as_tensor(amount).max()) <= 0:
        return image
    bright = F.relu(luma(image) - threshold) / (1 - threshold)
    glow = blur(bright, radius * pixel_scale(image, scale)) * _param(colour, image, 3)
    return (image + _param(amount, image) * glow * (1 - image)).clamp(0.0, 1.0)


def vignette(image: torch.Tensor, *, amount: Param, softness: float = 0.6) -> torch.Tensor:
    """Darken towards the corners: ``amount`` is the light lost in the very corner."""
    height, width = image.shape[-2:]
    ys = torch.linspace(-1, 1, height, device=image.device, dtype=image.dtype).view(1, 1, -1, 1)
    xs = torch.linspace(-1, 1, width, device=image.device, dtype=image.dtype).view(1, 1, 1, -1)
    radius = ((ys**2 + xs**2) / 2).sqrt()  # 0 at the centre, 1 in the corners
    falloff = ((radius - (1 - softness)) / softness).clamp(0, 1) ** 2
    return image * (1 - _param(amount, image) * falloff)


def noise_field(shape: tuple[int, ...], generator: torch.Generator, *, sigma_px: float,
                like: torch.Tensor) -> torch.Tensor:
    """Unit-variance gaussian noise of ``shape``, blurred to grains of about ``sigma_px`` pixels."""
    noise = torch.randn(shape, generator=generator, dtype=torch.float32).to(like.device, like.dtype)
    if sigma_px >= 0.3:
        noise = blur(noise, sigma_px)
        noise = noise / noise.std().clamp_min(1e-6)
    return noise


def grain(image: torch.Tensor, generator: torch.Generator, *, amount: Param, size: float = 1.0,
          colour: float = 0.0, scale: float | None = None) -> torch.Tensor:
    """Film grain whose strength follows the luma: strongest in the mid-tones, faint in deep shadows and
    clipped highlights. ``size`` is the grain sigma in reference pixels; ``colour`` mixes in independent
    per-channel grain (0 = monochrome grain, as a B&W emulsion)."""
    if float(torch.as_tensor(amount).max()) <= 0:
        return image
    n, _, height, width = image.shape
    sigma = max(0.5, size * pixel_scale(image, scale))
    noise = noise_field((n, 1, height, width), generator, sigma_px=sigma, like=image)
    if colour > 0:
        noise = noise + colour * noise_field((n, 3, height, width), generator, sigma_px=sigma, like=image)
    gray = luma(image)
    strength = _param(amount, image) * (0.25 + 3.0 * gray * (1 - gray))
    return (image + strength * noise).clamp(0.0, 1.0)


def paper(image: torch.Tensor, generator: torch.Generator, *, amount: Param,
          scale: float | None = None) -> torch.Tensor:
    """Paper texture: a slow, blotchy variation of print density plus fine fibres."""
    if float(torch.as_tensor(amount).max()) <= 0:
        return image
    n, _, height, width = image.shape
    scale = pixel_scale(image, scale)
    blotches = noise_field((n, 1, height, width), generator, sigma_px=40 * scale, like=image)
    fibres = noise_field((n, 1, height, width), generator, sigma_px=max(0.5, 1.5 * scale), like=image)
    texture = 0.8 * blotches + 0.4 * fibres
    return (image * (1 + _param(amount, image) * texture)).clamp(0.0, 1.0)


def damage(image: torch.Tensor, generator: torch.Generator, *, dust: float = 0.0, scratches: float = 0.0,
           scale: float | None = None) -> torch.Tensor:
    """Dust specks (dark and light) and thin, long scratches; ``dust`` and ``scratches`` are densities
    (about 0..1). Positions are random (seeded); the result is differentiable in the image."""
    if dust <= 0 and scratches <= 0:
        return image
    import cv2
    import numpy as np

    n, _, height, width = image.shape
    scale = pixel_scale(image, scale)
    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    masks = np.zeros((n, 2, height, width), dtype=np.float32)  # channel 0: darken, 1: lighten
    for index in range(n):
        for _ in range(rng.poisson(dust * 60)):
            centre = (int(rng.integers(width)), int(rng.integers(height)))
            radius = max(1, round(float(rng.uniform(0.5, 2.5)) * scale))
            cv2.circle(masks[index, int(rng.integers(2))], centre, radius, float(rng.uniform(0.4, 1.0)), -1,
                       cv2.LINE_AA)
        for _ in range(rng.poisson(scratches * 6)):
            x0 = float(rng.uniform(0, width))
            points = np.stack([x0 + np.cumsum(rng.normal(0, 0.004 * width, 8)),
                               np.linspace(rng.uniform(-0.2, 0.5) * height, rng.uniform(0.5, 1.2) * height, 8)], 1)
            thickness = max(1, round(float(rng.uniform(0.6, 1.5)) * scale))
            cv2.polylines(masks[index, 1], [points.astype(np.int32)], False, float(rng.uniform(0.3, 0.8)), thickness,
                          cv2.LINE_AA)
    mask = torch.from_numpy(masks).to(image.device, image.dtype).clamp(0, 1)
    darken, lighten = mask[:, :1], mask[:, 1:]
    return image * (1 - darken) * (1 - lighten) + 0.08 * darken + 0.95 * lighten


__all__ = ["blur", "colour_balance", "damage", "grain", "halation", "luma", "noise_field", "paper", "pixel_scale",
           "saturate", "soften", "tint", "tone_curve", "vignette"]
