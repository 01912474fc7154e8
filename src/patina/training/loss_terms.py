"""Named, weighted loss terms: the config gives the weights, the task computes the terms."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import torch

LossTerm = torch.Tensor | Callable[[], torch.Tensor]
"""A term's value, or a function computing it (called only when the term's weight is not zero)."""


def loss_weights(loss_config: Any) -> dict[str, float]:
    """The numeric fields of a loss config dataclass (pixel, perceptual, adversarial, ...) by name."""
    return {name: float(value) for name, value in dataclasses.asdict(loss_config).items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


class LossTerms:
    """Sums ``weight * term`` over the named terms whose weight is not zero, logging each as ``g/<name>``."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = dict(weights)

    def weight(self, name: str) -> float:
        return self.weights.get(name, 0.0)

    def total(self, terms: Mapping[str, LossTerm], losses: dict[str, float]) -> torch.Tensor:
        """The weighted sum of ``terms`` in their order, each weighted term's value recorded in ``losses``."""
        total: torch.Tensor | None = None
        for name, term in terms.items():
            weight = self.weight(name)
            if not weight:
                continue
            value = term() if callable(term) else term
            losses[f"g/{name}"] = value.item()
            total = weight * value if total is None else total + weight * value
        if total is None:
            raise ValueError(f"every loss term has weight 0: {', '.join(terms)}")
        return total
