"""Losses for the damage-mask segmentation net."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def dice_loss(logits: torch.Tensor, target: torch.Tensor, *, eps: float = 1.0) -> torch.Tensor:
    """1 - soft Dice coefficient per image, averaged."""
    prob = torch.sigmoid(logits.float()).flatten(1)
    target = target.float().flatten(1)
    inter = (prob * target).sum(1)
    return (1 - (2 * inter + eps) / (prob.sum(1) + target.sum(1) + eps)).mean()


def mask_loss(logits: torch.Tensor, target: torch.Tensor, *, pos_weight: float = 5.0) -> torch.Tensor:
    """Weighted BCE (damage is rare) plus Dice."""
    weight = torch.tensor(pos_weight, device=logits.device)
    bce = F.binary_cross_entropy_with_logits(logits.float(), target.float(), pos_weight=weight)
    return bce + dice_loss(logits, target)
