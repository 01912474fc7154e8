"""Losses: pixel, SSIM, frequency, adversarial, R1 / gradient penalty, feature matching, perceptual,
segmentation, style."""

from patina.losses.adversarial import (
    GanKind,
    discriminator_loss,
    feature_matching_loss,
    generator_loss,
    gradient_penalty,
    r1_penalty,
)
from patina.losses.perceptual import PerceptualLoss, VGGTeacher, gram_matrix
from patina.losses.pixel import (
    CharbonnierLoss,
    FrequencyLoss,
    SSIMLoss,
    charbonnier_loss,
    frequency_loss,
    l1_loss,
    ssim_loss,
)
from patina.losses.segmentation import dice_loss, mask_loss
from patina.losses.style import StyleObjective, StyleSummary, content_distance, gram_distance, statistics_distance

__all__ = [
    "CharbonnierLoss", "FrequencyLoss", "GanKind", "PerceptualLoss", "SSIMLoss", "StyleObjective", "StyleSummary",
    "VGGTeacher",
    "charbonnier_loss", "content_distance", "dice_loss", "discriminator_loss", "feature_matching_loss",
    "frequency_loss", "generator_loss", "gradient_penalty", "gram_distance", "gram_matrix", "l1_loss", "mask_loss",
    "r1_penalty", "ssim_loss", "statistics_distance",
]
