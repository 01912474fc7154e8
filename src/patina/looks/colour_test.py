"""Is a photograph already in colour? A measured test on chroma statistics, for colorize's "leave colour alone".

A monochrome print - gray, or toned (sepia, selenium, gold, cyanotype), or faded and yellowed - has one
dye or pigment: its chroma is a function of its density (L*), plus slow fields across the sheet (uneven
toning, yellowed edges, stains). A colour photograph's chroma changes from object to object, at edges that
L* does not explain. So the test removes from the (a*, b*) of a small copy the median chroma at each L*
and then the slowly varying part of what is left (a wide Gaussian), and looks at the colour that remains
(``local_chroma``). Two more cues catch colour photos whose colours follow lightness closely: how many hues
the chroma spans (``hue_spread``), and chroma beyond what a toned print reaches (``chroma``).

The thresholds were set on the training photos (colour) and on monochrome prints made from them (gray;
toned at the usual hues or any, up to 30 Lab units, unevenly; stains; fading and casts; grain; JPEG):
``benchmarks/colour_detection.py --training``, which also measures the evaluation sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from kornia.color import rgb_to_lab
from kornia.filters import gaussian_blur2d

from patina.looks.match import at_side

TEST_SIDE = 256
"""Long side (px) of the copy the test measures: area averaging there also removes most chroma noise."""
LIGHT_STEP = 4.0
"""Width (L* units) of the lightness bands whose median chroma a monochrome print is expected to have."""
SLOW_FIELD_SIGMA = 1 / 12
"""Gaussian sigma, as a fraction of the long side, of the slow chroma fields taken for toning and stains."""
LOCAL_CHROMA_LIMIT = 10.0
"""Colour when the 95th percentile of the remaining chroma exceeds this (Lab units)..."""
HUE_SPREAD_LIMIT = 0.2
CHROMA_LIMIT = 8.0
"""...or when the hues spread beyond this (0: one hue, 1: all) with a 90th-percentile chroma above CHROMA_LIMIT..."""
VIVID_LIMIT = 45.0
"""...or when the 90th-percentile chroma is above this, more than toning gives a print."""


@dataclass(frozen=True)
class ChromaStatistics:
    """What the colour test measured on a photo."""

    local_chroma: float
    """95th percentile (Lab units) of the chroma that neither lightness nor slow fields explain."""
    hue_spread: float
    """Chroma-weighted circular variance of the hues (0: one hue, 1: hues all round the circle)."""
    chroma: float
    """90th percentile of the chroma (Lab units): how colourful the photo is at all."""

    @property
    def is_colour(self) -> bool:
        """True for a colour photograph, False for a monochrome one (gray, toned, faded or stained)."""
        return (self.local_chroma > LOCAL_CHROMA_LIMIT or self.chroma > VIVID_LIMIT
                or (self.hue_spread > HUE_SPREAD_LIMIT and self.chroma > CHROMA_LIMIT))

    def describe(self) -> str:
        """One line for a person: the verdict and the numbers behind it."""
        verdict = "colour" if self.is_colour else "monochrome"
        return (f"{verdict} (colour beyond tone {self.local_chroma:.1f} of {LOCAL_CHROMA_LIMIT:g}, chroma "
                f"{self.chroma:.1f} of {VIVID_LIMIT:g}, hue spread {self.hue_spread:.2f} of {HUE_SPREAD_LIMIT:g})")


def _median_chroma_by_light(light: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """The median (a*, b*) of each ``LIGHT_STEP`` band of L*, at every pixel: (2, K) for K pixels; a band
    with fewer than 16 pixels takes the overall median."""
    band = (light / LIGHT_STEP).long()
    overall = ab.median(dim=1).values
    table = overall[:, None].repeat(1, int(100 / LIGHT_STEP) + 1)
    for index in band.unique().tolist():
        members = band == index
        if int(members.sum()) >= 16:
            table[:, index] = ab[:, members].median(dim=1).values
    return table[:, band]


def chroma_statistics(image: torch.Tensor) -> ChromaStatistics:
    """The colour test's measurements of a (1, 3, H, W) sRGB image in [0, 1]."""
    small = at_side(image, min(TEST_SIDE, max(image.shape[-2:]))).clamp(0, 1)
    lab = rgb_to_lab(small)[0]
    light, ab = lab[0], lab[1:]
    usable = (light > 8) & (light < 96)  # chroma near black and white is mostly noise and clipping
    if int(usable.sum()) < 64:
        usable = torch.ones_like(usable)
    residual = torch.zeros_like(ab)
    residual[:, usable] = ab[:, usable] - _median_chroma_by_light(light[usable], ab[:, usable])
    sigma = SLOW_FIELD_SIGMA * max(light.shape)
    size = min(2 * int(3 * sigma) + 1, 2 * ((min(light.shape) - 1) // 2) + 1)  # odd, and no wider than the photo
    weight = usable[None, None].float()
    blur = lambda x: gaussian_blur2d(x, (size, size), (sigma, sigma), border_type="reflect")  # noqa: E731
    slow = blur(residual[None] * weight) / blur(weight).clamp_min(1e-3)
    remaining = residual - slow[0] * weight[0]
    local = torch.hypot(remaining[0], remaining[1])[usable]  # (hypot: much faster than norm over dim 0)
    chroma = torch.hypot(ab[0], ab[1])[usable]
    hues = torch.atan2(ab[1][usable], ab[0][usable])
    weights = chroma * (chroma > 4)
    total = float(weights.sum())
    resultant = math.hypot(float((weights * hues.cos()).sum()), float((weights * hues.sin()).sum()))
    return ChromaStatistics(local_chroma=float(local.quantile(0.95)),
                            hue_spread=1.0 - resultant / total if total > 0 else 0.0,
                            chroma=float(chroma.quantile(0.9)))


def is_colour_photo(image: torch.Tensor) -> bool:
    """True when a (1, 3, H, W) sRGB image in [0, 1] is a colour photograph (see :class:`ChromaStatistics`)."""
    return chroma_statistics(image).is_colour


__all__ = ["ChromaStatistics", "chroma_statistics", "is_colour_photo"]
