"""Feature fusion for style transfer: AdaIN (mean / std) and whitening-colouring (WCT), with an alpha
trade-off and weighted mixes of several styles. Features are (1, C, H, W) tensors (encoder activations)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from patina.core.errors import ParameterError

EPS = 1e-5


def mean_std(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel means and standard deviations, shaped (N, C, 1, 1)."""
    flat = features.flatten(2)
    return flat.mean(dim=2)[..., None, None], (flat.var(dim=2, unbiased=False) + EPS).sqrt()[..., None, None]


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
        raise ParameterError(f"alpha must be a number from 0 (content) to 1 (full style), got {alpha!r}")
    return float(alpha)


def _check_weights(styles: Sequence[torch.Tensor], weights: Sequence[float] | None) -> list[float]:
    if not styles:
        raise ParameterError("give at least one style")
    weights = [1.0] * len(styles) if weights is None else [float(w) for w in weights]
    if len(weights) != len(styles) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ParameterError(f"style weights must be {len(styles)} non-negative numbers with a positive sum, "
                             f"got {list(weights)}")
    total = sum(weights)
    return [w / total for w in weights]


def adain(content: torch.Tensor, styles: Sequence[torch.Tensor], *, weights: Sequence[float] | None = None,
          alpha: float = 1.0) -> torch.Tensor:
    """Adaptive instance normalisation: the content features re-scaled to the (weighted mean of the) styles'
    channel means and standard deviations, blended with the content features by ``alpha``."""
    alpha, weights = _check_alpha(alpha), _check_weights(styles, weights)
    c_mean, c_std = mean_std(content)
    stats = [mean_std(style) for style in styles]
    s_mean = sum(w * m for w, (m, _) in zip(weights, stats))
    s_std = sum(w * s for w, (_, s) in zip(weights, stats))
    fused = (content - c_mean) / c_std * s_std + s_mean
    return content + alpha * (fused - content)


def _covariance(flat: torch.Tensor) -> torch.Tensor:
    return flat @ flat.T / max(1, flat.shape[1] - 1)


def _matrix_power(covariance: torch.Tensor, power: float) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(covariance.double() + EPS * torch.eye(covariance.shape[0], dtype=torch.float64))
    return (vectors * values.clamp_min(EPS).pow(power)) @ vectors.T


def wct(content: torch.Tensor, styles: Sequence[torch.Tensor], *, weights: Sequence[float] | None = None,
        alpha: float = 1.0) -> torch.Tensor:
    """Whitening-colouring transform (Li et al. 2017): the content features are whitened (identity
    covariance) and coloured with the styles' (weighted) covariance and mean; blended by ``alpha``.
    Batch size 1."""
    alpha, weights = _check_alpha(alpha), _check_weights(styles, weights)
    if content.shape[0] != 1:
        raise ParameterError("wct works on one image at a time")
    channels = content.shape[1]
    flat = content[0].flatten(1).double()
    c_mean = flat.mean(dim=1, keepdim=True)
    whitened = _matrix_power(_covariance(flat - c_mean), -0.5) @ (flat - c_mean)
    s_mean = torch.zeros(channels, 1, dtype=torch.float64)
    s_cov = torch.zeros(channels, channels, dtype=torch.float64)
    for weight, style in zip(weights, styles):
        s_flat = style[0].flatten(1).double()
        mean = s_flat.mean(dim=1, keepdim=True)
        s_mean += weight * mean
        s_cov += weight * _covariance(s_flat - mean)
    fused = (_matrix_power(s_cov, 0.5) @ whitened + s_mean).to(content.dtype).view_as(content)
    return content + alpha * (fused - content)


__all__ = ["adain", "mean_std", "wct"]
