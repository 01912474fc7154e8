"""Limited-memory BFGS for a fixed, small budget of evaluations (the stylize pipeline's refinement).

torch.optim.LBFGS sizes its first step so that the whole change sums to at most ``lr`` in absolute value:
for a picture-sized tensor that move is invisible, and one of a handful of evaluations is spent on it.
Here the first step moves by a given root mean square along the negative gradient; later steps are the
usual two-loop recursion with unit length (no line search, whose extra evaluations a budget of five
cannot afford), and the best point seen is returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

LossAndGradient = Callable[[torch.Tensor], tuple[float, torch.Tensor]]
"""Maps a point to (loss, gradient of the loss at it, shaped like the point)."""


def _dot(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.dot(a.flatten(), b.flatten()))


def lbfgs(start: torch.Tensor, loss_and_gradient: LossAndGradient, *, steps: int, first_step: float,
          history: int = 8) -> torch.Tensor:
    """Minimise from ``start`` with ``steps`` L-BFGS steps (``steps`` + 1 evaluations): the first moves
    ``first_step`` (root mean square of the change) down the gradient, the rest use the last ``history``
    curvature pairs. Returns the point with the lowest loss seen (``start`` if no step lowered it); stops
    early at a non-finite loss."""
    if steps < 0 or first_step <= 0 or history < 1:
        raise ValueError(f"need steps >= 0, first_step > 0 and history >= 1, got {steps}, {first_step}, {history}")
    point = start.detach()
    loss, gradient = loss_and_gradient(point)
    best, best_loss = point, loss
    pairs: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (s, y, 1 / y.s)
    for _ in range(steps):
        if not math.isfinite(loss):
            break
        direction = -_inverse_hessian_times(gradient, pairs) if pairs else \
            -gradient * (first_step / float(gradient.pow(2).mean().sqrt().clamp_min(1e-20)))
        candidate = point + direction
        new_loss, new_gradient = loss_and_gradient(candidate)
        change = new_gradient - gradient
        curvature = _dot(direction, change)
        if curvature > 1e-10 * float(direction.norm() * change.norm()):  # keeps the estimate positive definite
            pairs = [*pairs, (direction, change, 1.0 / curvature)][-history:]
        point, loss, gradient = candidate, new_loss, new_gradient
        if loss < best_loss:
            best, best_loss = point, loss
    return best


def _inverse_hessian_times(gradient: torch.Tensor, pairs: list[tuple[torch.Tensor, torch.Tensor, float]]
                           ) -> torch.Tensor:
    """The two-loop recursion: the L-BFGS estimate of the inverse Hessian times ``gradient``."""
    q = gradient.clone()
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * _dot(s, q)
        q -= alpha * y
        alphas.append(alpha)
    s, y, _ = pairs[-1]
    r = q * (_dot(s, y) / _dot(y, y))
    for (s, y, rho), alpha in zip(pairs, reversed(alphas), strict=True):
        r += s * (alpha - rho * _dot(y, r))
    return r


__all__ = ["LossAndGradient", "lbfgs"]
