"""Colour-space ops for colorization: CIE Lab (via kornia), luminance, chroma error and colourfulness.

Tensors are (N, 3, H, W) sRGB in [0, 1] unless stated; Lab is L in 0..100, a and b in about -128..127.
Every op is differentiable (kornia), so training losses and evaluation metrics use the same code.
"""

from __future__ import annotations

import torch
from kornia.color import lab_to_rgb, rgb_to_lab

L_SCALE = 100.0
"""Networks see L / 100 (0..1)."""

AB_SCALE = 100.0
"""Networks predict (a, b) / 100 (about -1..1)."""


def lightness(rgb: torch.Tensor) -> torch.Tensor:
    """CIE L* of an sRGB image, scaled to 0..1: (N, 3, H, W) -> (N, 1, H, W)."""
    return rgb_to_lab(rgb.float())[:, :1] / L_SCALE


def split_lab(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(L / 100, ab / 100) of an sRGB image: (N, 1, H, W) and (N, 2, H, W)."""
    lab = rgb_to_lab(rgb.float())
    return lab[:, :1] / L_SCALE, lab[:, 1:] / AB_SCALE


def join_lab(light: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] from L / 100 (N, 1, H, W) and ab / 100 (N, 2, H, W); out-of-gamut colours are clipped."""
    lab = torch.cat([light.float() * L_SCALE, chroma.float() * AB_SCALE], dim=1)
    return lab_to_rgb(lab, clip=True)


def join_lab_in_gamut(light: torch.Tensor, chroma: torch.Tensor, *, steps: int = 10) -> torch.Tensor:
    """Like :func:`join_lab`, but a colour outside the sRGB gamut loses chroma, not lightness: its (a*, b*)
    is scaled down (bisection, ``steps`` halvings) until it fits, so the result keeps L* exactly (up to
    rounding). Not meant for gradients."""
    light, chroma = light.float(), chroma.float()
    rgb = lab_to_rgb(torch.cat([light * L_SCALE, chroma * AB_SCALE], dim=1), clip=False)
    outside = ((rgb < -1e-4) | (rgb > 1 + 1e-4)).any(dim=1)  # (N, H, W)
    if not outside.any():
        return rgb.clamp_(0.0, 1.0)
    index = outside.nonzero(as_tuple=True)
    pick = lambda x: x.permute(0, 2, 3, 1)[index].T[None, :, :, None]  # (1, C, K, 1)  # noqa: E731
    l_out, ab_out = pick(light) * L_SCALE, pick(chroma) * AB_SCALE
    low, high = torch.zeros_like(l_out), torch.ones_like(l_out)
    for _ in range(steps):
        middle = (low + high) / 2
        trial = lab_to_rgb(torch.cat([l_out, ab_out * middle], dim=1), clip=False)
        fits = ((trial >= -1e-4) & (trial <= 1 + 1e-4)).all(dim=1, keepdim=True)
        low, high = torch.where(fits, middle, low), torch.where(fits, high, middle)
    fitted = lab_to_rgb(torch.cat([l_out, ab_out * low], dim=1), clip=True)
    result = rgb.permute(0, 2, 3, 1).clone()
    result[index] = fitted[0, :, :, 0].T
    return result.permute(0, 3, 1, 2).clamp_(0.0, 1.0)


def gray_rgb(rgb: torch.Tensor) -> torch.Tensor:
    """The black-and-white version of an sRGB image: same L*, no chroma (a = b = 0), as RGB."""
    light = lightness(rgb)
    return join_lab(light, light.new_zeros((light.shape[0], 2, *light.shape[-2:])))


def chroma_error(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean distance in the (a*, b*) plane between two sRGB images, per batch item: (N,)."""
    _, ab_pred = split_lab(prediction)
    _, ab_true = split_lab(target)
    return ((ab_pred - ab_true) * AB_SCALE).pow(2).sum(dim=1).clamp_min(1e-12).sqrt().flatten(1).mean(dim=1)


def colourfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler & Suesstrunk (2003) colourfulness M of sRGB images on the 0..255 scale, per batch item: (N,).

    rg = R - G, yb = (R + G) / 2 - B; M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2).
    About 0 for gray images, 15 'slightly', 33 'moderately', 59 'quite', 82+ 'highly' colourful.
    """
    scaled = rgb.float() * 255.0
    red, green, blue = scaled[:, 0].flatten(1), scaled[:, 1].flatten(1), scaled[:, 2].flatten(1)
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = (rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False)).sqrt()
    centre = (rg.mean(dim=1).pow(2) + yb.mean(dim=1).pow(2)).sqrt()
    return spread + 0.3 * centre


__all__ = ["AB_SCALE", "L_SCALE", "chroma_error", "colourfulness", "gray_rgb", "join_lab", "join_lab_in_gamut",
           "lightness", "split_lab"]
