"""Tone and colour aging: fading, yellowing, colour casts, sepia toning, vignetting, grayscale."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ._common import LUMA, affine, check_image, finish, luma, rng_for

__all__ = ["grayscale", "fade", "yellowing", "color_cast", "sepia", "vignette"]


def grayscale(image: np.ndarray) -> np.ndarray:
    """BT.601 luma copied into three equal channels (a black-and-white photograph)."""
    img = check_image(image)
    y = np.clip(luma(img), 0.0, 1.0)
    return np.ascontiguousarray(np.repeat(y[..., None], 3, axis=2))


def fade(image: np.ndarray, *, amount: float, desaturation: float = 0.5) -> np.ndarray:
    """Fading: lifts the blacks, slightly dulls the whites and lowers saturation.

    ``amount`` in [0, 1]: 0 is a no-op; 0.5 puts black at ~0.2 and white at ~0.94 (a strongly
    faded print). ``desaturation`` is the fraction of ``amount`` by which chroma is reduced.
    """
    img = check_image(image)
    a = float(np.clip(amount, 0.0, 1.0))
    black = 0.42 * a                    # shadows lift a lot
    white = 1.0 - 0.12 * a              # highlights dull a little
    gamma = 1.0 + 0.25 * a              # old prints lose shadow density non-linearly
    out = img if gamma == 1.0 else np.power(np.clip(img, 0.0, 1.0), np.float32(1.0 / gamma))
    d = float(np.clip(desaturation, 0.0, 1.0)) * a
    # levels (black + (white - black) * x) then desaturation (x -> (1 - d) x + d luma(x)), as one matrix
    m = (1.0 - d) * np.eye(3) + d * np.outer(np.ones(3), LUMA.astype(np.float64))
    m = np.concatenate([(white - black) * m, np.full((3, 1), black)], axis=1)
    return finish(affine(out, m))


def yellowing(image: np.ndarray, *, amount: float, tint=(1.0, 0.82, 0.45)) -> np.ndarray:
    """Yellowing of the paper / binder: a warm cast that is stronger in the highlights.

    Blue (and a little green) is absorbed in proportion to ``amount`` and to the local brightness;
    shadows get a faint warm-brown lift. ``tint`` is the RGB colour a pure white ends up at (for
    ``amount`` = 1), normalised so its largest channel is 1.
    """
    img = check_image(image)
    a = float(np.clip(amount, 0.0, 1.0))
    t = np.asarray(tint, dtype=np.float32).reshape(3)
    t = t / max(float(t.max()), 1e-6)
    absorb = ((1.0 - t) * a).astype(np.float64)      # per-channel absorption at full strength
    stain = np.array([0.09, 0.06, 0.01]) * a          # warm stain in the shadows (paper browns too)
    # out_c = x_c * (1 - absorb_c * (0.35 + 0.65 y)) + stain_c * (1 - y),  y = luma(x)
    # linear part in one matrix pass, the highlight-weighted part (x_c * y) added after
    m = np.diag(1.0 - 0.35 * absorb) - np.outer(stain, LUMA.astype(np.float64))
    m = np.concatenate([m, stain[:, None]], axis=1)
    out = affine(img, m)
    y = luma(img)
    out -= img * y[..., None] * (0.65 * absorb).astype(np.float32)
    return finish(out)


def _hue_vector(hue_deg: float) -> np.ndarray:
    """Zero-mean, unit-amplitude RGB direction for a hue angle (0 = red, 120 = green, 240 = blue)."""
    h = math.radians(hue_deg)
    v = np.array([math.cos(h), math.cos(h - 2 * math.pi / 3), math.cos(h - 4 * math.pi / 3)], np.float32)
    return v  # sums to zero; max abs <= 1


# Casts seen on aged colour prints/slides: red-magenta (cyan dye fades), magenta, orange, cyan, green.
_CAST_HUES = (345.0, 345.0, 315.0, 25.0, 40.0, 190.0, 120.0)


def color_cast(image: np.ndarray, *, strength: float, hue: float | None = None, seed: int = 0) -> np.ndarray:
    """A global colour cast (dye fading / bad white balance) in direction ``hue`` (degrees).

    The cast is applied as channel gains in the mid-tones and highlights plus a small offset in the
    shadows. ``strength`` ~0.05 is subtle, ~0.15 is strong. When ``hue`` is None it is drawn from
    ``seed`` around the casts typical of aged colour photographs.
    """
    img = check_image(image)
    if hue is None:
        rng = rng_for(seed)
        hue = float(_CAST_HUES[int(rng.integers(len(_CAST_HUES)))] + rng.normal(0.0, 12.0))
    s = float(strength)
    v = _hue_vector(float(hue))
    gains = 1.0 + s * v.astype(np.float64)
    offset = 0.35 * s * v.astype(np.float64)
    # out = x * gains + (1 - luma(x)) * offset, as one affine colour matrix
    m = np.diag(gains) - np.outer(offset, LUMA.astype(np.float64))
    out = affine(img, np.concatenate([m, offset[:, None]], axis=1))
    return finish(out)


def sepia(image: np.ndarray, *, amount: float = 1.0, warmth: float = 0.5) -> np.ndarray:
    """Sepia toning: the image becomes its luma mapped to a brown-to-cream ramp.

    The output always has R >= G >= B. ``amount`` blends between neutral gray (0) and full sepia (1);
    ``warmth`` in [0, 1] sets how brown the tone is.
    """
    img = check_image(image)
    a = float(np.clip(amount, 0.0, 1.0))
    wm = float(np.clip(warmth, 0.0, 1.0))
    y = np.clip(luma(img), 0.0, 1.0)
    # per-channel gamma (>= ordering keeps R >= G >= B) and highlight tint (cream paper)
    gammas = (1.0 - 0.12 * wm, 1.0 + 0.06 * wm, 1.0 + 0.45 * wm)
    whites = (1.0, 1.0 - 0.04 * wm, 1.0 - 0.16 * wm)
    chans = []
    for c in range(3):
        tone = np.power(y, np.float32(gammas[c])) if gammas[c] != 1.0 else y.copy()
        tone *= np.float32(a * whites[c])
        tone += np.float32(1.0 - a) * y
        chans.append(tone)
    return finish(cv2.merge(chans))


def vignette(
    image: np.ndarray,
    *,
    strength: float,
    radius: float = 0.6,
    softness: float = 0.6,
    center: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Darkening toward the borders (lens fall-off / uneven printing exposure).

    Distance is measured on a normalised ellipse (1 = middle of an edge); darkening starts at
    ``radius`` and reaches ``strength`` at ``radius + softness``. ``center`` offsets the centre in
    the same normalised units (x, y).
    """
    img = check_image(image)
    h, w = img.shape[:2]
    s = float(np.clip(strength, 0.0, 1.0))
    cx, cy = float(center[0]), float(center[1])
    xs = (np.arange(w, dtype=np.float32) + 0.5) / (w / 2.0) - 1.0 - cx
    ys = (np.arange(h, dtype=np.float32) + 0.5) / (h / 2.0) - 1.0 - cy
    r = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    t = np.clip((r - float(radius)) / max(float(softness), 1e-3), 0.0, None)
    t = np.minimum(t, 1.0)
    fall = t * t * (3.0 - 2.0 * t)                  # smoothstep: full strength from radius + softness on
    factor = 1.0 - s * fall
    out = img * np.clip(factor, 0.0, 1.0)[..., None]
    return finish(out)

