"""Statistics of a photograph's look, and matching a photo to a reference old photo (``--like``).

* :func:`photo_group` sorts a real old photo into toned monochrome, neutral monochrome or colour print;
* :func:`look_statistics` is a small vector of tone, colour, grain and sharpness statistics (the
  evaluation's fallback when the VGG teacher is absent);
* :func:`match_look` gives a photo the reference's tone (L* histogram), colour (chroma as a function of
  L*, plus its spread) and grain (noise level, Immerkaer's estimator, at equal picture size) at a given strength.

Images are (1, 3, H, W) sRGB tensors in [0, 1].
"""

from __future__ import annotations

import math

import torch
from kornia.color import lab_to_rgb, rgb_to_lab
from torch.nn import functional as F

from patina.looks import ops

STATS_SIDE = 1000
"""Largest long side at which grain and sharpness are measured (larger images are shrunk; none is enlarged)."""
LIGHT_BINS = 8
"""L* bands in which the reference's mean chroma (its toning) is measured."""
STATISTICS = ("l_mean", "l_std", "l_p05", "l_p95", "a_mean", "b_mean", "chroma_mean", "chroma_spread",
              "grain", "sharpness")


def at_side(image: torch.Tensor, side: int = STATS_SIDE) -> torch.Tensor:
    """``image`` resized (area down, bilinear up) so that its long side is ``side``."""
    scale = side / max(image.shape[-2:])
    size = (max(1, round(image.shape[-2] * scale)), max(1, round(image.shape[-1] * scale)))
    mode = "area" if scale < 1 else "bilinear"
    return F.interpolate(image.float(), size=size, mode=mode, **({} if mode == "area" else {"align_corners": False}))


def noise_sigma(gray: torch.Tensor) -> torch.Tensor:
    """Immerkaer's (1996) fast noise estimate of a (N, 1, H, W) image: the std of its gaussian noise."""
    kernel = gray.new_tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]).view(1, 1, 3, 3)
    response = F.conv2d(gray, kernel).abs()
    return response.flatten(1).mean(dim=1) * math.sqrt(math.pi / 2) / 6


def _chroma_by_light(lab: torch.Tensor) -> torch.Tensor:
    """Mean (a*, b*) in each of ``LIGHT_BINS`` L* bands: (2, LIGHT_BINS); empty bands get the overall mean."""
    light, ab = lab[0, 0].flatten(), lab[0, 1:].flatten(1)
    index = (light / 100 * LIGHT_BINS).long().clamp(0, LIGHT_BINS - 1)
    sums = torch.zeros(2, LIGHT_BINS).index_add_(1, index, ab)
    counts = torch.zeros(LIGHT_BINS).index_add_(0, index, torch.ones_like(light))
    overall = ab.mean(dim=1, keepdim=True)
    return torch.where(counts > 0, sums / counts.clamp_min(1), overall)


