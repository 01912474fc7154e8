"""Wide global tone and colour damage: what the tone-correction branch of restoration learns to undo.

The chain's own tone ops (:mod:`.color`) cover fading and warm casts in the narrow ranges seen on most
prints. A correction that must generalise is trained on far more: dye fading with its own curve per
channel (so any hue), casts of any hue up to very strong, paper yellowing of any warmth, loss or gain of
saturation, wrong exposure, uneven fading over the picture and toning of black-and-white prints, up to
very strong (:data:`P_VERY_STRONG`). A share of photos is left untouched, so that the correction learns to
leave a good photo alone.

``sample_tone_plan(rng, gray=...)`` draws the parameters (plain JSON types), ``tone_shift(image, plan)``
applies them; the same plan always gives the same bytes.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ._common import LUMA, check_image, luma
from .color import _hue_vector

__all__ = ["sample_tone_plan", "tone_shift", "describe_plan"]

P_UNTOUCHED = 0.15
"""Share of photos with no tone damage at all (the default of :func:`sample_tone_plan`)."""
P_VERY_STRONG = 0.3
"""Share of damaged photos whose damage is very strong (strength 1-1.6: a print faded almost to the paper)."""


def sample_tone_plan(rng: np.random.Generator, *, gray: bool, p_untouched: float = P_UNTOUCHED) -> dict[str, Any]:
    """Draw the tone damage of one photo (``gray``: a black-and-white print, which gets toning, not dye fading;
    ``p_untouched``: the chance of none)."""
    if rng.random() < p_untouched:
        return {"untouched": True}
    strength = float(rng.uniform(1.0, 1.6) if rng.random() < P_VERY_STRONG else rng.uniform(0.15, 1.0))
    plan: dict[str, Any] = {"untouched": False, "strength": round(strength, 4)}
    if gray:
        if rng.random() < 0.75:
            plan["tone"] = {"hue": round(float(rng.uniform(0, 360) if rng.random() < 0.3 else rng.uniform(15, 50)), 2),
                            "amount": round(float(rng.uniform(0.05, 0.35)), 4)}
    else:
        # dye fading: black lifted, white lowered, a power curve, each channel its own; a washed-out print's
        # mid-tones are lifted in every channel (a common gamma below 1)
        lift = np.minimum(rng.uniform(0, 0.45, 3) * strength, 0.6)
        drop = np.minimum(rng.uniform(0, 0.3, 3) * strength, 0.85 - lift)
        washed = rng.uniform(0, 0.6) * strength if rng.random() < 0.5 else 0.0
        gamma = np.exp(rng.normal(0, 0.35, 3) * strength - washed)
        plan["dye"] = {"lift": [round(float(v), 4) for v in lift], "drop": [round(float(v), 4) for v in drop],
                       "gamma": [round(float(v), 4) for v in gamma]}
        plan["saturation"] = round(float(rng.uniform(0.2, 1.0) if rng.random() < 0.8 else rng.uniform(1.0, 1.35)), 4)
    if rng.random() < 0.5:
        plan["paper"] = {"hue": round(float(rng.normal(40, 12) if rng.random() < 0.85 else rng.uniform(0, 360)), 2),
                         "amount": round(float(min(rng.uniform(0.05, 0.6) * strength, 0.8)), 4)}
    if rng.random() < 0.6:
        plan["cast"] = {"hue": round(float(rng.uniform(0, 360)), 2),
                        "amount": round(float(min(rng.uniform(0.02, 0.45) * strength, 0.6)), 4)}
    if rng.random() < 0.5:
        plan["exposure"] = {"gain": round(float(np.exp(rng.normal(0, 0.2))), 4),
                            "gamma": round(float(np.exp(rng.normal(0, 0.25))), 4)}
    if rng.random() < 0.5:
        plan["uneven"] = {"grid": int(rng.integers(2, 5)), "seed": int(rng.integers(0, 2**31 - 1)),
                          "amount": round(float(rng.uniform(0.2, 0.8)), 4)}
    return plan


def _smooth_field(shape: tuple[int, int], grid: int, seed: int) -> np.ndarray:
    lattice = np.random.default_rng(seed).random((grid, grid)).astype(np.float32)
    field = cv2.resize(lattice, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.asarray(np.clip(field, 0, 1), dtype=np.float32)


def tone_shift(image: np.ndarray, plan: dict[str, Any]) -> np.ndarray:
    """Apply a :func:`sample_tone_plan` plan to ``image`` ((H, W, 3) float32 in [0, 1])."""
    photo = check_image(image).astype(np.float32, copy=True)
    if plan.get("untouched", True):
        return photo
    original = photo
    if "tone" in plan:
        tone = plan["tone"]
        light = luma(photo)[..., None]
        photo = photo + tone["amount"] * 4 * light * (1 - light) * _hue_vector(tone["hue"])
    if "dye" in plan:
        dye = plan["dye"]
        lift, drop, gamma = (np.asarray(dye[k], np.float32) for k in ("lift", "drop", "gamma"))
        photo = lift + (1 - lift - drop) * np.power(np.clip(photo, 1e-6, 1), gamma)
    if "saturation" in plan:
        y = (photo @ LUMA)[..., None]
        photo = y + plan["saturation"] * (photo - y)
    if "paper" in plan:
        paper = plan["paper"]
        colour = np.clip(0.92 + 0.35 * _hue_vector(paper["hue"]), 0, 1)
        light = np.clip(luma(photo), 0, 1)[..., None]
        photo = photo * (1 - paper["amount"]) + colour * paper["amount"] * (0.3 + 0.7 * light)
    if "cast" in plan:
        photo = photo * (1 + plan["cast"]["amount"] * _hue_vector(plan["cast"]["hue"]))
    if "exposure" in plan:
        exposure = plan["exposure"]
        photo = np.power(np.clip(photo * exposure["gain"], 1e-6, 1), exposure["gamma"])
    if "uneven" in plan:
        uneven = plan["uneven"]
        weight = 1 - uneven["amount"] * _smooth_field(photo.shape[:2], uneven["grid"], uneven["seed"])
        photo = original + weight[..., None] * (photo - original)
    return np.asarray(np.clip(photo, 0, 1), dtype=np.float32)


def describe_plan(plan: dict[str, Any]) -> str:
    """The plan's steps in a few words (for sheets and logs)."""
    if plan.get("untouched", True):
        return "untouched"
    return ", ".join(key for key in ("tone", "dye", "saturation", "paper", "cast", "exposure", "uneven")
                     if key in plan) + f" (strength {plan['strength']:.2f})"

