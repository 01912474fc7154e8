"""The seeded old-photo degradation chain that turns a clean image into a (degraded, target, mask) pair.

``degrade(clean, config, seed)`` first draws a *plan* (the list of ops with all their parameters,
including a per-op seed) from ``np.random.default_rng(seed)``, then executes it with
:func:`apply_plan`. The plan is returned as ``DegradedSample.params`` (plain JSON types), so any
sample can be reproduced bit for bit from its params alone.

Order (realistic: scene -> capture -> print -> aging -> damage -> scan):
(fine detail) -> (grayscale) -> blur / motion blur / downscale -> sepia toning -> fading -> yellowing /
colour cast -> paper texture -> halftone (rare) -> blotches / flaking / cracks / folds / scratches / long
scratches / dust / creases / torn corners -> noise / grain / Poisson -> vignette -> JPEG.

Fine detail (hair, grass, fabric, text, wires) and grayscale change the clean TARGET: they are picture
content, so a restoration must keep them. The wear ops (cracks ... blotches) are 0 in ``EVAL_CONFIG``, whose
plans are unchanged since plan version 1.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._common import check_image, size_scale
from .blur import _DOWN_CHOICES, _DOWN_P, _UP_CHOICES, _UP_P, defocus_blur, downscale, gaussian_blur, motion_blur
from .color import _CAST_HUES, color_cast, fade, grayscale, sepia, vignette, yellowing
from .compression import jpeg
from .damage import creases, dust, scratches
from .detail import fine_detail
from .noise import film_grain, gaussian_noise, poisson_noise
from .tone import sample_tone_plan, tone_shift
from .printing import halftone, paper_texture
from .wear import blotches, cracks, flaking, folds, long_scratches, torn_corners

__all__ = [
    "DegradationConfig",
    "DegradedSample",
    "degrade",
    "sample_plan",
    "apply_plan",
    "apply_op",
    "OPS",
    "DAMAGE_OPS",
    "TARGET_OPS",
    "EVAL_CONFIG",
    "TRAIN_CONFIG",
    "PLAN_VERSION",
]

PLAN_VERSION = 1
TONE_SHIFT_STREAM = 0x70E5
"""The wide tone shift draws from its own generator, so adding it left every other family's draws as they were."""
UNTOUCHED_STREAM = 0x600D
"""Whether a photo is left in good condition is drawn from its own generator too (the other draws stay as they
were)."""

Range = tuple[float, float]


