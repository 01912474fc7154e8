"""Blur and resolution loss: gaussian, defocus (disk), motion (line), downscale-then-upscale."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ._common import check_image, finish, rng_for

__all__ = ["gaussian_blur", "defocus_blur", "motion_blur", "downscale", "disk_kernel", "line_kernel", "INTERPOLATIONS"]

#: Interpolation names accepted by :func:`downscale`.
INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}
_DOWN_CHOICES = ("area", "bilinear", "bicubic", "nearest")
_DOWN_P = (0.4, 0.25, 0.25, 0.1)
_UP_CHOICES = ("bilinear", "bicubic", "lanczos", "nearest")
_UP_P = (0.4, 0.4, 0.15, 0.05)

_BORDER = cv2.BORDER_REFLECT_101


def _filter(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(img, -1, kernel, borderType=_BORDER)


def gaussian_blur(image: np.ndarray, *, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` pixels (soft lens / scanner blur)."""
    img = check_image(image)
    s = float(sigma)
    if s <= 0:
        return finish(img.copy())
    out = cv2.GaussianBlur(img, (0, 0), s, borderType=_BORDER)
    return finish(out)


def disk_kernel(radius: float) -> np.ndarray:
    """Anti-aliased, normalised disk (pillbox) kernel of the given radius in pixels."""
    r = max(float(radius), 0.5)
    half = max(int(math.ceil(r - 0.5)), 0)
    ss = 4  # supersampling for the edge coverage
    coords = (np.arange((2 * half + 1) * ss, dtype=np.float32) + 0.5) / ss - (half + 0.5)
    d = np.sqrt(coords[:, None] ** 2 + coords[None, :] ** 2)
    inside = (d <= r).astype(np.float32)
    k = inside.reshape(2 * half + 1, ss, 2 * half + 1, ss).mean(axis=(1, 3))
    return (k / k.sum()).astype(np.float32)


def defocus_blur(image: np.ndarray, *, radius: float) -> np.ndarray:
    """Out-of-focus blur: convolution with a disk of ``radius`` pixels."""
    img = check_image(image)
    if float(radius) <= 0:
        return finish(img.copy())
    return finish(_filter(img, disk_kernel(radius)))


def line_kernel(length: float, angle: float) -> np.ndarray:
    """Anti-aliased, normalised line kernel ``length`` pixels long at ``angle`` degrees (0 = horizontal)."""
    L = max(float(length), 1.0)
    a = math.radians(float(angle))
    ux, uy = math.cos(a), -math.sin(a)  # image y axis points down
    half = int(math.ceil(L / 2.0 * max(abs(ux), abs(uy)) + 0.5))
    size = 2 * half + 1
    ss = 5
    coords = (np.arange(size * ss, dtype=np.float32) + 0.5) / ss - size / 2.0
    x = coords[None, :]
    y = coords[:, None]
    along = np.clip(x * ux + y * uy, -L / 2.0, L / 2.0)
    dist2 = (x - along * ux) ** 2 + (y - along * uy) ** 2
    inside = (dist2 <= 0.25).astype(np.float32)  # a 1-pixel-wide stroke
    k = inside.reshape(size, ss, size, ss).mean(axis=(1, 3))
    return (k / k.sum()).astype(np.float32)


def motion_blur(image: np.ndarray, *, length: float, angle: float) -> np.ndarray:
    """Camera-shake blur: convolution with a line ``length`` pixels long at ``angle`` degrees."""
    img = check_image(image)
    if float(length) <= 1.0:
        return finish(img.copy())
    return finish(_filter(img, line_kernel(length, angle)))


def downscale(
    image: np.ndarray,
    *,
    factor: float,
    down: str | None = None,
    up: str | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Resolution loss: resize down by ``factor`` then back up to the original size.

    ``down`` / ``up`` are interpolation names from :data:`INTERPOLATIONS`; when None they are drawn
    from ``seed`` (area/bilinear/bicubic/nearest down, bilinear/bicubic/lanczos/nearest up).
    """
    img = check_image(image)
    h, w = img.shape[:2]
    f = max(float(factor), 1.0)
    rng = rng_for(seed)
    if down is None:
        down = str(rng.choice(_DOWN_CHOICES, p=_DOWN_P))
    if up is None:
        up = str(rng.choice(_UP_CHOICES, p=_UP_P))
    if down not in INTERPOLATIONS or up not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {down!r}/{up!r}; use one of {sorted(INTERPOLATIONS)}")
    sh, sw = max(1, int(round(h / f))), max(1, int(round(w / f)))
    if (sh, sw) == (h, w):
        return finish(img.copy())
    small = cv2.resize(img, (sw, sh), interpolation=INTERPOLATIONS[down])
    out = cv2.resize(small, (w, h), interpolation=INTERPOLATIONS[up])
    return finish(out)
