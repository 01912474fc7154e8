"""Content and style distances for style transfer, measured on teacher features (relu1_1, relu2_1, relu3_1).

All are relative (divided by the target's energy) and per sample, so they read the same at any image size
and are comparable between methods: the decoder trains on them, the Gatys baseline optimises them and
`patina eval stylize` reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from patina.losses.perceptual import gram_matrix
from patina.ops.fusion import mean_std

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
    def of(cls, features: list[torch.Tensor]) -> "StyleSummary":
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
    total = 0.0
    for out, t_mean, t_std in zip(output, target.means, target.stds):
        o_mean, o_std = mean_std(out)
        error = (o_mean - t_mean).pow(2) + (o_std - t_std).pow(2)
        total = total + error.flatten(1).mean(1) / (t_mean.pow(2) + t_std.pow(2)).flatten(1).mean(1).clamp_min(1e-8)
    return total / len(output)


def gram_distance(output: list[torch.Tensor], style: Style) -> torch.Tensor:
    """Gatys' style loss, relative: per layer ||G(out) - G(style)||_F^2 / ||G(style)||_F^2, averaged over
    layers; shape (N,). Sizes of output and style may differ (the Gram matrices are normalised by H*W)."""
    target = _summary(style)
    total = 0.0
    for out, t_gram in zip(output, target.grams):
        o_gram = gram_matrix(out)
        total = total + (o_gram - t_gram).pow(2).flatten(1).sum(1) / t_gram.pow(2).flatten(1).sum(1).clamp_min(1e-12)
    return total / len(output)


class StyleObjective:
    """The weighted content + style objective against fixed targets, as Gatys' optimisation and the
    pipeline's refinement minimise it: ``weights['content']`` x content distance to ``content`` (features
    of the photo) + for each style, by its share of ``style_weights``, ``weights['statistics']`` x
    statistics distance + ``weights['gram']`` x Gram distance. Calling it on features gives shape (N,)."""

    def __init__(self, content: list[torch.Tensor], styles: list[Style], *, weights: dict[str, float],
                 style_weights: list[float] | None = None) -> None:
        shares = style_weights or [1.0] * len(styles)
        if len(shares) != len(styles) or min(shares) < 0 or sum(shares) <= 0:
            raise ValueError(f"style_weights must be {len(styles)} non-negative numbers, not all 0, got {shares}")
        self.content = [content[-1].detach()]  # content_distance reads relu3_1 only
        self.styles = [_summary(style) for style in styles]
        self.shares = [share / sum(shares) for share in shares]
        self.weights = dict(weights)

    def __call__(self, features: list[torch.Tensor]) -> torch.Tensor:
        total = self.weights["content"] * content_distance(features, self.content)
        for share, style in zip(self.shares, self.styles):
            if share:
                total = total + share * (self.weights["statistics"] * statistics_distance(features, style)
                                         + self.weights["gram"] * gram_distance(features, style))
        return total


__all__ = ["OBJECTIVE_WEIGHTS", "StyleObjective", "StyleSummary", "content_distance", "gram_distance",
           "statistics_distance"]