@dataclass(frozen=True)
class DegradationConfig:
    """Probabilities (``p_*``) and ``(low, high)`` ranges of the degradation chain.

    All fields are plain floats / ints / 2-tuples so a config loads from YAML
    (:meth:`from_dict` accepts lists for the ranges). Pixel-valued ranges (blur, motion) are in
    pixels of the image being degraded; damage sizes scale with the image size inside the ops.
    The defaults are the training distribution (:data:`TRAIN_CONFIG`).
    """

    # black-and-white photograph and toning
    p_grayscale: float = 0.5          # the CLEAN target is first made grayscale (a B&W photo)
    p_sepia: float = 0.6              # given grayscale: sepia/warm toning
    sepia: Range = (0.5, 1.0)         # toning amount
    sepia_warmth: Range = (0.2, 1.0)
    # fading and colour
    p_fade: float = 0.9
    fade: Range = (0.0, 0.5)          # contrast loss amount
    p_yellowing: float = 0.6
    yellowing: Range = (0.05, 0.4)
    p_color_cast: float = 0.4
    color_cast: Range = (0.02, 0.15)  # cast strength
    p_tone_shift: float = 0.5         # wide fades and casts of any hue (degradations.tone)
    p_untouched: float = 0.2          # a photo in good condition: no degradation at all (first do no harm)
    # optics and resolution
    p_blur: float = 0.5
    p_defocus: float = 0.5            # given blur: disk (defocus) kernel instead of gaussian
    blur_sigma: Range = (0.5, 2.5)    # px; a disk gets radius 2 * sigma (same spread)
    p_motion_blur: float = 0.1
    motion_blur_length: Range = (3.0, 11.0)  # px
    p_downscale: float = 0.4
    downscale: Range = (1.25, 4.0)    # factor
    # print and paper
    p_paper: float = 0.4
    paper_strength: Range = (0.015, 0.06)
    p_halftone: float = 0.04
    halftone_cell: Range = (3.5, 8.0)  # screen period, px
    # damage
    p_scratches: float = 0.5
    max_scratches: int = 8
    p_dust: float = 0.5
    max_dust: int = 60                # specks on a 256 x 256 image (grows with image size)
    p_creases: float = 0.2
    max_creases: int = 2
    # wear and tear of old prints (all 0 in EVAL_CONFIG)
    p_cracks: float = 0.25
    max_cracks: int = 4               # branching cracks
    p_craquelure: float = 0.35        # given cracks: a craquelure patch (alone or with cracks)
    p_folds: float = 0.15
    max_folds: int = 2
    p_torn_corners: float = 0.1
    max_torn_corners: int = 3
    p_flaking: float = 0.15
    max_flaking: int = 4              # clusters of flakes
    p_long_scratches: float = 0.2
    max_long_scratches: int = 3
    p_blotches: float = 0.25
    max_blotches: int = 5
    p_opaque_blotch: float = 0.35     # per blotch: opaque (inpainted) instead of a translucent stain (tone)
    # picture content that looks like damage, drawn into the clean target (all 0 in EVAL_CONFIG)
    p_fine_detail: float = 0.3
    max_fine_detail: int = 4
    # noise (scanner / film / sensor)
    p_noise: float = 0.5
    noise_sigma: Range = (0.005, 0.06)
    p_grain: float = 0.5
    grain_strength: Range = (0.01, 0.07)
    grain_size: Range = (0.6, 2.0)    # px
    p_poisson: float = 0.2
    poisson_scale: Range = (60.0, 800.0)  # photons at full white (lower = noisier)
    # scan / export
    p_vignette: float = 0.4
    vignette: Range = (0.1, 0.5)
    p_jpeg: float = 0.6
    jpeg_quality: Range = (30.0, 95.0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name.startswith("p_"):
                if not 0.0 <= float(v) <= 1.0:
                    raise ValueError(f"{f.name} must be a probability in [0, 1], got {v!r}")
            elif f.name.startswith("max_"):
                if isinstance(v, bool) or int(v) != v or v < 0:
                    raise ValueError(f"{f.name} must be a non-negative integer, got {v!r}")
                object.__setattr__(self, f.name, int(v))  # YAML may give 8.0
            else:
                if isinstance(v, list):  # tolerate lists (YAML) by normalising to tuples
                    object.__setattr__(self, f.name, tuple(v))
                    v = tuple(v)
                if not (isinstance(v, tuple) and len(v) == 2 and float(v[0]) <= float(v[1])):
                    raise ValueError(f"{f.name} must be a (low, high) pair with low <= high, got {v!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DegradationConfig:
        """Build from a mapping (e.g. parsed YAML); unknown keys are an error, lists become tuples."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown DegradationConfig keys: {unknown}")
        kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items()}
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (ranges as lists) suitable for YAML/JSON."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class DegradedSample:
    degraded: np.ndarray   # (H, W, 3) float32 in [0, 1]
    target: np.ndarray     # (H, W, 3) float32: the clean image, grayscale (equal channels) for a B&W photo
    mask: np.ndarray       # (H, W) float32: union of the damage masks (1 = pixel to inpaint)
    params: dict = field(default_factory=dict)  # the plan: every op applied, in order (JSON types)


# name -> function; every op takes (image, **kwargs) with the recorded kwargs.
OPS: dict[str, Callable[..., Any]] = {
    "grayscale": grayscale,
    "gaussian_blur": gaussian_blur,
    "defocus_blur": defocus_blur,
    "motion_blur": motion_blur,
    "downscale": downscale,
    "sepia": sepia,
    "fade": fade,
    "yellowing": yellowing,
    "color_cast": color_cast,
    "tone_shift": tone_shift,
    "paper_texture": paper_texture,
    "halftone": halftone,
    "scratches": scratches,
    "dust": dust,
    "creases": creases,
    "cracks": cracks,
    "folds": folds,
    "torn_corners": torn_corners,
    "flaking": flaking,
    "long_scratches": long_scratches,
    "blotches": blotches,
    "fine_detail": fine_detail,
    "gaussian_noise": gaussian_noise,
    "film_grain": film_grain,
    "poisson_noise": poisson_noise,
    "vignette": vignette,
    "jpeg": jpeg,
}
#: Ops that return ``(image, mask)``.
DAMAGE_OPS = frozenset({"scratches", "dust", "creases", "cracks", "folds", "torn_corners", "flaking",
                        "long_scratches", "blotches"})
#: Ops that change the clean target itself (picture content), applied before every degradation.
TARGET_OPS = frozenset({"fine_detail", "grayscale"})


def _u(rng: np.random.Generator, r: Range) -> float:
    lo, hi = float(r[0]), float(r[1])
    return lo if hi <= lo else float(rng.uniform(lo, hi))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _few(rng: np.random.Generator, most: int) -> int:
    """A count in 1..``most`` that favours few."""
    return max(1, int(math.ceil(most * rng.random() ** 1.5)))


def _r(x: float, nd: int = 4) -> float:
    """Round recorded floats so plans read well (the rounded value is what gets applied)."""
    return float(round(float(x), nd))


def sample_plan(config: DegradationConfig, shape: tuple[int, ...], seed: int) -> dict[str, Any]:
    """Draw the ops and parameters for an image of ``shape`` (H, W[, C]) from ``default_rng(seed)``.

    Each family of ops draws from its own child generator (``rng.spawn``), so changing one
    probability or range does not reshuffle the parameters of the other families.
    """
    c = config
    h, w = int(shape[0]), int(shape[1])
    root = np.random.default_rng(int(seed))
    # SeedSequence children are determined by their index: families added later take new indices at the end,
    # so the first 13 (and every plan without the later families) stay as they were
    children = root.spawn(20)
    (g_gray, g_blur, g_tone, g_fade, g_color, g_paper, g_half, g_scr, g_dust, g_crease,
     g_noise, g_vig, g_jpeg) = children[:13]
    g_detail, g_crack, g_fold, g_torn, g_flake, g_long, g_blot = children[13:]
    ops: list[dict[str, Any]] = []

    if c.max_fine_detail > 0 and g_detail.random() < c.p_fine_detail:
        ops.append({"op": "fine_detail", "count": int(g_detail.integers(1, c.max_fine_detail + 1)),
                    "seed": _seed(g_detail)})
    gray = bool(g_gray.random() < c.p_grayscale)
    if gray:
        ops.append({"op": "grayscale"})

    # optics / resolution
    if g_blur.random() < c.p_blur:
        sigma = _u(g_blur, c.blur_sigma)
        if g_blur.random() < c.p_defocus:
            ops.append({"op": "defocus_blur", "radius": _r(2.0 * sigma)})
        else:
            ops.append({"op": "gaussian_blur", "sigma": _r(sigma)})
    if g_blur.random() < c.p_motion_blur:
        ops.append({"op": "motion_blur", "length": _r(_u(g_blur, c.motion_blur_length)),
                    "angle": _r(g_blur.uniform(0.0, 180.0), 2)})
    if g_blur.random() < c.p_downscale:
        ops.append({"op": "downscale", "factor": _r(_u(g_blur, c.downscale)),
                    "down": str(g_blur.choice(_DOWN_CHOICES, p=_DOWN_P)),
                    "up": str(g_blur.choice(_UP_CHOICES, p=_UP_P))})

    # toning (only ever on B&W photographs)
    if gray and g_tone.random() < c.p_sepia:
        ops.append({"op": "sepia", "amount": _r(_u(g_tone, c.sepia)), "warmth": _r(_u(g_tone, c.sepia_warmth))})

    if g_fade.random() < c.p_fade:
        ops.append({"op": "fade", "amount": _r(_u(g_fade, c.fade)),
                    "desaturation": _r(g_fade.uniform(0.2, 0.8))})

    if g_color.random() < c.p_yellowing:
        ops.append({"op": "yellowing", "amount": _r(_u(g_color, c.yellowing))})
    if g_color.random() < c.p_color_cast:
        if gray:  # toned / aged B&W prints drift warm (orange to yellow), not green or blue
            hue = g_color.uniform(15.0, 55.0)
        else:
            hue = _CAST_HUES[int(g_color.integers(len(_CAST_HUES)))] + g_color.normal(0.0, 12.0)
        ops.append({"op": "color_cast", "strength": _r(_u(g_color, c.color_cast)), "hue": _r(hue % 360.0, 2)})
    g_shift = np.random.default_rng([int(seed), TONE_SHIFT_STREAM])  # apart from the families above
    if c.p_tone_shift > 0 and g_shift.random() < c.p_tone_shift:
        ops.append({"op": "tone_shift", "plan": sample_tone_plan(g_shift, gray=gray)})

    if g_paper.random() < c.p_paper:
        ops.append({"op": "paper_texture", "strength": _r(_u(g_paper, c.paper_strength)),
                    "scale": _r(g_paper.uniform(0.7, 1.5)), "seed": _seed(g_paper)})
    if g_half.random() < c.p_halftone:
        ops.append({"op": "halftone", "cell": _r(_u(g_half, c.halftone_cell)),
                    "angle": _r(g_half.choice([45.0, 15.0, 75.0, 0.0]) + g_half.normal(0.0, 2.0), 2),
                    "amount": _r(g_half.uniform(0.6, 1.0)), "scan_blur": _r(g_half.uniform(0.1, 0.3))})

    # damage; counts are per image (scratch length and speck size scale with the image inside the ops)
    s = size_scale((h, w))
    if c.max_blotches > 0 and g_blot.random() < c.p_blotches:
        ops.append({"op": "blotches", "count": _few(g_blot, c.max_blotches), "p_opaque": _r(c.p_opaque_blotch),
                    "seed": _seed(g_blot)})
    if c.max_flaking > 0 and g_flake.random() < c.p_flaking:
        ops.append({"op": "flaking", "count": _few(g_flake, c.max_flaking), "seed": _seed(g_flake)})
    if c.max_cracks > 0 and g_crack.random() < c.p_cracks:
        craquelure = int(g_crack.random() < c.p_craquelure)
        count = _few(g_crack, c.max_cracks) if not craquelure or g_crack.random() < 0.5 else 0
        ops.append({"op": "cracks", "count": count, "craquelure": craquelure,
                    "p_white": _r(g_crack.uniform(0.3, 0.7)), "seed": _seed(g_crack)})
    if c.max_folds > 0 and g_fold.random() < c.p_folds:
        ops.append({"op": "folds", "count": int(g_fold.integers(1, c.max_folds + 1)), "seed": _seed(g_fold)})
    if c.max_scratches > 0 and g_scr.random() < c.p_scratches:
        ops.append({"op": "scratches", "count": _few(g_scr, c.max_scratches), "p_white": _r(g_scr.uniform(0.4, 0.9)),
                    "seed": _seed(g_scr)})
    if c.max_long_scratches > 0 and g_long.random() < c.p_long_scratches:
        ops.append({"op": "long_scratches", "count": _few(g_long, c.max_long_scratches),
                    "p_white": _r(g_long.uniform(0.6, 1.0)), "seed": _seed(g_long)})
    if c.max_dust > 0 and g_dust.random() < c.p_dust:
        n = int(math.ceil(c.max_dust * g_dust.random() ** 1.5 * float(np.clip(s, 0.5, 6.0)) ** 0.7))
        ops.append({"op": "dust", "count": max(1, n), "p_white": _r(g_dust.uniform(0.2, 0.8)),
                    "seed": _seed(g_dust)})
    if c.max_creases > 0 and g_crease.random() < c.p_creases:
        ops.append({"op": "creases", "count": int(g_crease.integers(1, c.max_creases + 1)),
                    "seed": _seed(g_crease)})
    if c.max_torn_corners > 0 and g_torn.random() < c.p_torn_corners:
        ops.append({"op": "torn_corners", "count": _few(g_torn, c.max_torn_corners),
                    "background": "paper" if g_torn.random() < 0.6 else "mount", "seed": _seed(g_torn)})

    # noise: monochrome for B&W photos, mostly monochrome grain for colour
    if g_noise.random() < c.p_noise:
        ops.append({"op": "gaussian_noise", "sigma": _r(_u(g_noise, c.noise_sigma)),
                    "gray": bool(gray or g_noise.random() < 0.3), "seed": _seed(g_noise)})
    if g_noise.random() < c.p_grain:
        ops.append({"op": "film_grain", "strength": _r(_u(g_noise, c.grain_strength)),
                    "size": _r(_u(g_noise, c.grain_size)),
                    "chroma": 0.0 if gray else _r(g_noise.uniform(0.0, 0.5)), "seed": _seed(g_noise)})
    if g_noise.random() < c.p_poisson:
        lo, hi = (math.log(max(float(v), 1e-3)) for v in c.poisson_scale)
        scale = math.exp(g_noise.uniform(lo, hi)) if hi > lo else math.exp(lo)
        ops.append({"op": "poisson_noise", "scale": _r(scale, 2),
                    "gray": bool(gray or g_noise.random() < 0.5), "seed": _seed(g_noise)})

    if g_vig.random() < c.p_vignette:
        ops.append({"op": "vignette", "strength": _r(_u(g_vig, c.vignette)),
                    "radius": _r(g_vig.uniform(0.4, 0.8)), "softness": _r(g_vig.uniform(0.5, 1.0)),
                    "center": [_r(g_vig.normal(0.0, 0.1)), _r(g_vig.normal(0.0, 0.1))]})
    if g_jpeg.random() < c.p_jpeg:
        ops.append({"op": "jpeg", "quality": int(round(_u(g_jpeg, c.jpeg_quality))),
                    "chroma_subsampling": bool(g_jpeg.random() < 0.8)})

    if c.p_untouched > 0 and np.random.default_rng([int(seed), UNTOUCHED_STREAM]).random() < c.p_untouched:
        ops = [op for op in ops if op["op"] in TARGET_OPS]  # a photo in good condition: nothing to undo
    return {"version": PLAN_VERSION, "seed": int(seed), "shape": [h, w], "grayscale": gray, "ops": ops}


def apply_op(image: np.ndarray, record: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply one plan entry ``{"op": name, **kwargs}``; returns ``(image, mask or None)``."""
    name = record["op"]
    try:
        fn = OPS[name]
    except KeyError:
        raise ValueError(f"unknown degradation op {name!r}") from None
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in record.items() if k != "op"}
    res = fn(image, **kwargs)
    if name in DAMAGE_OPS:
        return res[0], res[1]
    return res, None


def apply_plan(clean: np.ndarray, plan: Mapping[str, Any]) -> DegradedSample:
    """Execute a plan from :func:`sample_plan` (or a sample's ``params``) on ``clean``.

    The :data:`TARGET_OPS` (which a plan lists first) change the clean target itself; the other ops degrade it.
    """
    img = check_image(clean, "clean")
    h, w = img.shape[:2]
    target = np.clip(img, 0.0, 1.0).astype(np.float32, copy=True)
    mask = np.zeros((h, w), np.float32)
    x = target
    for rec in plan["ops"]:
        if rec["op"] in TARGET_OPS:
            target = apply_op(target, rec)[0]
            x = target
            continue
        x, m = apply_op(x, rec)
        if m is not None:
            np.maximum(mask, m, out=mask)
    degraded = x if x is not target else target.copy()
    return DegradedSample(degraded=degraded, target=target, mask=mask, params=dict(plan))


def degrade(clean: np.ndarray, config: DegradationConfig, seed: int) -> DegradedSample:
    """Degrade ``clean`` (H, W, 3) float32 RGB in [0, 1] with the chain drawn from ``seed``.

    Same ``clean`` + ``config`` + ``seed`` gives identical bytes. ``params`` holds the plan (JSON
    types), which :func:`apply_plan` replays exactly.
    """
    img = check_image(clean, "clean")
    plan = sample_plan(config, img.shape, seed)
    return apply_plan(img, plan)


#: Training distribution: wide ranges, every family possible.
TRAIN_CONFIG = DegradationConfig()

#: Evaluation default (``patina eval restore`` with seeds 0..N-1): moderate, every family present.
EVAL_CONFIG = DegradationConfig(
    p_grayscale=0.5,
    p_sepia=0.5,
    sepia=(0.7, 1.0),
    sepia_warmth=(0.3, 0.8),
    p_fade=1.0,
    fade=(0.1, 0.35),
    p_yellowing=0.5,
    yellowing=(0.1, 0.3),
    p_color_cast=0.3,
    color_cast=(0.03, 0.1),
    p_tone_shift=0.0,
    p_untouched=0.0,
    p_blur=0.5,
    p_defocus=0.5,
    blur_sigma=(0.6, 1.6),
    p_motion_blur=0.1,
    motion_blur_length=(3.0, 7.0),
    p_downscale=0.3,
    downscale=(1.5, 2.5),
    p_paper=0.4,
    paper_strength=(0.02, 0.05),
    p_halftone=0.05,
    halftone_cell=(4.0, 6.0),
    p_scratches=0.6,
    max_scratches=5,
    p_dust=0.6,
    max_dust=40,
    p_creases=0.25,
    max_creases=1,
    # the wear ops and fine detail came after plan version 1's evaluation numbers: off, so they stay comparable
    p_cracks=0.0,
    p_craquelure=0.0,
    p_folds=0.0,
    p_torn_corners=0.0,
    p_flaking=0.0,
    p_long_scratches=0.0,
    p_blotches=0.0,
    p_opaque_blotch=0.0,
    p_fine_detail=0.0,
    p_noise=0.4,
    noise_sigma=(0.01, 0.03),
    p_grain=0.5,
    grain_strength=(0.015, 0.04),
    grain_size=(0.8, 1.5),
    p_poisson=0.2,
    poisson_scale=(200.0, 600.0),
    p_vignette=0.4,
    vignette=(0.1, 0.35),
    p_jpeg=0.5,
    jpeg_quality=(50.0, 90.0),
)
