"""Colorization generator: a residual U-Net predicting chroma (a*, b*) from luminance (L*)."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from patina.networks.blocks import UNetBody, zero_init
from patina.networks.efficientnet import FEATURE_CHANNELS
from patina.networks.semantic import SemanticEncoder, resized
from patina.networks.stylize import StyleEncoder
from patina.ops.color import AB_SCALE, join_lab

AB_LIMIT = 110
"""Chroma bins cover a*, b* in [-AB_LIMIT, AB_LIMIT] (Lab units); sRGB reaches about -86..98 / -108..94."""
PRIOR_MIX = 0.5
"""Rebalancing weights are 1 / ((1 - PRIOR_MIX) prior + PRIOR_MIX / Q), Zhang et al.'s lambda."""
LIGHTNESS_BANDS = 16
"""Reference colours guide the decoding band by band of L* (equal bands of 0..100): a reference's sky
steers the bright parts of a photo, its shadows the dark ones."""
BAND_SHRINK = 0.1
"""A band's histogram is pulled toward the reference's whole one as if it had this share of an even band's
colours more, all from the whole histogram: a band with few reference colours leans on all of them."""


@dataclass(frozen=True)
class ChromaDecoding:
    """How predicted chroma is turned into colour: ``gain`` scales it (a regression head's calibration);
    a classification head's annealed mean uses ``temperature``, ``rebalance`` and ``guide`` (see
    :class:`ColorizeGenerator`). The default is the plain prediction, as in training."""

    rebalance: float = 0.0
    temperature: float = 1.0
    gain: float = 1.0
    guide: torch.Tensor | None = None
    """Log-weights added to the chroma bins' scores, colours to lean toward (:meth:`ColorizeGenerator.guide`):
    (Q,) for every pixel, or (:data:`LIGHTNESS_BANDS`, Q), a row per band of L*."""


PLAIN = ChromaDecoding()


def lightness_band(lightness: torch.Tensor) -> torch.Tensor:
    """The band (0 .. :data:`LIGHTNESS_BANDS` - 1) of each L* / 100 value, as int64 of the same shape."""
    return (lightness.float() * LIGHTNESS_BANDS).long().clamp(0, LIGHTNESS_BANDS - 1)


def sum_or_none(values: Sequence[torch.Tensor | None]) -> torch.Tensor | None:
    """The sum of the tensors among ``values``; None when there are none."""
    present = [value for value in values if value is not None]
    return sum(present[1:], present[0]) if present else None


