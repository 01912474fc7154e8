"""An aging chain for validation only, written apart from :mod:`patina.degradations` (never used for training).

A model trained on one synthetic chain can learn that chain instead of old photographs. This chain is
independent of the training one: its own code, its own parameterisation and its own damage geometry, so a
restoration that scores well on both is less likely to have learnt one generator's quirks. A photo is
aged, in this order, by

* a black-and-white print (45 %), toned (sepia, selenium or cyanotype-like) for most of them;
* dye fading of a colour print: one power curve and lift per channel (the cyan dye fading fastest), or the
  yellowing of a toned print's paper;
* uneven fading: the fade's strength varies smoothly over the picture (a low-resolution random field);
* stains: irregular blotches with a darker tide line;
* blur: a defocus disk or a short motion streak (not a Gaussian);
* grain: luminance-dependent, spatially correlated, multiplicative;
* scratches: curved (quadratic Bezier) strokes of 1-3 px, bright or dark, and dust specks (recorded in the
  damage mask);
* JPEG at quality 35-90 (70 %).

The target is the clean photo, gray for a black-and-white print (a restoration removes toning and casts).
The same photo and seed always give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

STREAM = 0x5EED_A6E
"""Mixed into every seed, so this chain's random draws never coincide with the training chain's."""

TONES = {"sepia": (1.08, 0.94, 0.74), "selenium": (1.02, 0.96, 0.98), "cyanotype": (0.72, 0.88, 1.12)}
"""Multipliers of the print's luminance per channel (toning is strongest in the mid-tones)."""


@dataclass(frozen=True)
class AgedPhoto:
    """A photo aged by :func:`age_photo`: the aged picture, what a restoration should give back, and the
    damage a restoration has to inpaint."""

    aged: np.ndarray     # (H, W, 3) float32 in [0, 1]
    target: np.ndarray   # (H, W, 3) float32: the clean photo, gray for a black-and-white print
    mask: np.ndarray     # (H, W) float32: 1 where scratches and dust cover the picture
    steps: tuple[str, ...]


def age_photo(clean: np.ndarray, seed: int) -> AgedPhoto:
    """Age ``clean`` ((H, W, 3) float RGB in [0, 1]) with the draws of ``seed`` (module docstring)."""
    rng = np.random.default_rng([STREAM, seed])
    photo = np.clip(np.asarray(clean, dtype=np.float32), 0, 1)
    height, width = photo.shape[:2]
    steps: list[str] = []
    target = photo
    if rng.random() < 0.45:
        gray = np.repeat(_luminance(photo)[..., None], 3, axis=2)
        target = photo = gray
        steps.append("monochrome")
        if rng.random() < 0.7:
            tone = str(rng.choice(list(TONES)))
            photo = _tone(photo, TONES[tone], rng.uniform(0.5, 1.0))
            steps.append(f"tone:{tone}")
    field = _smooth_field(rng, height, width, grid=int(rng.integers(2, 5)))
    strength = float(rng.uniform(0.25, 0.9)) * (0.6 + 0.8 * field)
    if "monochrome" in steps:
        photo = _yellowed_paper(photo, strength[..., None], rng)
        steps.append("yellowed paper")
    else:
        photo = _dye_fade(photo, strength[..., None], rng)
        steps.append("dye fade")
    for _ in range(int(rng.integers(0, 3))):
        photo = _stain(photo, rng)
        steps.append("stain")
    photo = _blur(photo, rng, steps)
    photo = _grain(photo, rng)
    steps.append("grain")
    mask = np.zeros((height, width), np.float32)
    photo = _scratches_and_dust(photo, mask, rng)
    steps.append("scratches and dust")
    if rng.random() < 0.7:
        quality = int(rng.integers(35, 91))
        photo = _jpeg(photo, quality)
        steps.append(f"jpeg:{quality}")
    return AgedPhoto(aged=np.clip(photo, 0, 1).astype(np.float32), target=target.astype(np.float32), mask=mask,
                     steps=tuple(steps))


def _luminance(photo: np.ndarray) -> np.ndarray:
    return np.asarray(photo @ np.array([0.2126, 0.7152, 0.0722], np.float32), dtype=np.float32)


def _tone(gray: np.ndarray, tint: tuple[float, float, float], amount: float) -> np.ndarray:
    """Toning: the tint, strongest in the mid-tones, blended in by ``amount``."""
    light = gray[..., :1]
    weight = amount * 4 * light * (1 - light)
    return np.clip(gray * (1 + weight * (np.array(tint, np.float32) - 1)), 0, 1)


