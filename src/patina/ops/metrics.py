"""Image quality metrics on (N, C, H, W) tensors in [0, 1]."""

from __future__ import annotations

import kornia
import torch

LUMA_BT601 = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)


def rgb_to_y(image: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma (the 'Y channel' of SR papers), in [16/255, 235/255] for inputs in [0, 1]."""
    r, g, b = image[:, 0:1], image[:, 1:2], image[:, 2:3]
    return LUMA_BT601[0] * r + LUMA_BT601[1] * g + LUMA_BT601[2] * b + 16.0 / 255.0


def crop_border(image: torch.Tensor, border: int) -> torch.Tensor:
    """Remove ``border`` pixels from every side."""
    return image[..., border:-border, border:-border] if border > 0 else image


def psnr(prediction: torch.Tensor, target: torch.Tensor, *, border: int = 0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB (max value 1), averaged over the batch; inputs are quantised to 8 bit."""
    prediction = torch.round(crop_border(prediction, border).clamp(0, 1).float() * 255) / 255
    target = torch.round(crop_border(target, border).clamp(0, 1).float() * 255) / 255
    mse = ((prediction - target) ** 2).flatten(1).mean(1).clamp_min(1e-12)
    return (10 * torch.log10(1.0 / mse)).mean()


def ssim(prediction: torch.Tensor, target: torch.Tensor, *, border: int = 0, window_size: int = 11) -> torch.Tensor:
    """Structural similarity (gaussian window, kornia), averaged over pixels, channels and batch."""
    prediction = torch.round(crop_border(prediction, border).clamp(0, 1).float() * 255) / 255
    target = torch.round(crop_border(target, border).clamp(0, 1).float() * 255) / 255
    return kornia.metrics.ssim(prediction, target, window_size).mean()


def _y_255(image: torch.Tensor, border: int) -> torch.Tensor:
    """8-bit-quantised RGB -> unrounded BT.601 Y in [0, 255], float64, border cropped."""
    quantised = torch.round(image.clamp(0, 1).double() * 255) / 255
    return crop_border(rgb_to_y(quantised), border) * 255


def psnr_y(prediction: torch.Tensor, target: torch.Tensor, *, border: int = 0) -> float:
    """The super-resolution papers' PSNR: both images as 8-bit RGB, their BT.601 Y channel (not rounded),
    ``border`` pixels cropped on every side (the scale, by convention), averaged over the batch."""
    diff = _y_255(prediction, border) - _y_255(target, border)
    mse = diff.pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return float((10 * torch.log10(255.0**2 / mse)).mean())


def ssim_y(prediction: torch.Tensor, target: torch.Tensor, *, border: int = 0) -> float:
    """SSIM (gaussian window 11, sigma 1.5) on the same Y channel as :func:`psnr_y`."""
    a, b = (_y_255(x, border).float() / 255 for x in (prediction, target))
    return float(kornia.metrics.ssim(a, b, 11).mean())
