"""Content and style distances for style transfer, measured on teacher features (relu1_1, relu2_1, relu3_1).

All are relative (divided by the target's energy) and per sample, so they read the same at any image size
and are comparable between methods: the decoder trains on them, the Gatys baseline optimises them and
`patina eval stylize` reports them.
"""

from __future__ import annotations

import torch

from patina.losses.perceptual import gram_matrix
from patina.ops.fusion import mean_std


def content_distance(output: list[torch.Tensor], content: list[torch.Tensor]) -> torch.Tensor:
    """Relative squared error of the relu3_1 features: ||f(out) - f(content)||^2 / ||f(content)||^2, shape (N,)."""
    out, target = output[-1], content[-1]
    return (out - target).pow(2).flatten(1).mean(1) / target.pow(2).flatten(1).mean(1).clamp_min(1e-8)


def statistics_distance(output: list[torch.Tensor], style: list[torch.Tensor]) -> torch.Tensor:
    """AdaIN's style loss, relative: per layer the squared error of the channel means and standard deviations
    over their squared size, averaged over layers; shape (N,). Sizes of output and style may differ."""
    total = 0.0
    for out, target in zip(output, style):
        (o_mean, o_std), (t_mean, t_std) = mean_std(out), mean_std(target)
        error = (o_mean - t_mean).pow(2) + (o_std - t_std).pow(2)
        total = total + error.flatten(1).mean(1) / (t_mean.pow(2) + t_std.pow(2)).flatten(1).mean(1).clamp_min(1e-8)
    return total / len(output)


def gram_distance(output: list[torch.Tensor], style: list[torch.Tensor]) -> torch.Tensor:
    """Gatys' style loss, relative: per layer ||G(out) - G(style)||_F^2 / ||G(style)||_F^2, averaged over
    layers; shape (N,). Sizes of output and style may differ (the Gram matrices are normalised by H*W)."""
    total = 0.0
    for out, target in zip(output, style):
        o_gram, t_gram = gram_matrix(out), gram_matrix(target)
        total = total + (o_gram - t_gram).pow(2).flatten(1).sum(1) / t_gram.pow(2).flatten(1).sum(1).clamp_min(1e-12)
    return total / len(output)


__all__ = ["content_distance", "gram_distance", "statistics_distance"]