def _chroma_at(lab: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """The (a*, b*) of ``table`` (2, LIGHT_BINS) interpolated at each pixel's L*: (1, 2, H, W)."""
    position = (lab[:, :1] / 100 * LIGHT_BINS - 0.5).clamp(0, LIGHT_BINS - 1)
    low = position.floor().long().clamp(max=LIGHT_BINS - 1)
    high = (low + 1).clamp(max=LIGHT_BINS - 1)
    weight = position - low
    pick = lambda idx: torch.stack([table[c][idx[0, 0]] for c in range(2)])[None]  # noqa: E731
    return pick(low) * (1 - weight) + pick(high) * weight


def _residual_spread(lab: torch.Tensor) -> torch.Tensor:
    """Std of (a*, b*) around the chroma-by-L* curve: how much colour there is beyond toning."""
    return (lab[:, 1:] - _chroma_at(lab, _chroma_by_light(lab))).pow(2).sum(dim=1).sqrt().mean()


def photo_group(image: torch.Tensor) -> str:
    """'neutral' (black and white), 'toned' (one warm hue, as albumen and sepia prints) or 'colour'."""
    lab = rgb_to_lab(at_side(image, 256).clamp(0, 1))
    chroma = lab[:, 1:].pow(2).sum(dim=1).sqrt().mean().item()
    if chroma < 4.0:
        return "neutral"
    a, b = lab[:, 1].mean().item(), lab[:, 2].mean().item()
    hue = math.degrees(math.atan2(b, a))
    spread = _residual_spread(lab).item()
    return "toned" if 30.0 <= hue <= 115.0 and spread < 0.5 * chroma + 2.0 else "colour"


def look_statistics(image: torch.Tensor) -> torch.Tensor:
    """The :data:`STATISTICS` of an image (tone, colour, grain, sharpness) as a float vector."""
    sized = at_side(image, min(STATS_SIDE, max(image.shape[-2:]))).clamp(0, 1)
    lab = rgb_to_lab(sized)
    light = lab[:, 0].flatten()
    quantiles = torch.quantile(light[:: max(1, light.numel() // 100_000)], light.new_tensor([0.05, 0.95]))
    ab = lab[:, 1:]
    gray = ops.luma(sized)
    gradient = (gray[..., 1:, :-1] - gray[..., :-1, :-1]).abs() + (gray[..., :-1, 1:] - gray[..., :-1, :-1]).abs()
    values = [light.mean(), light.std(), quantiles[0], quantiles[1], ab[:, 0].mean(), ab[:, 1].mean(),
              ab.pow(2).sum(dim=1).sqrt().mean(), _residual_spread(lab), noise_sigma(gray)[0] * 100,
              gradient.mean() * 100]
    return torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in values])


def _match_light(light: torch.Tensor, reference: torch.Tensor, points: int = 257) -> torch.Tensor:
    """Histogram matching of L*: each value goes to the reference's value at the same quantile."""
    levels = torch.linspace(0, 1, points)
    sample = lambda x: x.flatten()[:: max(1, x.numel() // 200_000)]  # noqa: E731
    source_q = torch.quantile(sample(light), levels)
    target_q = torch.quantile(sample(reference), levels)
    index = torch.searchsorted(source_q.contiguous(), light.flatten().contiguous()).clamp(1, points - 1)
    low, high = source_q[index - 1], source_q[index]
    weight = ((light.flatten() - low) / (high - low).clamp_min(1e-6)).clamp(0, 1)
    matched = target_q[index - 1] + weight * (target_q[index] - target_q[index - 1])
    return matched.view_as(light)


def match_look(image: torch.Tensor, reference: torch.Tensor, *, strength: float = 1.0, seed: int = 0,
               grain: bool = True) -> torch.Tensor:
    """``image`` with the tone, colour and (if ``grain``) grain statistics of ``reference`` (both
    (1, 3, H, W) in [0, 1]), blended with the original by ``strength`` (0..1)."""
    from patina.looks.presets import check_strength

    strength = check_strength(strength)
    image = image.float().clamp(0, 1)
    ref_small = at_side(reference, 512).clamp(0, 1)
    lab, ref_lab = rgb_to_lab(image), rgb_to_lab(ref_small)
    light = _match_light(lab[:, :1], ref_lab[:, :1])
    matched_lab = torch.cat([light, lab[:, 1:]], dim=1)
    source_curve = _chroma_at(lab, _chroma_by_light(lab))
    spread = (_residual_spread(ref_lab) / _residual_spread(lab).clamp_min(1e-3)).clamp(max=2.0)
    chroma = _chroma_at(matched_lab, _chroma_by_light(ref_lab)) + (lab[:, 1:] - source_curve) * spread
    out = lab_to_rgb(torch.cat([light, chroma], dim=1), clip=True)
    if grain:
        out = _match_grain(out, reference, seed=seed)
    return (image + strength * (out - image)).clamp(0, 1)


def _match_grain(image: torch.Tensor, reference: torch.Tensor, *, seed: int) -> torch.Tensor:
    """Add monochrome grain until the image's noise level matches the reference's seen at the same picture
    size: a white-noise std measured at native resolution scales with the long side (averaging f x f pixels
    divides it by f), so the target is the reference's std times its long side over the image's."""
    measure = lambda x: noise_sigma(ops.luma(x.clamp(0, 1)))[0]  # noqa: E731
    target = measure(reference) * max(reference.shape[-2:]) / max(image.shape[-2:])
    current = measure(image)
    missing = float((target**2 - current**2).clamp_min(0).sqrt())
    if missing < 1e-3:
        return image
    amount = missing
    for _ in range(2):  # the estimator sees tone-weighted grain: correct the amount from a trial, twice
        trial = ops.grain(image, torch.Generator().manual_seed(seed), amount=amount, size=0.5)
        added = float((measure(trial) ** 2 - current**2).clamp_min(1e-12).sqrt())
        amount *= missing / max(added, 1e-6)
    return ops.grain(image, torch.Generator().manual_seed(seed), amount=min(amount, 0.3), size=0.5)


__all__ = ["STATISTICS", "at_side", "look_statistics", "match_look", "noise_sigma", "photo_group"]
