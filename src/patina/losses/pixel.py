"""Pixel, structural and frequency reconstruction losses."""

from __future__ import annotations

import kornia
import torch
from torch import nn


def charbonnier_loss(prediction: torch.Tensor, target: torch.Tensor, *, eps: float = 1e-3) -> torch.Tensor:
    """Smooth L1: mean(sqrt((x - y)^2 + eps^2))."""
    return torch.sqrt((prediction - target) ** 2 + eps * eps).mean()


def l1_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error."""
    return (prediction - target).abs().mean()


def ssim_loss(prediction: torch.Tensor, target: torch.Tensor, *, window_size: int = 11) -> torch.Tensor:
    """1 - SSIM, computed by kornia (gaussian window), averaged over pixels and channels."""
    return kornia.losses.ssim_loss(prediction.float(), target.float(), window_size, reduction="mean") * 2.0


def frequency_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 distance between the 2-D FFT spectra (real and imaginary parts), normalised by image size."""
    pred_f = torch.fft.rfft2(prediction.float(), norm="ortho")
    target_f = torch.fft.rfft2(target.float(), norm="ortho")
    return (torch.view_as_real(pred_f) - torch.view_as_real(target_f)).abs().mean()


class CharbonnierLoss(nn.Module):
    """Module form of :func:`charbonnier_loss`."""

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return charbonnier_loss(prediction, target, eps=self.eps)


class SSIMLoss(nn.Module):
    """Module form of :func:`ssim_loss`."""

    def __init__(self, window_size: int = 11) -> None:
        super().__init__()
        self.window_size = window_size

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ssim_loss(prediction, target, window_size=self.window_size)


class FrequencyLoss(nn.Module):
    """Module form of :func:`frequency_loss`."""

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return frequency_loss(prediction, target)
