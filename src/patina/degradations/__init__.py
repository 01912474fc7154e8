"""Seeded synthetic old-photo degradations used to make (degraded, clean, mask) training pairs.

Conventions: images are float32 numpy arrays (H, W, 3) RGB in [0, 1]; masks are float32 (H, W) in
[0, 1] with 1 on damaged pixels. Every op is a pure function ``op(image, *, params..., seed=0)``
returning a new float32 array clipped to [0, 1]; the damage ops (scratches, dust, creases and the wear
ops: cracks, folds, torn_corners, flaking, long_scratches, blotches) return ``(image, mask)``;
``fine_detail`` draws picture content (the chain applies it to the clean target). Only numpy and OpenCV
are used (safe and fast in DataLoader workers).
"""

from .blur import defocus_blur, downscale, gaussian_blur, motion_blur
from .chain import (
    DAMAGE_OPS,
    EVAL_CONFIG,
    OPS,
    TRAIN_CONFIG,
    DegradationConfig,
    DegradedSample,
    apply_op,
    apply_plan,
    degrade,
    sample_plan,
)
from .color import color_cast, fade, grayscale, sepia, vignette, yellowing
from .compression import jpeg
from .damage import creases, dust, scratches
from .detail import fine_detail
from .noise import film_grain, gaussian_noise, poisson_noise
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
    "EVAL_CONFIG",
    "TRAIN_CONFIG",
    "grayscale",
    "fade",
    "yellowing",
    "color_cast",
    "sepia",
    "vignette",
    "gaussian_noise",
    "film_grain",
    "poisson_noise",
    "gaussian_blur",
    "defocus_blur",
    "motion_blur",
    "downscale",
    "jpeg",
    "halftone",
    "paper_texture",
    "scratches",
    "dust",
    "creases",
    "cracks",
    "folds",
    "torn_corners",
    "flaking",
    "long_scratches",
    "blotches",
    "fine_detail",
]
