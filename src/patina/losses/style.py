"""Content and style distances for style transfer, measured on teacher features (relu1_1, relu2_1, relu3_1).

All are relative (divided by the target's energy) and per sample, so they read the same at any image size
and are comparable between methods: the decoder trains on them, the Gatys baseline optimises them and
`patina eval stylize` reports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from patina.losses.perceptual import gram_matrix
from patina.ops.fusion import EPS, mean_std

OBJECTIVE_WEIGHTS = {"content": 1.0, "statistics": 2.0, "gram": 2.0}
"""The style transfer objective: the decoder's loss weights (configs/stylize.yaml), which the Gatys baseline
and the pipeline's refinement minimise too."""


def content_distance(output: list[torch.Tensor], content: list[torch.Tensor]) -> torch.Tensor:
    """Relative squared error of the relu3_1 features: ||f(out) - f(content)||^2 / ||f(content)||^2, shape (N,)."""
    out, target = output[-1], content[-1]
    return (out - target).pow(2).flatten(1).mean(1) / target.pow(2).flatten(1).mean(1).clamp_min(1e-8)


@dataclass(frozen=True)
class StyleSummary:
    """What the style distances need of style features, per layer: channel means and standard deviations
    (N, C, 1, 1) and Gram matrices (N, C, C). Computed once, it spares recomputing them at every step of an
    optimisation (Gatys, refinement) whose target does not change."""

    means: list[torch.Tensor]
    stds: list[torch.Tensor]
    grams: list[torch.Tensor]

    @classmethod
    def of(cls, features: list[torch.Tensor]) -> StyleSummary:
        """The summary of ``features`` (relu1_1 .. relu3_1 of the style images)."""
        statistics = [mean_std(layer) for layer in features]
        return cls([m for m, _ in statistics], [s for _, s in statistics], [gram_matrix(layer) for layer in features])


Style = list[torch.Tensor] | StyleSummary
"""Style features, or their :class:`StyleSummary`."""


def _summary(style: Style) -> StyleSummary:
    return style if isinstance(style, StyleSummary) else StyleSummary.of(style)


def statistics_distance(output: list[torch.Tensor], style: Style) -> torch.Tensor:
    """AdaIN's style loss, relative: per layer the squared error of the channel means and standard deviations
    over their squared size, averaged over layers; shape (N,). Sizes of output and style may differ."""
    target = _summary(style)
    errors = [_statistics_error(*mean_std(out), t_mean, t_std)
              for out, t_mean, t_std in zip(output, target.means, target.stds, strict=True)]
    return sum(errors[1:], start=errors[0]) / len(errors)


def _statistics_error(o_mean: torch.Tensor, o_std: torch.Tensor, t_mean: torch.Tensor,
                      t_std: torch.Tensor) -> torch.Tensor:
    """One layer's relative statistics error, shape (N,)."""
    error = (o_mean - t_mean).pow(2) + (o_std - t_std).pow(2)
    return error.flatten(1).mean(1) / (t_mean.pow(2) + t_std.pow(2)).flatten(1).mean(1).clamp_min(1e-8)


def _gram_error(o_gram: torch.Tensor, t_gram: torch.Tensor) -> torch.Tensor:
    """One layer's relative Gram error, shape (N,)."""
    return (o_gram - t_gram).pow(2).flatten(1).sum(1) / t_gram.pow(2).flatten(1).sum(1).clamp_min(1e-12)


def gram_distance(output: list[torch.Tensor], style: Style) -> torch.Tensor:
    """Gatys' style loss, relative: per layer ||G(out) - G(style)||_F^2 / ||G(style)||_F^2, averaged over
    layers; shape (N,). Sizes of output and style may differ (the Gram matrices are normalised by H*W)."""
    target = _summary(style)
    errors = [_gram_error(gram_matrix(out), t_gram) for out, t_gram in zip(output, target.grams, strict=True)]
    return sum(errors[1:], start=errors[0]) / len(errors)