def _smooth_field(rng: np.random.Generator, height: int, width: int, *, grid: int) -> np.ndarray:
    """A smooth random field in [0, 1] over the picture (a ``grid`` x ``grid`` lattice, bicubic)."""
    lattice = rng.random((grid, grid)).astype(np.float32)
    field = cv2.resize(lattice, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.asarray(np.clip(field, 0, 1), dtype=np.float32)


def _dye_fade(photo: np.ndarray, strength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour-print dye fading: per channel, a lifted black point, a lowered white point and a power curve;
    the red channel (cyan dye) fades most, then green (magenta), blue (yellow) least."""
    order = np.array([1.0, 0.55, 0.3], np.float32) * rng.uniform(0.7, 1.3, 3).astype(np.float32)
    lift = 0.35 * strength * order
    drop = 0.15 * strength * order[::-1]
    gamma = 1.0 - 0.45 * strength * order
    curved = np.power(np.clip(photo, 1e-6, 1), gamma)
    return np.asarray(lift + (1 - lift - drop) * curved, dtype=np.float32)


def _yellowed_paper(photo: np.ndarray, strength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paper yellowing and silver fading: the print's contrast sinks towards a warm paper colour."""
    paper = np.array([0.93, 0.84, rng.uniform(0.55, 0.7)], np.float32)
    amount = 0.6 * strength
    return np.asarray(photo * (1 - amount) + paper * amount * (0.35 + 0.65 * photo), dtype=np.float32)


def _stain(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A water or foxing stain: an irregular brownish blotch with a darker rim."""
    height, width = photo.shape[:2]
    radius = rng.uniform(0.05, 0.18) * min(height, width)
    cy, cx = rng.uniform(0, height), rng.uniform(0, width)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = np.arctan2(yy - cy, xx - cx)
    wobble = sum(rng.uniform(0.05, 0.2) * np.cos(k * angle + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
    distance = np.hypot(yy - cy, xx - cx) / (radius * (1 + wobble))
    inside = np.clip(1.2 - distance, 0, 1)
    rim = np.exp(-((distance - 1.0) / 0.08) ** 2)
    colour = np.array([0.78, 0.62, 0.42], np.float32)
    darkening = rng.uniform(0.15, 0.45) * inside[..., None] + rng.uniform(0.2, 0.5) * rim[..., None]
    return np.asarray(photo * (1 - darkening) + photo * colour * darkening, dtype=np.float32)


def _blur(photo: np.ndarray, rng: np.random.Generator, steps: list[str]) -> np.ndarray:
    """A defocus disk (radius 0.7-2.2 px) or a motion streak (3-7 px); sometimes none."""
    kind = rng.random()
    if kind < 0.45:
        radius = rng.uniform(0.7, 2.2)
        size = 2 * int(np.ceil(radius)) + 1
        yy, xx = np.mgrid[0:size, 0:size] - size // 2
        kernel = (np.hypot(yy, xx) <= radius).astype(np.float32)
        steps.append(f"defocus:{radius:.1f}")
    elif kind < 0.7:
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), np.float32)
        cv2.line(kernel, (0, int(rng.integers(0, length))), (length - 1, int(rng.integers(0, length))), 1.0, 1)
        steps.append(f"motion:{length}")
    else:
        return photo
    kernel /= kernel.sum()
    return np.asarray(cv2.filter2D(photo, -1, kernel, borderType=cv2.BORDER_REFLECT), dtype=np.float32)


def _grain(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Film grain: correlated noise, strongest in the mid-tones, multiplicative, the same in every channel
    (silver grain) or per channel (dye clouds)."""
    height, width = photo.shape[:2]
    channels = 1 if rng.random() < 0.6 else 3
    white = rng.standard_normal((height, width, channels)).astype(np.float32)
    noise = np.asarray(cv2.GaussianBlur(white, (0, 0), rng.uniform(0.5, 1.2)), np.float32).reshape(height, width,
                                                                                                    channels)
    noise /= max(float(noise.std()), 1e-6)
    light = _luminance(photo)[..., None]
    amount = rng.uniform(0.02, 0.08) * (0.4 + 2.4 * light * (1 - light))
    return np.asarray(photo * (1 + amount * noise), dtype=np.float32)


def _scratches_and_dust(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Curved scratches (quadratic Bezier strokes) and dust specks, drawn into ``photo`` and ``mask``."""
    height, width = photo.shape[:2]
    marks = np.zeros((height, width), np.float32)
    values = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(0, 5))):
        ends = rng.uniform([0, 0], [width, height], size=(3, 2))
        t = np.linspace(0, 1, 64)[:, None]
        curve = (1 - t) ** 2 * ends[0] + 2 * t * (1 - t) * ends[1] + t**2 * ends[2]
        layer = np.zeros((height, width), np.float32)
        cv2.polylines(layer, [np.round(curve).astype(np.int32)], False, 1.0, int(rng.integers(1, 4)), cv2.LINE_AA)
        _mark(marks, values, layer, 0.95 if rng.random() < 0.7 else 0.08)
    for _ in range(int(rng.integers(5, 120))):
        layer = np.zeros((height, width), np.float32)
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        cv2.ellipse(layer, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1, cv2.LINE_AA)
        _mark(marks, values, layer, 0.9 if rng.random() < 0.5 else 0.1)
    mask[:] = (marks > 0.25).astype(np.float32)
    return np.asarray(photo * (1 - marks[..., None]) + values[..., None] * marks[..., None], dtype=np.float32)


def _mark(marks: np.ndarray, values: np.ndarray, layer: np.ndarray, value: float) -> None:
    """Add one drawn mark (coverage ``layer``, grey level ``value``) to the marks drawn so far."""
    newer = layer > marks
    values[newer] = value
    np.maximum(marks, layer, out=marks)


def _jpeg(photo: np.ndarray, quality: int) -> np.ndarray:
    pixels = np.round(np.clip(photo, 0, 1) * 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    return np.asarray(decoded[..., ::-1], dtype=np.float32) / 255


__all__ = ["AgedPhoto", "age_photo"]