@functools.lru_cache(maxsize=4)
def chroma_bins(step: int) -> torch.Tensor:
    """Centres of the (a*, b*) grid cells of ``step`` Lab units that hold some sRGB colour (at any L*),
    as (Q, 2) in ab / 100 units (step 10: 238 bins)."""
    from kornia.color import lab_to_rgb

    axis = torch.arange(-AB_LIMIT, AB_LIMIT + 1, step, dtype=torch.float32)
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    centres = torch.stack([a.flatten(), b.flatten()], dim=1)  # (G, 2)
    # a cell is kept when some colour inside it (centre or a point half-way to an edge) is in gamut
    offsets = torch.tensor([[0, 0], [1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=torch.float32) * step / 4
    light = torch.linspace(0, 100, 51)
    points = (centres[:, None, None, :] + offsets[None, :, None, :]).expand(-1, -1, len(light), -1)
    lab = torch.cat([light.view(1, 1, -1, 1).expand(*points.shape[:3], 1), points], dim=-1)  # (G, 5, 51, 3)
    rgb = lab_to_rgb(lab.reshape(len(centres), -1, 3).permute(2, 0, 1)[None], clip=False)[0]  # (3, G, 255)
    inside = ((rgb >= 0) & (rgb <= 1)).all(dim=0).any(dim=1)
    return centres[inside] / 100.0


class ColorizeGenerator(nn.Module):
    """pix2pix-style generator for colorization in CIE Lab.

    Input: L* / 100 (N, 1, H, W) in [0, 1]. Output: (a*, b*) / 100 (N, 2, H, W), about -1..1.
    The luminance is pixel-unshuffled by ``unshuffle``, run through a U-Net whose deepest level also
    mixes in the whole picture's mean features (global context: sky, skin, foliage are judged on the
    whole photo). H and W must be multiples of ``size_multiple``.

    Two heads:

    * ``bin_step`` 0: regression; the chroma itself, shuffled back to full size. A regression-trained
      colorizer predicts colours duller than real ones (it hedges between plausible hues); a gain,
      calibrated on held-out images after training, scales the output back up.
    * ``bin_step`` > 0: classification (Zhang et al. 2016); :meth:`logits` scores every in-gamut chroma
      bin (:func:`chroma_bins`) at the unshuffled resolution, and the output is their *annealed mean*:
      the softmax at ``temperature`` (1: the plain mean; lower: bolder, the likeliest colours) times the
      bin centres, upsampled bilinearly. A hue the model is sure of stays vivid while an uncertain one
      fades to gray, where a gain saturates right and wrong colours alike. Most photographs are mostly
      dull, so the likeliest bin is often a gray one; a rebalancing (>= 0) counters that by weighting
      each bin by the inverse of its frequency ``prior`` in the training photos, to the power of the
      rebalancing (1: Zhang et al.'s class rebalancing, applied when decoding instead of in the loss).

    A reference's colours (a photo's, or a palette's) can steer the decoding: :meth:`guide` turns their
    (a*, b*) histogram over the bins into log-weights added to the scores, so each bin's probability is
    multiplied by the reference's frequency of it (to the power ``strength``; with rebalance 1 this swaps
    the training photos' prior for the reference's). A reference photo's histogram is taken band by band of
    L* (:data:`LIGHTNESS_BANDS`), and each cell is steered by its own band's: the reference's bright sky
    colours the photo's bright parts, its dark coat the dark ones.

    How to decode is the caller's choice (:class:`ChromaDecoding`, the plain prediction by default): the
    colorize pipeline's options. ``chroma_gain``, ``temperature`` and ``rebalance`` given to the
    constructor (a model card's kwargs) are the decoding the model was calibrated to, kept as
    :attr:`calibrated` for the pipeline's 'auto'; they do not change :meth:`forward`.

    ``context_widths`` (optional) adds a frozen :class:`StyleEncoder` of those widths, the compact copy of
    VGG19 up to relu3_1 distilled for stylize (its weights are copied from there before training): its
    relu3_1 features of the gray picture carry what VGG19 learnt from ImageNet about textures and
    materials, more than the colour training photos alone can teach. They enter the U-Net at every level
    from 1/4 size down through 1x1 convolutions that start at zero, so a model fine-tuned from one without
    context starts out unchanged. Needs ``unshuffle`` 2.
    """

    centres: torch.Tensor  # buffers, registered when bin_step > 0
    log_weights: torch.Tensor

    def __init__(
        self,
        *,
        widths: tuple[int, ...] = (32, 64, 128, 160),
        blocks: tuple[int, ...] = (1, 1, 1, 2),
        unshuffle: int = 2,
        chroma_gain: float = 1.0,
        bin_step: int = 0,
        temperature: float = 1.0,
        rebalance: float = 0.0,
        prior: Sequence[float] | None = None,
        context_widths: Sequence[int] | None = None,
        semantic_width: float | None = None,
    ) -> None:
        super().__init__()
        if bin_step < 0 or temperature <= 0 or rebalance < 0:
            raise ValueError(f"bin_step and rebalance must be >= 0 and temperature > 0, got {bin_step}, "
                             f"{rebalance}, {temperature}")
        self.unshuffle = unshuffle
        self.calibrated = ChromaDecoding(rebalance=rebalance, temperature=temperature, gain=chroma_gain)
        self.bin_step = bin_step
        self.size_multiple = unshuffle * 2 ** (len(widths) - 1)
        self.head = nn.Sequential(nn.Conv2d(unshuffle * unshuffle, widths[0], 3, padding=1),
                                  nn.LeakyReLU(0.2, inplace=True))
        self.body = UNetBody(widths=tuple(widths), blocks=tuple(blocks), global_mixing=True)
        if bin_step:
            self.register_buffer("centres", chroma_bins(bin_step).clone(), persistent=False)
            count = len(self.centres)
            frequency = torch.full((count,), 1 / count) if prior is None else torch.tensor(prior, dtype=torch.float32)
            if frequency.shape != (count,) or (frequency < 0).any() or not math.isfinite(float(frequency.sum())):
                raise ValueError(f"prior must be {count} non-negative frequencies, one per chroma bin")
            frequency = frequency / frequency.sum().clamp_min(1e-12)
            weights = 1 / ((1 - PRIOR_MIX) * frequency + PRIOR_MIX / count)
            self.register_buffer("log_weights", (weights / (frequency * weights).sum()).log(), persistent=False)
            self.tail = nn.Conv2d(widths[0], count, 1)
        else:
            self.tail = nn.Conv2d(widths[0], 2 * unshuffle * unshuffle, 3, padding=1)
        zero_init(self.tail, weight=False)
        self.context: StyleEncoder | None = None
        if context_widths is not None:
            if unshuffle != 2:
                raise ValueError(f"context features (1/4 size) need unshuffle 2, got {unshuffle}")
            first, second, third = context_widths
            self.context = StyleEncoder(widths=(first, second, third)).requires_grad_(False)
            self.context_inputs = nn.ModuleList(nn.Conv2d(self.context.widths[2], width, 1) for width in widths[1:])
            for conv in self.context_inputs:
                zero_init(conv)
        self.semantic: SemanticEncoder | None = None
        if semantic_width is not None:
            self.semantic = SemanticEncoder(width=semantic_width).requires_grad_(False).eval()
            self.semantic_levels = {stride: min(int(math.log2(stride / unshuffle)), len(widths) - 1)
                                    for stride in FEATURE_CHANNELS}
            self.semantic_inputs = nn.ModuleDict({
                str(stride): nn.Conv2d(channels, widths[self.semantic_levels[stride]], 1)
                for stride, channels in FEATURE_CHANNELS.items()})
            for conv in self.semantic_inputs.values():
                zero_init(conv)

    def train(self, mode: bool = True) -> ColorizeGenerator:
        """As :meth:`nn.Module.train`; the frozen semantic encoder stays in eval mode (its batch norms)."""
        super().train(mode)
        if self.semantic is not None:
            self.semantic.eval()
        return self

    def _context_additions(self, light: torch.Tensor) -> list[torch.Tensor | None]:
        """What the context features add at each U-Net level (none at level 0, the 1/2-size one)."""
        if self.context is None:
            return []
        with torch.no_grad():
            gray = join_lab(light, torch.zeros_like(light).expand(-1, 2, -1, -1))
            features = self.context(gray)[2]  # relu3_1, 1/4 size: U-Net level 1
        return [None] + [conv(F.avg_pool2d(features, 2 ** level) if level else features)
                         for level, conv in enumerate(self.context_inputs)]

    def _semantic_additions(self, light: torch.Tensor) -> list[torch.Tensor | None]:
        """What the semantic encoder's predictions add at each U-Net level (none where no stride maps)."""
        if self.semantic is None:
            return []
        trained = torch.is_grad_enabled() and any(parameter.requires_grad for parameter in self.semantic.parameters())
        with torch.set_grad_enabled(trained):
            predicted = self.semantic(light)
        additions: list[torch.Tensor | None] = [None] * len(self.body.widths)
        for stride, features in predicted.items():
            level = self.semantic_levels[stride]
            size = (light.shape[-2] // (self.unshuffle * 2**level), light.shape[-1] // (self.unshuffle * 2**level))
            added = self.semantic_inputs[str(stride)](resized(features, size))
            previous = additions[level]
            additions[level] = added if previous is None else previous + added
        return additions

    def _features(self, light: torch.Tensor) -> torch.Tensor:
        x = self.head(F.pixel_unshuffle(light, self.unshuffle))
        additions = [sum_or_none(pair) for pair in itertools.zip_longest(self._context_additions(light),
                                                                        self._semantic_additions(light))]
        return self.tail(self.body(x, additions) + x)

    def logits(self, light: torch.Tensor) -> torch.Tensor:
        """Classification head only: (N, Q, H / unshuffle, W / unshuffle) scores of the chroma bins."""
        if not self.bin_step:
            raise ValueError("a regression colorizer (bin_step 0) has no chroma bins")
        return self._features(light)

    def guide(self, chroma: torch.Tensor, strength: float = 1.0, *,
              lightness: torch.Tensor | None = None) -> torch.Tensor:
        """Log-weights of the bins (for :attr:`ChromaDecoding.guide`) from reference colours ``chroma``, (K, 2)
        ab / 100: their histogram over the bins (each colour spread over its neighbours, a Gaussian of one
        bin's width), mixed with the uniform distribution as the prior is (``PRIOR_MIX``), to the power
        ``strength``: (Q,). With the colours' ``lightness`` (K,) L* / 100, one histogram per band of L*
        (:data:`LIGHTNESS_BANDS`, drawn toward the whole one by :data:`BAND_SHRINK`): (bands, Q); a colour
        whose lightness is NaN counts in every band."""
        if not self.bin_step:
            raise ValueError("only a classification colorizer (bin_step > 0) can be guided by reference colours")
        if chroma.ndim != 2 or chroma.shape[1] != 2 or len(chroma) == 0:
            raise ValueError(f"reference colours must be a non-empty (K, 2) tensor, got {tuple(chroma.shape)}")
        if lightness is not None and lightness.shape != chroma.shape[:1]:
            raise ValueError(f"lightness must be (K,) for (K, 2) colours, got {tuple(lightness.shape)}")
        width = self.bin_step / AB_SCALE
        distance = torch.cdist(chroma.float(), self.centres)  # (K, Q)
        spread = torch.softmax(-distance.square() / (2 * width**2), dim=1)
        histogram = spread.mean(dim=0)
        if lightness is not None:
            anywhere = torch.isnan(lightness)
            bands = lightness_band(lightness[~anywhere])
            counts = torch.bincount(bands, minlength=LIGHTNESS_BANDS).float()[:, None] + int(anywhere.sum())
            sums = torch.zeros(LIGHTNESS_BANDS, len(self.centres)).index_add_(0, bands, spread[~anywhere])
            sums += spread[anywhere].sum(dim=0)
            pseudo = BAND_SHRINK * len(chroma) / LIGHTNESS_BANDS
            histogram = (sums + pseudo * histogram) / (counts + pseudo)
        mixed = (1 - PRIOR_MIX) * histogram + PRIOR_MIX / len(self.centres)
        return strength * mixed.log()

    def decode(self, logits: torch.Tensor, *, temperature: float = 1.0, rebalance: float = 0.0,
               guide: torch.Tensor | None = None, light: torch.Tensor | None = None) -> torch.Tensor:
        """The annealed mean of bin ``logits``, rebalanced by ``rebalance`` and steered by ``guide``, at
        ``temperature``, upsampled to full size: (N, 2, H, W) ab / 100. A guide by bands of L* needs the
        input's ``light`` (N, 1, H, W) L* / 100, to pick each cell's band."""
        logits = logits.float() + rebalance * self.log_weights.view(1, -1, 1, 1)
        if guide is not None:
            guide = guide.to(logits.device)
            if guide.ndim == 1:
                logits = logits + guide.view(1, -1, 1, 1)
            elif light is None:
                raise ValueError("a guide by bands of lightness needs the input's lightness")
            else:
                bands = lightness_band(F.avg_pool2d(light.float(), self.unshuffle)[:, 0])  # (N, h, w)
                logits = logits + guide[bands].permute(0, 3, 1, 2)
        weights = torch.softmax(logits / temperature, dim=1)
        chroma = torch.einsum("nqhw,qc->nchw", weights, self.centres)
        return F.interpolate(chroma, scale_factor=self.unshuffle, mode="bilinear", align_corners=False)

    def forward(self, light: torch.Tensor, decoding: ChromaDecoding = PLAIN) -> torch.Tensor:
        if self.bin_step:
            chroma = self.decode(self._features(light), temperature=decoding.temperature,
                                 rebalance=decoding.rebalance, guide=decoding.guide, light=light)
        else:
            chroma = F.pixel_shuffle(self._features(light), self.unshuffle)
        return chroma if decoding.gain == 1.0 else chroma * decoding.gain
