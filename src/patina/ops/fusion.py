"""Feature fusion for style transfer: AdaIN (mean / std) and whitening-colouring (WCT), with an alpha
trade-off and weighted mixes of several styles. Features are (N, C, H, W) tensors (encoder activations).

:func:`adain` fuses a batch at once (training); :func:`fusion_map` gives either fusion as an affine map
from statistics (:class:`FeatureStatistics`), which the pipeline applies tile by tile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from patina.core.errors import ParameterError

EPS = 1e-5


def mean_std(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel means and standard deviations, shaped (N, C, 1, 1)."""
    flat = features.flatten(2)
    mean = flat.mean(dim=2, keepdim=True)
    variance = (flat - mean).pow(2).mean(dim=2)  # as var(unbiased=False), several times faster on the CPU
    return mean[..., None], (variance + EPS).sqrt()[..., None, None]


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
        raise ParameterError(f"alpha must be a number from 0 (content) to 1 (full style), got {alpha!r}")
    return float(alpha)


def _check_weights(styles: Sequence[object], weights: Sequence[float] | None) -> list[float]:
    if not styles:
        raise ParameterError("give at least one style")
    weights = [1.0] * len(styles) if weights is None else [float(w) for w in weights]
    if len(weights) != len(styles) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ParameterError(f"style weights must be {len(styles)} non-negative numbers with a positive sum, "
                             f"got {list(weights)}")
    total = sum(weights)
    return [w / total for w in weights]


def _weighted_sum(weights: Sequence[float], tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    terms = [w * t for w, t in zip(weights, tensors, strict=True)]
    return sum(terms[1:], start=terms[0])


def adain(content: torch.Tensor, styles: Sequence[torch.Tensor], *, weights: Sequence[float] | None = None,
          alpha: float = 1.0) -> torch.Tensor:
    """Adaptive instance normalisation: the content features re-scaled to the (weighted mean of the) styles'
    channel means and standard deviations, blended with the content features by ``alpha``."""
    alpha, weights = _check_alpha(alpha), _check_weights(styles, weights)
    c_mean, c_std = mean_std(content)
    stats = [mean_std(style) for style in styles]
    s_mean = _weighted_sum(weights, [m for m, _ in stats])
    s_std = _weighted_sum(weights, [s for _, s in stats])
    fused = (content - c_mean) / c_std * s_std + s_mean
    return content + alpha * (fused - content)


def _covariance(flat: torch.Tensor) -> torch.Tensor:
    return flat @ flat.T / max(1, flat.shape[1] - 1)


def _matrix_power(covariance: torch.Tensor, power: float) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(covariance.double() + EPS * torch.eye(covariance.shape[0], dtype=torch.float64))
    return (vectors * values.clamp_min(EPS).pow(power)) @ vectors.T


@dataclass(frozen=True)
class FeatureStatistics:
    """What fusion needs to know of one image's features: channel means (C,), covariance (C, C), float64."""

    mean: torch.Tensor
    covariance: torch.Tensor

    @classmethod
    def of(cls, features: torch.Tensor) -> FeatureStatistics:
        """Statistics of (1, C, H, W) features."""
        if features.ndim != 4 or features.shape[0] != 1:
            raise ParameterError(f"expected (1, C, H, W) features, got shape {tuple(features.shape)}")
        flat = features[0].flatten(1).double()
        mean = flat.mean(dim=1, keepdim=True)
        return cls(mean[:, 0], _covariance(flat - mean))

    @property
    def std(self) -> torch.Tensor:
        return (self.covariance.diagonal() + EPS).sqrt()


@dataclass(frozen=True)
class FusionMap:
    """Fusion as the affine map it is: fused = matrix @ f + bias per feature vector (alpha included), so a
    large image can be fused tile by tile with statistics of the whole image, seamlessly."""

    matrix: torch.Tensor
    bias: torch.Tensor

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        matrix, bias = self.matrix.to(features), self.bias.to(features)
        return torch.einsum("dc,nchw->ndhw", matrix, features) + bias[None, :, None, None]


def fusion_map(content: FeatureStatistics, styles: Sequence[FeatureStatistics], *, method: str = "adain",
               weights: Sequence[float] | None = None, alpha: float = 1.0) -> FusionMap:
    """The AdaIN (per-channel mean / std) or WCT (whitening-colouring with the covariance) map taking
    features with ``content``'s statistics to the weighted styles', blended with the identity by ``alpha``."""
    if method not in FUSIONS:
        raise ParameterError(f"fusion must be one of {', '.join(FUSIONS)}, got {method!r}")
    alpha, weights = _check_alpha(alpha), _check_weights(styles, weights)
    s_mean = _weighted_sum(weights, [s.mean for s in styles])
    if method == "adain":
        s_std = _weighted_sum(weights, [s.std for s in styles])
        matrix = torch.diag(s_std / content.std)
    else:
        s_cov = _weighted_sum(weights, [s.covariance for s in styles])
        matrix = _matrix_power(s_cov, 0.5) @ _matrix_power(content.covariance, -0.5)
    bias = s_mean - matrix @ content.mean
    identity = torch.eye(matrix.shape[0], dtype=matrix.dtype)
    return FusionMap((identity + alpha * (matrix - identity)).float(), (alpha * bias).float())


def wct(content: torch.Tensor, styles: Sequence[torch.Tensor], *, weights: Sequence[float] | None = None,
        alpha: float = 1.0) -> torch.Tensor:
    """Whitening-colouring transform (Li et al. 2017): the content features are whitened (identity
    covariance) and coloured with the styles' (weighted) covariance and mean; blended by ``alpha``.
    Batch size 1."""
    _check_alpha(alpha)
    _check_weights(styles, weights)
    if content.shape[0] != 1:
        raise ParameterError("wct works on one image at a time")
    style_stats = [FeatureStatistics.of(style) for style in styles]
    return fusion_map(FeatureStatistics.of(content), style_stats, method="wct", weights=weights, alpha=alpha)(content)


FUSIONS = ("adain", "wct")

__all__ = ["FUSIONS", "FeatureStatistics", "FusionMap", "adain", "fusion_map", "mean_std", "wct"]
