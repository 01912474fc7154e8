"""Print and paper: halftone dot screens (newspaper/book reproductions) and photo-paper texture."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ._common import check_image, finish, luma, rng_for

__all__ = ["halftone", "paper_texture"]


def halftone(
    image: np.ndarray,
    *,
    cell: float = 4.0,
    angle: float = 45.0,
    amount: float = 1.0,
    scan_blur: float = 0.2,
) -> np.ndarray:
    """A printed-and-scanned halftone: luminance rendered as a round-dot screen.

    ``cell`` is the screen period in pixels (>= 2), ``angle`` the screen angle in degrees, and
    ``amount`` blends the screened result with the original (1 = fully screened). The dot pattern
    replaces the luminance; colour differences between channels are kept. ``scan_blur`` is the
    scanner's blur as a fraction of the cell (gaussian sigma = scan_blur * cell; 0 = crisp dots).
    """
    img = check_image(image)
    h, w = img.shape[:2]
    c = max(float(cell), 2.0)
    a = math.radians(float(angle))
    ca, sa = math.cos(a) / c, math.sin(a) / c
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(h, dtype=np.float32) + 0.5
    # cos(2*pi*u) with u = x*ca + y*sa, expanded as cos(A+B) = cosA cosB - sinA sinB (cheap: 1-D trig)
    ax, bx = 2 * math.pi * ca * xs, 2 * math.pi * (-sa) * xs
    ay, by = 2 * math.pi * sa * ys, 2 * math.pi * ca * ys
    cu = np.cos(ay)[:, None] * np.cos(ax)[None, :] - np.sin(ay)[:, None] * np.sin(ax)[None, :]
    cv = np.cos(by)[:, None] * np.cos(bx)[None, :] - np.sin(by)[:, None] * np.sin(bx)[None, :]
    spot = 0.5 - 0.25 * (cu + cv)                   # 0 at dot centres, 1 between dots
    y = np.clip(luma(img), 0.0, 1.0)
    dark = 1.0 - y
    aa = 1.6 / c                                    # ~1 px anti-aliasing band
    ink = np.clip((dark - spot) / aa + 0.5, 0.0, 1.0)
    screened = 1.0 - ink
    sb = float(scan_blur) * c
    if sb >= 0.2:
        screened = cv2.GaussianBlur(screened, (0, 0), sb, borderType=cv2.BORDER_REFLECT)
    am = float(np.clip(amount, 0.0, 1.0))
    out = img + (am * (screened - y))[..., None]
    return finish(out)


def _smooth_field(rng: np.random.Generator, h: int, w: int, period: float) -> np.ndarray:
    """Unit-variance smooth noise with features about ``period`` pixels across (bicubic upsampled)."""
    gh, gw = max(2, int(math.ceil(h / period)) + 2), max(2, int(math.ceil(w / period)) + 2)
    g = rng.standard_normal((gh, gw), dtype=np.float32)
    f = cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
    std = float(f.std())
    return f / std if std > 0 else f


def paper_texture(image: np.ndarray, *, strength: float, scale: float = 1.0, seed: int = 0) -> np.ndarray:
    """Photo-paper / print-surface texture: blotchy density variations, fibres and an embossed grain.

    ``strength`` ~0.03 subtle, ~0.1 strong. ``scale`` multiplies the feature sizes (pixels).
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = float(strength)
    sc = max(float(scale), 0.25)
    coarse = _smooth_field(rng, h, w, 40.0 * sc)
    # fibres: white noise stretched along a random direction (mostly horizontal paper grain)
    n = rng.standard_normal((h, w), dtype=np.float32)
    horizontal = bool(rng.random() < 0.7)
    sx, sy = (1.6 * sc, 0.45 * sc) if horizontal else (0.45 * sc, 1.6 * sc)
    fib = np.asarray(cv2.GaussianBlur(n, (0, 0), sigmaX=sx, sigmaY=sy, borderType=cv2.BORDER_REFLECT), np.float32)
    fib /= max(float(fib.std()), 1e-6)
    # surface relief lit from the top-left: derivative of a mid-frequency field
    m = np.asarray(cv2.GaussianBlur(n[::-1].copy(), (0, 0), 1.2 * sc, borderType=cv2.BORDER_REFLECT), np.float32)
    relief = np.zeros_like(m)
    relief[1:, 1:] = m[1:, 1:] - m[:-1, :-1]
    relief /= max(float(relief.std()), 1e-6)
    tex = 0.55 * coarse + 0.35 * fib + 0.45 * relief
    tex *= s
    out = img * (1.0 + tex[..., None]) + 0.25 * tex[..., None]
    return finish(out)
