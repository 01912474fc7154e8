"""Wide global tone and colour damage: what the tone-correction branch of restoration learns to undo.

The chain's own tone ops (:mod:`.color`) cover fading and warm casts in the narrow ranges seen on most prints. A
correction that must generalise is trained on far more: dye fading with its own curve per channel (so any hue;
half of these in step with the dyes' order, the first dye's channel lifted and lightened most:
:func:`_dye_order_curves`) or, as often, fading of the print's three dyes in optical density
(:func:`_dye_density`: one dye fades first, most often the cyan, which turns a print red; the paper's base
stains yellow), casts of any hue (warm ones four times in five, as on real prints) up to very strong, paper
yellowing of any warmth, loss of saturation (half the curve fades; fading never adds colour), wrong exposure,
uneven fading over the picture and toning of black-and-white prints, up to very strong (:data:`P_VERY_STRONG`).
A share of photos is left untouched, so that the correction learns to leave a good photo alone.

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
P_DENSITY = 0.5
"""Share of damaged colour photos faded in dye density (:func:`_dye_density`) rather than by per-channel curves."""
FASTEST_DYE = {"cyan": 0.55, "magenta": 0.25, "yellow": 0.2}
"""How often each dye is the one that fades first: cyan in dark storage (most prints of the 1960s-80s turn
red), magenta or yellow in light."""
P_DYE_ORDER = 0.5
"""Share of curve-faded colour photos whose channels fade in step with the dyes' order (:func:`_dye_order_curves`)."""
P_UNEVEN = 0.7
"""Share of damaged photos whose fading varies smoothly over the picture."""
DYE_CROSSTALK = np.array([[1.0, 0.12, 0.04], [0.10, 1.0, 0.14], [0.03, 0.18, 1.0]], np.float32)
"""Density each dye (columns: cyan, magenta, yellow) adds to each channel (rows: R, G, B): real dyes also
absorb a little outside their own band, so one dye's fading shifts the other channels too."""


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
    elif rng.random() < P_DENSITY:
        fastest = int(rng.choice(3, p=list(FASTEST_DYE.values())))
        loss = rng.uniform(0.0, 0.45, 3)
        loss[fastest] = rng.uniform(0.45, 0.95)
        plan["density"] = {"remaining": [round(float(v), 4) for v in np.clip(1 - loss * min(strength, 1.0), 0.06, 1)],
                           "stain": [round(float(v), 4) for v in rng.uniform(0, [0.04, 0.08, 0.3]) * strength],
                           "flare": round(float(rng.uniform(0, 0.08) * strength), 4)}
        plan["saturation"] = round(float(rng.uniform(0.5, 1.0)), 4)
    else:
        if rng.random() < P_DYE_ORDER:
            lift, gamma = _dye_order_curves(rng, strength)
            drop = np.minimum(rng.uniform(0, 0.3, 3) * strength, 0.85 - lift)
        else:
            # dye fading: black lifted, white lowered, a power curve, each channel its own; a washed-out print's
            # mid-tones are lifted in every channel (a common gamma below 1)
            lift = np.minimum(rng.uniform(0, 0.45, 3) * strength, 0.6)
            drop = np.minimum(rng.uniform(0, 0.3, 3) * strength, 0.85 - lift)
            washed = rng.uniform(0, 0.6) * strength if rng.random() < 0.5 else 0.0
            gamma = np.exp(rng.normal(0, 0.35, 3) * strength - washed)
        plan["dye"] = {"lift": [round(float(v), 4) for v in lift], "drop": [round(float(v), 4) for v in drop],
                       "gamma": [round(float(v), 4) for v in gamma]}
        if rng.random() < 0.5:
            plan["saturation"] = round(float(rng.uniform(0.2, 1.0)), 4)  # fading only takes colour away
    if rng.random() < 0.5:
        plan["paper"] = {"hue": round(float(rng.normal(40, 12) if rng.random() < 0.85 else rng.uniform(0, 360)), 2),
                         "amount": round(float(min(rng.uniform(0.05, 0.6) * strength, 0.8)), 4)}
    if rng.random() < 0.6:
        hue = rng.uniform(-40, 70) % 360 if rng.random() < 0.8 else rng.uniform(0, 360)  # warm: magenta-red-yellow
        plan["cast"] = {"hue": round(float(hue), 2),
                        "amount": round(float(min(rng.uniform(0.02, 0.45) * strength, 0.6)), 4)}
    if rng.random() < 0.5:
        plan["exposure"] = {"gain": round(float(np.exp(rng.normal(0, 0.2))), 4),
                            "gamma": round(float(np.exp(rng.normal(0, 0.25))), 4)}
    if rng.random() < P_UNEVEN:
        plan["uneven"] = {"grid": int(rng.integers(2, 5)), "seed": int(rng.integers(0, 2**31 - 1)),
                          "amount": round(float(rng.uniform(0.2, 0.8)), 4)}
    return plan


def _dye_order_curves(rng: np.random.Generator, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel lift and gamma of a print whose dyes fade at their own rates: the channel of the dye that fades
    first (:data:`FASTEST_DYE`: cyan -> red, magenta -> green, yellow -> blue) is lifted most and its mid-tones
    lightened most, the others in proportion to their own, slower, losses."""
    fastest = int(rng.choice(3, p=list(FASTEST_DYE.values())))
    slower = [channel for channel in range(3) if channel != fastest]
    loss = np.empty(3)
    loss[fastest] = rng.uniform(0.6, 1.0)
    loss[slower] = loss[fastest] * np.sort(rng.uniform(0.1, 0.8, 2))[rng.permutation(2)]
    lift = np.minimum(rng.uniform(0.25, 0.45) * strength * loss, 0.6)
    gamma = np.exp(-rng.uniform(0.2, 0.8) * strength * loss)
    return lift, gamma


def _smooth_field(shape: tuple[int, int], grid: int, seed: int) -> np.ndarray:
    lattice = np.random.default_rng(seed).random((grid, grid)).astype(np.float32)
    field = cv2.resize(lattice, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.asarray(np.clip(field, 0, 1), dtype=np.float32)


def _dye_density(photo: np.ndarray, fading: dict[str, Any]) -> np.ndarray:
    """Fade a colour print in optical density: each channel's density is split into the three dyes'
    (:data:`DYE_CROSSTALK`), each dye keeps its ``remaining`` share, the paper base gains ``stain`` density per
    channel (yellowing: mostly blue), and ``flare`` (scanner or copy-stand light) lifts every channel."""
    density = -np.log10(np.clip(photo, 10**-2.5, 1))
    dyes = density @ np.linalg.inv(DYE_CROSSTALK).T
    faded = (dyes * np.asarray(fading["remaining"], np.float32)) @ DYE_CROSSTALK.T
    faded = np.maximum(faded, 0) + np.asarray(fading["stain"], np.float32)
    flare = fading["flare"]
    return np.asarray(flare + (1 - flare) * np.power(10.0, -faded), dtype=np.float32)


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
    if "density" in plan:
        photo = _dye_density(photo, plan["density"])
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
    return ", ".join(key for key in ("tone", "dye", "density", "saturation", "paper", "cast", "exposure", "uneven")
                     if key in plan) + f" (strength {plan['strength']:.2f})"

