"""Physical damage: scratches, dust specks and creases/folds.

Each op returns ``(image, mask)``: ``mask`` is float32 (H, W) with 1 on every pixel the op changed
(the pixels an inpainting model must fill) and 0 elsewhere; outside the mask the image is returned
bit for bit unchanged. Damage sizes scale with the image size (a 256 x 256 image is the reference),
so 192 px crops and 1000 px scans both look plausible.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ._common import check_image, composite, finish, rng_for, size_scale

__all__ = ["scratches", "dust", "creases"]

_SHIFT = 4                    # cv2 fixed-point sub-pixel bits
_FIX = float(1 << _SHIFT)
_RIDGE_HALF = 2.5            # crease relief extends +-2.5 sigma (then exactly zero)
_MIN_COVERAGE = 0.12          # anti-aliasing tails fainter than this are dropped (kept out of the mask)
_WHITE = np.array([0.97, 0.96, 0.92], np.float32)   # exposed paper base: slightly warm white
_DARK = np.array([0.06, 0.055, 0.05], np.float32)


def _damage_scale(shape) -> float:
    """Linear size factor for damage features (1 at 256 px, clamped for tiny/huge images)."""
    return float(np.clip(size_scale(shape), 0.5, 6.0))


def _smooth1d(rng: np.random.Generator, n: int, corr: float) -> np.ndarray:
    """Smooth 1-D noise of ``n`` samples, roughly unit variance, correlation length ``corr`` samples."""
    corr = max(float(corr), 1.0)
    k = int(math.ceil(n / corr)) + 2
    knots = rng.standard_normal(k)
    x = np.arange(n, dtype=np.float64) / corr
    return np.interp(x, np.arange(k, dtype=np.float64), knots)


def _fix(pts: np.ndarray) -> np.ndarray:
    """Float pixel coordinates (x, y) -> cv2 fixed-point int32, clamped to a safe range."""
    return np.clip(np.round(pts * _FIX), -(2**26), 2**26).astype(np.int32)


def _draw_path(canvas: np.ndarray, pts: np.ndarray, level: np.ndarray, thickness: int) -> None:
    """Draw a polyline with per-segment intensity ``level`` in [0, 1] (0 = gap) onto a uint8 canvas.

    Consecutive segments with the same quantised level are drawn as one polyline, so joints do not
    get double-blended.
    """
    q = np.clip(np.round(np.asarray(level) * 16.0), 0, 16).astype(np.int32)
    fp = _fix(pts)
    n = len(q)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and q[j + 1] == q[i]:
            j += 1
        if q[i] > 0:
            color = int(round(q[i] * 255 / 16))
            cv2.polylines(canvas, [fp[i : j + 2].reshape(-1, 1, 2)], False, color,
                          thickness=thickness, lineType=cv2.LINE_AA, shift=_SHIFT)
        i = j + 1


def _coverage(canvas: np.ndarray) -> np.ndarray:
    cov = canvas.astype(np.float32) * np.float32(1.0 / 255.0)
    cov[cov < _MIN_COVERAGE] = 0.0
    return cov


def _apply_layers(img: np.ndarray, white: np.ndarray, dark: np.ndarray,
                  white_color=_WHITE, dark_color=_DARK) -> tuple[np.ndarray, np.ndarray]:
    cw, cd = _coverage(white), _coverage(dark)
    out = img
    if cw.any():
        out = composite(out, cw, white_color)
    if cd.any():
        out = composite(out, cd, dark_color)
    mask = ((cw > 0) | (cd > 0)).astype(np.float32)
    if out is img:
        out = img.copy()
    return finish(out), mask


def _bezier(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    t = t[:, None]
    mt = 1.0 - t
    return mt**3 * p[0] + 3 * mt**2 * t * p[1] + 3 * mt * t**2 * p[2] + t**3 * p[3]


def scratches(
    image: np.ndarray,
    *,
    count: int,
    width: float | None = None,
    p_white: float = 0.65,
    p_broken: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Long, thin, gently curved scratches, bright (emulsion removed) or dark (dirt / negative scratch).

    ``count`` scratches are drawn; each is a cubic Bezier 25-100 % of the image diagonal long with a
    small wobble, 1-4 px wide (``width`` fixes the maximum width in pixels; by default it grows
    with the image size), with an opacity that varies along its length; a fraction ``p_broken`` of
    them are interrupted by gaps. Returns ``(image, mask)``.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = _damage_scale(img.shape)
    diag = math.hypot(h, w)
    wmax = float(width) if width is not None else float(np.clip(1.3 * s**0.6, 1.0, 4.0))
    white = np.zeros((h, w), np.uint8)
    dark = np.zeros((h, w), np.uint8)
    todo = int(max(count, 0))
    sibling = None
    while todo > 0 or sibling is not None:
        if sibling is not None:
            ctrl, thick, bright = sibling
            sibling = None
        else:
            todo -= 1
            length = diag * rng.uniform(0.25, 1.0)
            if rng.random() < 0.4:   # film-style near-vertical scratch
                ang = math.pi / 2 + rng.normal(0.0, 0.12)
            else:
                ang = rng.uniform(0.0, math.pi)
            d = np.array([math.cos(ang), math.sin(ang)])
            nrm = np.array([-d[1], d[0]])
            centre = np.array([rng.uniform(0.05, 0.95) * w, rng.uniform(0.05, 0.95) * h])
            p0 = centre - d * length * 0.5
            p3 = centre + d * length * 0.5
            bend = rng.normal(0.0, 0.08, size=2) * length
            p1 = p0 + d * length / 3 + nrm * bend[0]
            p2 = p0 + d * length * 2 / 3 + nrm * bend[1]
            ctrl = np.stack([p0, p1, p2, p3])
            thick = int(np.clip(round(rng.uniform(0.6, 1.0) * wmax), 1, 4))
            bright = bool(rng.random() < p_white)
            if rng.random() < 0.2:  # abrasion: a near-parallel companion scratch
                off = nrm * rng.uniform(2.0, 6.0) * s * rng.choice([-1.0, 1.0])
                sibling = (ctrl + off + rng.normal(0.0, 1.5 * s, size=(4, 2)), max(1, thick - 1), bright)
        length = float(np.linalg.norm(ctrl[3] - ctrl[0])) + 1.0
        n = max(8, int(length / 3.0))
        t = np.linspace(0.0, 1.0, n)
        pts = _bezier(ctrl, t)
        chord = (ctrl[3] - ctrl[0]) / length
        nrm = np.array([-chord[1], chord[0]])
        wobble = _smooth1d(rng, n, corr=max(3.0, n / 12.0)) * rng.uniform(0.2, 0.8) * s
        pts = pts + wobble[:, None] * nrm
        level = rng.uniform(0.7, 1.0) * np.clip(0.75 + 0.25 * _smooth1d(rng, n - 1, corr=max(2.0, n / 8.0)), 0.3, 1.0)
        if rng.random() < p_broken:
            gate = _smooth1d(rng, n - 1, corr=max(2.0, n / rng.uniform(4.0, 12.0)))
            level = np.where(gate > rng.uniform(-1.0, -0.2), level, 0.0)
        # fade in and out at the ends
        fade_len = max(1, int(0.08 * (n - 1)))
        ramp = np.minimum(1.0, np.minimum(np.arange(n - 1) + 1, np.arange(n - 1)[::-1] + 1) / fade_len)
        level = level * (0.35 + 0.65 * ramp)
        _draw_path(white if bright else dark, pts, level, thick)
    return _apply_layers(img, white, dark)


def dust(
    image: np.ndarray,
    *,
    count: int,
    max_radius: float | None = None,
    p_white: float = 0.5,
    p_fibre: float = 0.08,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Dust: small white or black specks and blobs, with a few short curly fibres (hairs).

    Speck radii follow a heavy-tailed distribution between ~0.5 px and ``max_radius`` (default grows
    with the image size: ~2.5 px at 256 px). Returns ``(image, mask)``.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = _damage_scale(img.shape)
    rmax = float(max_radius) if max_radius is not None else 2.5 * s**0.8
    rmin = min(0.6 * max(s, 1.0) ** 0.6, rmax)
    white = np.zeros((h, w), np.uint8)
    dark = np.zeros((h, w), np.uint8)
    for _ in range(int(max(count, 0))):
        canvas = white if rng.random() < p_white else dark
        color = int(round(255 * rng.uniform(0.6, 1.0)))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        kind = rng.random()
        if kind < p_fibre:  # hair / fibre: short curly line
            L = rng.uniform(6.0, 22.0) * s**0.8
            n = max(6, int(L / 1.5))
            ang0 = rng.uniform(0, 2 * math.pi)
            curl = np.cumsum(rng.normal(0.0, 0.35, size=n)) + ang0
            step = L / n
            pts = np.stack([cx + np.cumsum(np.cos(curl)) * step, cy + np.cumsum(np.sin(curl)) * step], axis=1)
            _draw_path(canvas, pts, np.full(n - 1, color / 255.0), 1)
            continue
        r = rmin * (rmax / rmin) ** (rng.random() ** 2.0)  # many tiny, few larger
        if kind < p_fibre + 0.3:  # irregular blob: a few overlapping ellipses
            for _k in range(int(rng.integers(2, 5))):
                ox, oy = rng.normal(0.0, 0.6 * r, size=2)
                ax = max(0.5, r * rng.uniform(0.4, 0.9))
                ay = max(0.5, ax * rng.uniform(0.4, 1.0))
                cv2.ellipse(canvas, (int(round((cx + ox) * _FIX)), int(round((cy + oy) * _FIX))),
                            (int(round(ax * _FIX)), int(round(ay * _FIX))), float(rng.uniform(0, 180)),
                            0.0, 360.0, color, -1, cv2.LINE_AA, _SHIFT)
        else:
            cv2.circle(canvas, (int(round(cx * _FIX)), int(round(cy * _FIX))), max(1, int(round(r * _FIX))),
                       color, -1, cv2.LINE_AA, _SHIFT)
    return _apply_layers(img, white, dark)


def creases(
    image: np.ndarray,
    *,
    count: int = 1,
    strength: float | None = None,
    p_corner: float = 0.3,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Creases / folds: a long line across the photo (or across a corner) where the print was folded.

    Each crease is a narrow relief ridge (one side lit, the other shadowed, the crest worn lighter)
    with a thin, broken, whitish crack along the crest and small chips of lost emulsion.
    ``strength`` (default drawn in [0.06, 0.16]) is the ridge shading amplitude. ``p_corner`` is the
    chance a crease cuts a corner instead of crossing the whole image. Returns ``(image, mask)``.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = _damage_scale(img.shape)
    diag = math.hypot(h, w)
    out = img.copy()
    band_mask = np.zeros((h, w), bool)
    white = np.zeros((h, w), np.uint8)
    dark = np.zeros((h, w), np.uint8)
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)
    for _ in range(int(max(count, 0))):
        if rng.random() < p_corner:
            corner = int(rng.integers(4))
            cx0, cy0 = (0.0 if corner in (0, 3) else w), (0.0 if corner in (0, 1) else h)
            a_ = rng.uniform(0.15, 0.45) * w
            b_ = rng.uniform(0.15, 0.45) * h
            pa = np.array([abs(cx0 - a_), cy0])
            pb = np.array([cx0, abs(cy0 - b_)])
            p0 = (pa + pb) / 2
            d = pb - pa
            ang = math.atan2(d[1], d[0])
        else:
            p0 = np.array([rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h])
            if rng.random() < 0.6:  # folded in half/quarters: near horizontal or vertical
                ang = rng.choice([0.0, math.pi / 2]) + rng.normal(0.0, 0.08)
            else:
                ang = rng.uniform(0.0, math.pi)
        d = np.array([math.cos(ang), math.sin(ang)], np.float64)
        nrm = np.array([-d[1], d[0]], np.float64)
        sigma = rng.uniform(0.6, 1.2) * s**0.6
        amp_side = float(strength if strength is not None else rng.uniform(0.06, 0.16)) * rng.choice([-1.0, 1.0])
        amp_crest = abs(amp_side) * rng.uniform(0.3, 0.8)
        # gentle waviness of the fold line: v_offset(u) = sum A sin(2 pi u / lam + phi)
        waves = [(rng.uniform(0.2, 0.8) * s, rng.uniform(60.0, 250.0) * s, rng.uniform(0, 2 * math.pi))
                 for _k in range(2)]
        wave_max = sum(a for a, _, _ in waves)
        half = _RIDGE_HALF * sigma
        v0 = ((ys[:, None] - np.float32(p0[1])) * np.float32(nrm[1])
              + (xs[None, :] - np.float32(p0[0])) * np.float32(nrm[0]))
        iy, ix = np.nonzero(np.abs(v0) < half + wave_max + 1.0)
        if iy.size:
            u = (ix - p0[0]) * d[0] + (iy - p0[1]) * d[1]
            off = np.zeros_like(u)
            for a, lam, ph in waves:
                off += a * np.sin(2 * math.pi * u / lam + ph)
            v = (v0[iy, ix] - off) / sigma
            inside = np.abs(v) < _RIDGE_HALF
            iy, ix, v, u = iy[inside], ix[inside], v[inside], u[inside]
            g = np.exp(-0.5 * v * v)
            taper = (1.0 - (v / _RIDGE_HALF) ** 2) ** 2
            # strength varies slowly along the fold
            along = 0.7 + 0.3 * np.sin(2 * math.pi * u / (rng.uniform(80, 300) * s) + rng.uniform(0, 6.3))
            shade = ((amp_side * v * g + amp_crest * g) * taper * along).astype(np.float32)
            out[iy, ix] += shade[:, None]
            band_mask[iy, ix] = True
        # the crack along the crest: a jittery, mostly continuous whitish (or dirt-dark) line
        crack = white if rng.random() < 0.8 else dark
        n = max(16, int(2 * diag / (2.0 * s)))
        u_line = np.linspace(-diag, diag, n)
        off = np.zeros_like(u_line)
        for a, lam, ph in waves:
            off += a * np.sin(2 * math.pi * u_line / lam + ph)
        off += _smooth1d(rng, n, corr=1.5) * rng.uniform(0.3, 0.6) * sigma
        pts = p0[None, :] + u_line[:, None] * d[None, :] + off[:, None] * nrm[None, :]
        gate = _smooth1d(rng, n - 1, corr=rng.uniform(8.0, 25.0))
        level = np.where(gate > rng.uniform(-1.5, -0.6), rng.uniform(0.75, 1.0), 0.0)
        level = level * np.clip(0.8 + 0.35 * _smooth1d(rng, n - 1, corr=3.0), 0.35, 1.0)
        _draw_path(crack, pts, level, int(np.clip(round(rng.uniform(0.7, 1.3) * s**0.5), 1, 3)))
        # chips of lost emulsion along the crest
        n_chips = int(rng.poisson(diag / (12.0 * s)))
        for _k in range(n_chips):
            uu = rng.uniform(-diag, diag)
            c = p0 + uu * d + nrm * (rng.normal(0.0, 0.5 * sigma) + sum(a * math.sin(2 * math.pi * uu / lam + ph)
                                                                      for a, lam, ph in waves))
            if not (-2 <= c[0] < w + 2 and -2 <= c[1] < h + 2):
                continue
            r = rng.uniform(0.5, 1.3) * s**0.7
            cv2.circle(white, (int(round(c[0] * _FIX)), int(round(c[1] * _FIX))), max(1, int(round(r * _FIX))),
                       int(round(255 * rng.uniform(0.6, 1.0))), -1, cv2.LINE_AA, _SHIFT)
    out, mask = _apply_layers(out, white, dark)
    np.maximum(mask, band_mask.astype(np.float32), out=mask)
    return out, mask
