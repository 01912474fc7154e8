"""Fine picture content that looks like damage but is not: the chain's "negatives".

:func:`fine_detail` draws hair strands, grass blades, fabric texture, text and thin wires or reflections
into an image. The chain applies it to the CLEAN target (before grayscale and any degradation), so a
restoration model learns to keep such structures instead of inpainting them. It returns no mask.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ._common import check_image, finish, rng_for
from .damage import _damage_scale, _smooth1d
from .wear import _Painter, _blob, _cov, _log_uniform, _stroke, _wavy_line

__all__ = ["fine_detail", "DETAIL_KINDS"]

DETAIL_KINDS = ("hair", "grass", "fabric", "text", "wire")
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
          cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
          cv2.FONT_HERSHEY_SCRIPT_COMPLEX)
_WORDS = ("HOTEL", "CAFE", "1923", "Rue de la Paix", "No. 17", "BAKERY", "Grand Central", "STOP", "Apotheke",
          "Souvenir", "1948", "POST OFFICE", "Kodak", "Mary & John", "Studio Lux", "ZIMMER FREI", "EXIT", "A.B.C.")


def _contrast(rng: np.random.Generator, img: np.ndarray, x: float, y: float) -> np.ndarray:
    """A colour that stands out from the picture at (x, y): darker or lighter, slightly tinted."""
    h, w = img.shape[:2]
    local = img[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))]
    if float(local.mean()) > 0.5 or rng.random() < 0.3:
        c = local * rng.uniform(0.1, 0.45)
    else:
        c = local + (1.0 - local) * rng.uniform(0.5, 0.9)
    return np.clip(c + rng.normal(0.0, 0.04, 3), 0.0, 1.0).astype(np.float32)


def _hair(rng: np.random.Generator, img: np.ndarray, paint: _Painter, s: float) -> None:
    h, w = img.shape[:2]
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    length = rng.uniform(0.15, 0.5) * min(h, w)
    ang = rng.uniform(0, 2 * math.pi)
    n = max(8, int(length / (2.0 * s)))
    heading = ang + np.cumsum(rng.normal(0.0, 0.04, n)) + np.linspace(0, rng.uniform(-1.2, 1.2), n)
    base = np.array([cx, cy]) + np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * length / n, 0)
    nrm = np.stack([-np.sin(heading), np.cos(heading)], 1)
    color = _contrast(rng, img, cx, cy)
    canvas = np.zeros((h, w), np.uint8)
    spread = rng.uniform(2.0, 12.0) * s
    for _ in range(int(rng.integers(5, 30))):
        off = rng.normal(0.0, spread) + _smooth1d(rng, n, corr=n / 4.0) * rng.uniform(0.3, 2.0) * s
        a, b = sorted(rng.integers(0, n, 2))
        if b - a < 3:
            continue
        path = (base + nrm * off[:, None])[a:b]
        _stroke(canvas, path, np.full(b - a - 1, rng.uniform(0.5, 1.3)), np.full(b - a - 1, rng.uniform(0.4, 0.9)))
    paint.paint(_cov(canvas), color, floor=0.02, damage=False)


def _grass(rng: np.random.Generator, img: np.ndarray, paint: _Painter, s: float) -> None:
    h, w = img.shape[:2]
    x0, y0 = rng.uniform(0, w), rng.uniform(0.3, 1.0) * h
    band = rng.uniform(0.1, 0.4) * w
    canvas = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(10, 45))):
        bx, by = x0 + rng.uniform(-band / 2, band / 2), y0 + rng.normal(0.0, 4.0 * s)
        length = rng.uniform(6.0, 35.0) * s
        n = max(4, int(length / (1.5 * s)))
        bend = rng.normal(0.0, 0.5)
        heading = -math.pi / 2 + rng.normal(0.0, 0.3) + np.linspace(0.0, bend, n)
        pts = np.array([bx, by]) + np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * length / n, 0)
        _stroke(canvas, pts, rng.uniform(1.0, 3.0) * s**0.5 * np.linspace(1.0, 0.3, n - 1), np.full(n - 1, 0.9))
    paint.paint(_cov(canvas), _contrast(rng, img, x0, y0), floor=0.02, damage=False)


def _fabric(rng: np.random.Generator, img: np.ndarray, paint: _Painter, s: float) -> None:
    h, w = img.shape[:2]
    blob = _blob(rng, h, w, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.1, 0.3) * min(h, w))
    if blob is None:
        return
    (y0, y1, x0, x1), inside = blob
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    th = rng.uniform(0, math.pi)
    u = xx * math.cos(th) + yy * math.sin(th)
    v = -xx * math.sin(th) + yy * math.cos(th)
    period = rng.uniform(2.5, 7.0) * s**0.7
    f = 2 * math.pi / period
    if rng.random() < 0.5:  # plain weave: alternating over / under threads
        weave = np.sin(f * u) * np.sin(f * v)
    else:  # twill / corduroy: diagonal ribs
        weave = np.sin(f * (u + rng.choice([0.0, 1.0]) * v))
    cov = np.zeros((h, w), np.float32)
    cov[y0:y1, x0:x1] = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 2.0 * s) * rng.uniform(0.15, 0.4)
    cov[y0:y1, x0:x1] *= (0.5 + 0.5 * weave).astype(np.float32)
    dark = rng.random() < 0.5
    paint.paint(cov, np.zeros(3, np.float32) if dark else np.ones(3, np.float32), floor=1e-3, damage=False)


def _text(rng: np.random.Generator, img: np.ndarray, paint: _Painter, s: float) -> None:
    h, w = img.shape[:2]
    word = str(_WORDS[int(rng.integers(len(_WORDS)))])
    font = int(_FONTS[int(rng.integers(len(_FONTS)))]) | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
    height = _log_uniform(rng, 6.0, 40.0) * s
    base_h = cv2.getTextSize("X", font, 1.0, 1)[0][1]
    scale = height / max(base_h, 1)
    thick = max(1, int(round(scale * rng.uniform(0.8, 2.5))))
    (tw, th), _ = cv2.getTextSize(word, font, scale, thick)
    canvas = np.zeros((h, w), np.uint8)
    x, y = rng.uniform(-0.2 * tw, max(w - 0.8 * tw, 1.0)), rng.uniform(th, max(h, th + 1))
    cv2.putText(canvas, word, (int(x), int(y)), font, scale, 255, thick, cv2.LINE_AA)
    rot = cv2.getRotationMatrix2D((float(x + tw / 2), float(y - th / 2)), float(rng.normal(0.0, 6.0)), 1.0)
    tilted = cv2.warpAffine(canvas, rot, (w, h), flags=cv2.INTER_LINEAR)
    color = _contrast(rng, img, x + tw / 2, y - th / 2) if rng.random() < 0.6 else rng.uniform(0, 1, 3)
    paint.paint(_cov(tilted), np.asarray(color, np.float32), floor=0.02, damage=False)


def _wire(rng: np.random.Generator, img: np.ndarray, paint: _Painter, s: float) -> None:
    h, w = img.shape[:2]
    y_a, y_b = rng.uniform(0, h, 2)
    p0, p1 = np.array([-0.05 * w, y_a]), np.array([1.05 * w, y_b])
    if rng.random() < 0.4:  # vertical-ish: a pole edge, a window frame reflection
        p0, p1 = np.array([y_a / h * w, -0.05 * h]), np.array([y_b / h * w, 1.05 * h])
    canvas = np.zeros((h, w), np.uint8)
    pts = _wavy_line(rng, p0, p1, step=3.0 * s, amp=0.3 * s, corr=0.3)
    t = np.linspace(0.0, 1.0, len(pts))
    sag = rng.uniform(0.0, 0.12) * min(h, w) * 4 * t * (1 - t)  # a hanging wire sags
    pts = pts + np.array([0.0, 1.0]) * sag[:, None]
    n = len(pts) - 1
    for k in range(int(rng.integers(1, 4))):  # parallel wires of a power line
        off = np.array([0.0, k * rng.uniform(4.0, 15.0) * s])
        _stroke(canvas, pts + off, np.full(n, rng.uniform(0.6, 1.6) * s**0.4), np.full(n, rng.uniform(0.5, 1.0)))
    color = np.full(3, rng.uniform(0.85, 1.0), np.float32) if rng.random() < 0.5 else _contrast(rng, img, w / 2, y_a)
    paint.paint(_cov(canvas), color, floor=0.02, damage=False)


_DRAW = {"hair": _hair, "grass": _grass, "fabric": _fabric, "text": _text, "wire": _wire}


def fine_detail(
    image: np.ndarray,
    *,
    count: int = 2,
    kinds: tuple[str, ...] = DETAIL_KINDS,
    seed: int = 0,
) -> np.ndarray:
    """Draw ``count`` fine structures (each of a kind drawn from ``kinds``) into the picture; no mask.

    Kinds: ``hair`` (a lock of thin curved strands), ``grass`` (tapered blades), ``fabric`` (a woven
    texture patch), ``text`` (a word in a random Hershey font, size, colour and slight rotation),
    ``wire`` (thin dark wires or bright reflections, straight or sagging). Sizes scale with the image.
    """
    img = check_image(image)
    rng = rng_for(seed)
    unknown = sorted(set(kinds) - set(_DRAW))
    if unknown or not kinds:
        raise ValueError(f"fine_detail kinds must be a non-empty subset of {DETAIL_KINDS}, got {kinds!r}")
    s = _damage_scale(img.shape)
    paint = _Painter(img)
    for _ in range(int(max(count, 0))):
        _DRAW[str(kinds[int(rng.integers(len(kinds)))])](rng, paint.out, paint, s)
    return finish(paint.out)

