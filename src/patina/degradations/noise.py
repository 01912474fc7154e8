"""Noise: additive gaussian (scanner/sensor), film grain (correlated, luminance dependent), Poisson (shot)."""

from __future__ import annotations

import cv2
import numpy as np

from ._common import check_image, finish, luma, rng_for

__all__ = ["gaussian_noise", "film_grain", "poisson_noise"]


def gaussian_noise(image: np.ndarray, *, sigma: float, gray: bool = False, seed: int = 0) -> np.ndarray:
    """Additive white gaussian noise of standard deviation ``sigma`` (in [0, 1] units).

    ``gray=True`` adds the same noise to the three channels (luminance noise only).
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = float(sigma)
    if gray:
        n = rng.standard_normal((h, w), dtype=np.float32)
        n *= s
        out = img + n[..., None]
    else:
        n = rng.standard_normal((h, w, 3), dtype=np.float32)
        n *= s
        out = img + n
    return finish(out)


def _correlated_noise(rng: np.random.Generator, h: int, w: int, size: float, channels: int = 1) -> np.ndarray:
    """Unit-variance gaussian noise with a correlation length of about ``size`` pixels.

    Grain coarser than a pixel is drawn at a proportionally lower resolution and upsampled
    (bicubic), which is both cheaper and smoother. Returns (h, w) or (h, w, channels) float32.
    """
    size = max(float(size), 0.1)
    f = max(1.0, size)
    gh, gw = max(2, int(np.ceil(h / f))), max(2, int(np.ceil(w / f)))
    shape = (gh, gw) if channels == 1 else (gh, gw, channels)
    n = rng.standard_normal(shape, dtype=np.float32)
    sig = 0.5 * size / f
    if sig >= 0.3:
        n = np.asarray(cv2.GaussianBlur(n, (0, 0), sig, borderType=cv2.BORDER_REFLECT), np.float32)
    if (gh, gw) != (h, w):
        n = np.asarray(cv2.resize(n, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
        if channels > 1 and n.ndim == 2:  # pragma: no cover - cv2 keeps channels for >1
            n = n[..., None]
    std = float(n.std())
    if std > 0:
        n *= np.float32(1.0 / std)
    return n


def film_grain(
    image: np.ndarray,
    *,
    strength: float,
    size: float = 1.0,
    chroma: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Film grain: spatially correlated noise whose amplitude depends on the local luminance.

    ``strength`` is the grain standard deviation in the mid-tones (~0.03 visible, ~0.08 heavy);
    it falls to 40 % in deep shadows and bright highlights. ``size`` is the grain size in pixels
    (correlation length). ``chroma`` in [0, 1] adds independent per-channel (colour-film dye) grain.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    y = np.clip(luma(img), 0.0, 1.0)
    amp = float(strength) * (0.4 + 2.4 * y * (1.0 - y))
    g = _correlated_noise(rng, h, w, size)
    g *= amp
    out = img + g[..., None]
    c = float(np.clip(chroma, 0.0, 1.0))
    if c > 0:  # dye-cloud grain of colour film: independent per channel
        gc = _correlated_noise(rng, h, w, size, channels=3)
        gc *= (amp * c)[..., None]
        out += gc
    return finish(out)


_EXACT_BELOW = 24.0  # photon counts below this use exact Poisson draws, above it the gaussian limit


def _shot(rng: np.random.Generator, lam: np.ndarray, k: float) -> np.ndarray:
    """Poisson(lam) / k: exact for small counts, N(lam, lam) (indistinguishable) for large ones."""
    n = rng.standard_normal(lam.shape, dtype=np.float32)
    out = lam + n * np.sqrt(lam)
    small = np.flatnonzero(lam < _EXACT_BELOW)
    if small.size:
        flat = out.reshape(-1)
        flat[small] = rng.poisson(lam.reshape(-1)[small]).astype(np.float32)
    out *= np.float32(1.0 / k)
    return out


def poisson_noise(image: np.ndarray, *, scale: float, gray: bool = False, seed: int = 0) -> np.ndarray:
    """Shot noise: values become Poisson(value * scale) / scale.

    ``scale`` is the photon count of a full-white pixel (lower = noisier; 50 is very noisy, 1000
    subtle). ``gray=True`` applies the noise to luminance only (same change on all channels).
    Counts above 24 use the gaussian limit N(lam, lam) of the Poisson law (for speed).
    """
    img = check_image(image)
    rng = rng_for(seed)
    k = max(float(scale), 1e-3)
    kk = np.float32(k)
    if gray:
        y = np.clip(luma(img), 0.0, 1.0)
        noisy = _shot(rng, y * kk, k)
        out = img + (noisy - y)[..., None]
    else:
        out = _shot(rng, np.clip(img, 0.0, 1.0) * kk, k)
    return finish(out)