class _FeatureMoments(torch.autograd.Function):
    """Gram matrix (N, C, C) / (C*H*W) and channel means (N, C) of (N, C, H, W) features, in float32 (or
    float64), from one matrix product. The gradient comes back in the features' dtype and memory layout
    (bf16 channels-last stays so): autograd's generic formulas would copy every large layer to float32."""

    @staticmethod
    def forward(ctx: Any, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, c, h, w = features.shape
        pixels_by_channels = not features.is_contiguous()  # free view of a channels-last layer
        matrix = (features.permute(0, 2, 3, 1).reshape(n, h * w, c) if pixels_by_channels
                  else features.reshape(n, c, h * w))
        if matrix.dtype == torch.float16:  # its products overflow
            matrix = matrix.float()
        # torch.bmm takes the transposed view as it is (matmul would copy it first)
        gram = (torch.bmm(matrix.transpose(1, 2), matrix) if pixels_by_channels
                else torch.bmm(matrix, matrix.transpose(1, 2)))
        result = torch.promote_types(matrix.dtype, torch.float32)
        mean = matrix.sum(dim=1 if pixels_by_channels else 2, dtype=result) / (h * w)
        ctx.save_for_backward(matrix)
        ctx.layout = (features.shape, features.dtype, pixels_by_channels)
        return gram.to(result) / (c * h * w), mean

    @staticmethod
    def backward(ctx: Any, grad_gram: torch.Tensor, grad_mean: torch.Tensor) -> torch.Tensor:
        (matrix,) = ctx.saved_tensors
        (n, c, h, w), dtype, pixels_by_channels = ctx.layout
        symmetric = ((grad_gram + grad_gram.transpose(1, 2)) / (c * h * w)).to(matrix.dtype)
        per_channel = (grad_mean / (h * w)).to(matrix.dtype)
        if pixels_by_channels:
            grad = torch.baddbmm(per_channel[:, None, :].expand(n, h * w, c), matrix, symmetric)
            return grad.to(dtype).reshape(n, h, w, c).permute(0, 3, 1, 2)
        grad = torch.baddbmm(per_channel[:, :, None].expand(n, c, h * w), symmetric, matrix)
        return grad.to(dtype).reshape(n, c, h, w)


def moments(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Channel means and standard deviations (N, C, 1, 1) and the Gram matrix (N, C, C) of one layer, all
    float32 and differentiable, from one product (the variance is C * diag(Gram) - mean^2)."""
    channels = features.shape[1]
    gram, mean = _FeatureMoments.apply(features)
    variance = (torch.diagonal(gram, dim1=1, dim2=2) * channels - mean.pow(2)).clamp_min(0)
    return mean[..., None, None], (variance + EPS).sqrt()[..., None, None], gram


class _SquaredError(torch.autograd.Function):
    """Per sample sum((a - b)^2) in float32, shape (N,), for features of any dtype; the gradient (to ``a``
    only) stays in a's dtype and layout."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        difference = a - b
        ctx.save_for_backward(difference)
        return torch.linalg.vector_norm(difference.flatten(1), dim=1, dtype=torch.float32).pow(2)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (difference,) = ctx.saved_tensors
        return difference * (2 * grad).to(difference.dtype)[:, None, None, None], None


class StyleObjective:
    """The weighted content + style objective against fixed targets, as Gatys' optimisation and the
    pipeline's refinement minimise it: ``weights['content']`` x content distance to ``content`` (features
    of the photo) + for each style, by its share of ``style_weights``, ``weights['statistics']`` x
    statistics distance + ``weights['gram']`` x Gram distance. Calling it on features gives shape (N,).

    The same distances as :func:`content_distance`, :func:`statistics_distance` and :func:`gram_distance`,
    computed for speed: one product per layer gives the Gram matrix, means and deviations
    (:func:`moments`), and reduced-precision features (bf16 under autocast) stay so through the backward pass.
    """

    def __init__(self, content: list[torch.Tensor], styles: Sequence[Style], *, weights: dict[str, float],
                 style_weights: list[float] | None = None) -> None:
        shares = style_weights or [1.0] * len(styles)
        if len(shares) != len(styles) or min(shares) < 0 or sum(shares) <= 0:
            raise ValueError(f"style_weights must be {len(styles)} non-negative numbers, not all 0, got {shares}")
        self.content = content[-1].detach()  # the content distance reads relu3_1 only
        self.content_energy = self.content.float().pow(2).flatten(1).mean(1).clamp_min(1e-8)
        self.styles = [_summary(style) for style in styles]
        self.shares = [share / sum(shares) for share in shares]
        self.weights = dict(weights)

    def __call__(self, features: list[torch.Tensor]) -> torch.Tensor:
        last = features[-1]
        content = _SquaredError.apply(last, self.content.to(last.dtype)) / (last[0].numel() * self.content_energy)
        total = self.weights["content"] * content
        output = [moments(layer) for layer in features]
        for share, style in zip(self.shares, self.styles, strict=True):
            if share:
                statistics = sum(_statistics_error(mean, std, t_mean, t_std) for (mean, std, _), t_mean, t_std
                                 in zip(output, style.means, style.stds, strict=True)) / len(output)
                gram = sum(_gram_error(o_gram, t_gram) for (_, _, o_gram), t_gram
                           in zip(output, style.grams, strict=True)) / len(output)
                total = total + share * (self.weights["statistics"] * statistics + self.weights["gram"] * gram)
        return total


__all__ = ["OBJECTIVE_WEIGHTS", "StyleObjective", "StyleSummary", "content_distance", "gram_distance", "moments",
           "statistics_distance"]
