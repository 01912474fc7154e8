"""Wear and tear of old prints: crack networks, folds, torn corners, flaking, long scratches, stains.

Like :mod:`.damage`, each op is ``op(image, *, seed, ...) -> (image, mask)`` with ``mask`` float32
(H, W), 1 on every pixel whose picture content is lost (what an inpainting model must fill). Outside the
mask the image is unchanged bit for bit, except for :func:`blotches`: its translucent stains are tone
damage (the picture shows through; a restoration corrects them, it does not inpaint them), so they change
pixels without entering the mask. Sizes scale with the image (a 256 x 256 image is the reference).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ._common import check_image, finish, rng_for
from .damage import _FIX, _MIN_COVERAGE, _SHIFT, _damage_scale, _fix, _smooth1d

__all__ = ["cracks", "folds", "torn_corners", "flaking", "long_scratches", "blotches"]

#: Exposed paper base colours (bright white, warm white, cream, greyish baryta).
_PAPERS = np.array([[0.97, 0.96, 0.93], [0.95, 0.92, 0.84], [0.92, 0.87, 0.74], [0.86, 0.85, 0.81]], np.float32)
#: Mount board / scanner background behind a missing piece (black, brown, grey, dark green).
_MOUNTS = np.array([[0.06, 0.06, 0.06], [0.22, 0.16, 0.11], [0.35, 0.34, 0.32], [0.12, 0.16, 0.13]], np.float32)
#: Stain colours: rust brown, yellow-brown, grey-green mould, dark sepia.
_STAINS = np.array([[0.55, 0.38, 0.18], [0.72, 0.58, 0.30], [0.40, 0.42, 0.34], [0.30, 0.20, 0.12]], np.float32)
_SHADE_FLOOR = 0.04  # soft shading fainter than this is dropped (kept out of the mask, no visible step)


def _pick(rng: np.random.Generator, palette: np.ndarray, jitter: float = 0.02) -> np.ndarray:
    """One palette colour with a small random jitter (mostly in brightness, a little in hue)."""
    c = palette[int(rng.integers(len(palette)))] + rng.normal(0.0, jitter) + rng.normal(0.0, jitter / 3, 3)
    return np.clip(c, 0.0, 1.0).astype(np.float32)


class _Painter:
    """Paints coverage layers over a copy of an image; records the damaged pixels as the mask."""

    def __init__(self, img: np.ndarray) -> None:
        self.out = np.array(img, dtype=np.float32, copy=True, order="C")
        self.mask = np.zeros(img.shape[:2], bool)

    def paint(self, cov: np.ndarray, color: np.ndarray, *, texture: np.ndarray | None = None,
              floor: float = _MIN_COVERAGE, damage: bool = True) -> None:
        """Blend ``color`` (RGB) in with per-pixel coverage ``cov``; ``texture`` scales the colour per pixel."""
        a = cov.reshape(-1)
        idx = np.flatnonzero(a >= floor)
        if not idx.size:
            return
        flat = self.out.reshape(-1, 3)
        col = np.broadcast_to(np.asarray(color, np.float32).reshape(1, 3), (idx.size, 3))
        if texture is not None:
            col = col * (1.0 + texture.reshape(-1)[idx, None]).astype(np.float32)
        px = flat[idx]
        flat[idx] = px + np.minimum(a[idx], 1.0)[:, None].astype(np.float32) * (col - px)
        if damage:
            self.mask.reshape(-1)[idx] = True

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        return finish(self.out), self.mask.astype(np.float32)


def _noise_field(rng: np.random.Generator, h: int, w: int, cell: float, octaves: int = 3) -> np.ndarray:
    """Smooth fractal noise on an (h, w) grid, zero mean and unit std; ``cell`` is the coarsest feature in px."""
    out = np.zeros((h, w), np.float32)
    amp, c = 1.0, max(float(cell), 1.0)
    for _ in range(octaves):
        gh, gw = int(h / c) + 3, int(w / c) + 3
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        up = cv2.resize(grid, (int(gw * c), int(gh * c)), interpolation=cv2.INTER_CUBIC)
        oy, ox = int(rng.integers(0, max(1, int(c)))), int(rng.integers(0, max(1, int(c))))
        out += amp * up[oy : oy + h, ox : ox + w]
        amp, c = amp * 0.5, max(c * 0.5, 1.0)
    out -= out.mean()
    return out / max(float(out.std()), 1e-6)


def _box(cx: float, cy: float, r: float, h: int, w: int) -> tuple[int, int, int, int] | None:
    """The clipped integer box (y0, y1, x0, x1) around a disc, or None when it misses the image."""
    y0, y1 = max(0, int(cy - r)), min(h, int(math.ceil(cy + r)) + 1)
    x0, x1 = max(0, int(cx - r)), min(w, int(math.ceil(cx + r)) + 1)
    return (y0, y1, x0, x1) if y1 > y0 and x1 > x0 else None


def _soften(binary: np.ndarray, sigma: float = 0.6) -> np.ndarray:
    """Anti-aliased coverage from a 0/1 map (a slight blur of its edges)."""
    return cv2.GaussianBlur(binary.astype(np.float32), (0, 0), sigma)


def _wavy_line(rng: np.random.Generator, p0: np.ndarray, p1: np.ndarray, *, step: float, amp: float,
               corr: float) -> np.ndarray:
    """Points every ~``step`` px from ``p0`` to ``p1``, displaced sideways by smooth noise of size ``amp`` px.

    ``corr`` is the correlation length of the waver as a fraction of the line.
    """
    d = p1 - p0
    length = float(np.hypot(*d)) + 1e-6
    n = max(4, int(length / step))
    t = np.linspace(0.0, 1.0, n)
    nrm = np.array([-d[1], d[0]]) / length
    off = _smooth1d(rng, n, corr=max(2.0, corr * n)) * amp
    return p0[None, :] + t[:, None] * d[None, :] + off[:, None] * nrm[None, :]


def _fractal_path(rng: np.random.Generator, pts: np.ndarray, rough: float, seg: float = 1.5) -> np.ndarray:
    """Refine a polyline by midpoint displacement until segments are ~``seg`` px (a torn-paper edge)."""
    pts = np.asarray(pts, np.float64)
    while float(np.max(np.hypot(*(pts[1:] - pts[:-1]).T))) > seg and len(pts) < 1 << 16:
        d = pts[1:] - pts[:-1]
        mid = 0.5 * (pts[1:] + pts[:-1]) + np.stack([-d[:, 1], d[:, 0]], 1) * rng.normal(0.0, rough, (len(d), 1))
        out = np.empty((2 * len(pts) - 1, 2))
        out[0::2], out[1::2] = pts, mid
        pts = out
    return pts


def _stroke(canvas: np.ndarray, pts: np.ndarray, width: np.ndarray, level: np.ndarray) -> None:
    """Draw a polyline with per-segment width (px) and level in [0, 1] (0 = gap) onto a uint8 canvas.

    Widths under 1 px are drawn 1 px wide and proportionally fainter (a hairline).
    """
    wd = np.asarray(width, np.float64)
    lv = np.asarray(level, np.float64) * np.clip(wd, 0.0, 1.0)
    th = np.maximum(1, np.round(wd)).astype(np.int32)
    q = np.clip(np.round(lv * 16.0), 0, 16).astype(np.int32)
    fp = _fix(pts)
    i, n = 0, len(q)
    while i < n:
        j = i
        while j + 1 < n and q[j + 1] == q[i] and th[j + 1] == th[i]:
            j += 1
        if q[i] > 0:
            cv2.polylines(canvas, [fp[i : j + 2].reshape(-1, 1, 2)], False, int(round(q[i] * 255 / 16)),
                          thickness=int(th[i]), lineType=cv2.LINE_AA, shift=_SHIFT)
        i = j + 1


def _cov(canvas: np.ndarray) -> np.ndarray:
    return canvas.astype(np.float32) * np.float32(1.0 / 255.0)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


# ------------------------------------------------------------------------------------------ cracks


def _crack_tree(rng: np.random.Generator, start: np.ndarray, heading: float, length: float, width: float,
                step: float, depth: int, out: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """A jagged random walk that tapers and spawns thinner side branches (recursively, ``depth`` levels)."""
    n = max(3, int(length / step))
    dev = np.zeros(n)
    kick = rng.normal(0.0, 0.35, n)
    for i in range(1, n):  # mean-reverting direction: kinked, but keeps going one way
        dev[i] = 0.5 * dev[i - 1] + kick[i]
    ang = heading + dev
    steps = step * rng.uniform(0.6, 1.4, n)
    pts = start[None, :] + np.concatenate([[[0.0, 0.0]], np.cumsum(
        np.stack([np.cos(ang), np.sin(ang)], 1)[:-1] * steps[:-1, None], 0)])
    t = np.linspace(0.0, 1.0, n - 1)
    widths = width * (1.0 - 0.75 * t**1.5) * np.clip(1.0 + 0.2 * _smooth1d(rng, n - 1, 4.0), 0.6, 1.4)
    out.append((pts, widths))
    if depth <= 0:
        return
    for _ in range(min(4, int(rng.poisson(length / (12.0 * step))))):
        i = int(rng.integers(max(1, n // 6), n - 1))
        side = rng.choice([-1.0, 1.0])
        _crack_tree(rng, pts[i], float(ang[i] + side * rng.uniform(0.35, 1.2)),
                    length * rng.uniform(0.2, 0.5) * (1.0 - i / n * 0.5), max(0.6, widths[i - 1] * 0.7),
                    step, depth - 1, out)


def _craquelure(rng: np.random.Generator, h: int, w: int, s: float) -> np.ndarray:
    """Coverage (H, W) of a cell-like crack network (warped Voronoi edges) over a soft-edged patch."""
    cov = np.zeros((h, w), np.float32)
    rad = rng.uniform(0.12, 0.4) * min(h, w)
    cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    box = _box(cx, cy, rad, h, w)
    if box is None:
        return cov
    y0, y1, x0, x1 = box
    bh, bw = y1 - y0, x1 - x0
    cell = _log_uniform(rng, 8.0, 30.0) * s**0.8
    n_seeds = max(2, int(bh * bw / cell**2))
    seeds = np.full((bh, bw), 255, np.uint8)
    seeds[rng.integers(0, bh, n_seeds), rng.integers(0, bw, n_seeds)] = 0
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    # warp the cells so their edges wander like real cracks
    yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
    amp = 0.1 * cell
    map_x = xx + amp * _noise_field(rng, bh, bw, cell * 0.5, 2)
    map_y = yy + amp * _noise_field(rng, bh, bw, cell * 0.5, 2)
    lab = cv2.remap(labels.astype(np.float32), map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT)
    lab = lab.astype(np.int64)
    keep = rng.random(4099) < rng.uniform(0.7, 1.0)  # some cell walls stay intact
    edge = np.zeros((bh, bw), bool)
    for a, b in ((lab[:, :-1], lab[:, 1:]), (lab[:-1, :], lab[1:, :])):
        pair = (np.minimum(a, b) * 7919 + np.maximum(a, b)) % keep.size
        e = (a != b) & keep[pair]
        edge[: e.shape[0], : e.shape[1]] |= e
    width = _log_uniform(rng, 1.0, 2.5) * s**0.5
    if width > 1.8:
        k = int(round(width))
        edge = cv2.dilate(edge.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    line = _soften(edge, 0.5) * np.float32(rng.uniform(0.55, 0.95))
    r = np.hypot(xx + x0 - cx, yy + y0 - cy) / rad
    window = np.clip(2.5 * (1.0 - r) + 0.8 * _noise_field(rng, bh, bw, rad * 0.4, 3), 0.0, 1.0)
    cov[y0:y1, x0:x1] = line * window
    return cov


def cracks(
    image: np.ndarray,
    *,
    count: int,
    craquelure: int = 0,
    width: float | None = None,
    p_white: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Branching cracks in the emulsion and craquelure (a cell-like crack network over a region).

    ``count`` cracks start at an edge or inside and branch up to three levels deep; each is 1-4 px wide
    at 256 px (``width`` fixes the trunk width in px), tapering to hairlines. ``craquelure`` patches are
    warped Voronoi networks. Each crack or patch is bright (paper showing) with chance ``p_white``, else
    dark (dirt in the crack). Returns ``(image, mask)``.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = _damage_scale(img.shape)
    diag = math.hypot(h, w)
    paint = _Painter(img)
    for _ in range(int(max(craquelure, 0))):
        bright = rng.random() < p_white
        paint.paint(_craquelure(rng, h, w, s), _pick(rng, _PAPERS) if bright else _pick(rng, _MOUNTS[:2]))
    for _ in range(int(max(count, 0))):
        trunk = float(width) if width is not None else 4.0 ** (rng.random() ** 1.5) * s**0.5  # 1-4 px, mostly thin
        if rng.random() < 0.5:  # from an edge, heading inwards
            side = int(rng.integers(4))
            u = rng.uniform(0.1, 0.9)
            start = np.array([[u * w, 0.0], [w, u * h], [u * w, h], [0.0, u * h]][side])
            heading = (math.pi / 2, math.pi, -math.pi / 2, 0.0)[side] + rng.normal(0.0, 0.5)
        else:
            start = np.array([rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h])
            heading = rng.uniform(0.0, 2 * math.pi)
        canvas = np.zeros((h, w), np.uint8)
        paths: list[tuple[np.ndarray, np.ndarray]] = []
        _crack_tree(rng, start, heading, diag * rng.uniform(0.2, 0.6), trunk, rng.uniform(2.5, 6.0) * s**0.7,
                    int(rng.integers(1, 4)), paths)
        level = rng.uniform(0.75, 1.0)
        for pts, widths in paths:
            _stroke(canvas, pts, widths, np.full(len(widths), level))
        bright = rng.random() < p_white
        paint.paint(_cov(canvas), _pick(rng, _PAPERS) if bright else _pick(rng, _MOUNTS[:2]))
    return paint.result()


# ------------------------------------------------------------------------------------------- folds


def _line_across(rng: np.random.Generator, h: int, w: int, p_axis: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """End points of a line crossing the whole image (beyond its edges); near-horizontal/vertical w.p. ``p_axis``."""
    p = np.array([rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h])
    if rng.random() < p_axis:
        ang = rng.choice([0.0, math.pi / 2]) + rng.normal(0.0, 0.06)
    else:
        ang = rng.uniform(0.0, math.pi)
    d = np.array([math.cos(ang), math.sin(ang)]) * math.hypot(h, w)
    return p - d, p + d


def folds(
    image: np.ndarray,
    *,
    count: int = 1,
    width: float | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fold lines across the photo: a bright core where the emulsion cracked off, with darker edges.

    The core is 1.5-6 px wide at 256 px (``width`` fixes it in px), varies along the slightly wavy
    line, is chipped at its edges and fades in places; the emulsion beside it is shadowed (dirt and
    relief). Returns ``(image, mask)``.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = _damage_scale(img.shape)
    paint = _Painter(img)
    for _ in range(int(max(count, 0))):
        core_w = float(width) if width is not None else 1.2 * 4.0 ** (rng.random() ** 1.3) * s**0.6  # 1.2-4.8 px
        p0, p1 = _line_across(rng, h, w)
        pts = _wavy_line(rng, p0, p1, step=2.0 * s, amp=rng.uniform(0.5, 2.5) * s, corr=0.05)
        n = len(pts) - 1
        pts += _smooth1d(rng, n + 1, corr=2.0)[:, None] * rng.uniform(0.1, 0.25) * min(core_w, 2.5 * s)  # jagged
        widths = core_w * np.clip(1.0 + 0.3 * _smooth1d(rng, n, corr=max(3.0, n / 60)), 0.4, 1.3)
        level = np.clip(0.8 + 0.35 * _smooth1d(rng, n, corr=3.0), 0.25, 1.0)
        core = np.zeros((h, w), np.uint8)
        _stroke(core, pts, widths, level)
        for k in rng.integers(0, n, int(rng.poisson(n / 8.0))):  # chips off the edges
            c = pts[k] + rng.normal(0.0, 0.4 * core_w, 2)
            r = rng.uniform(0.2, 0.6) * core_w
            cv2.circle(core, (int(round(c[0] * _FIX)), int(round(c[1] * _FIX))), max(1, int(round(r * _FIX))),
                       int(255 * rng.uniform(0.6, 1.0)), -1, cv2.LINE_AA, _SHIFT)
        hairs: list[tuple[np.ndarray, np.ndarray]] = []
        for k in rng.integers(0, n, int(rng.poisson(n / 30.0))):  # short cracks running off the fold
            ang = math.atan2(*(pts[k + 1] - pts[k])[::-1]) + rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 2.1)
            _crack_tree(rng, pts[k], ang, rng.uniform(3.0, 12.0) * s, rng.uniform(0.6, 1.2), 1.0 * s, 0, hairs)
        for hp, hw in hairs:
            _stroke(core, hp, hw, np.full(len(hw), 0.8))
        # darker edges: falls off with the distance to the core
        dist = cv2.distanceTransform((core < 64).astype(np.uint8), cv2.DIST_L2, 3)
        edge_w = rng.uniform(0.8, 2.0) * max(core_w, 1.5) ** 0.6
        shade = rng.uniform(0.3, 0.6) * np.exp(-dist / edge_w) * (dist > 0)
        shade *= np.clip(0.75 + 0.35 * _noise_field(rng, h, w, 40.0 * s, 2), 0.2, 1.0)
        paint.paint(shade.astype(np.float32), np.zeros(3, np.float32), floor=_SHADE_FLOOR)
        tex = 0.04 * _noise_field(rng, h, w, 1.5 * s, 1)
        paint.paint(_cov(core), _pick(rng, _PAPERS[:2]), texture=tex)
    return paint.result()


# ------------------------------------------------------------------------------------ torn corners


def torn_corners(
    image: np.ndarray,
    *,
    count: int = 1,
    p_corner: float = 0.7,
    background: str | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Torn-off corners and edge chunks with a fractal boundary, showing the background behind the print.

    Each tear is a corner (chance ``p_corner``) or a bite out of an edge, 4-30 % of the shorter side.
    ``background`` is ``"paper"`` (white / cream), ``"mount"`` (dark board) or None (drawn per image).
    Often a white rim of torn paper fibres lines the tear. Returns ``(image, mask)``: the missing region.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    m = min(h, w)
    s = _damage_scale(img.shape)
    paint = _Painter(img)
    kind = background if background is not None else ("paper" if rng.random() < 0.6 else "mount")
    fill_color = _pick(rng, _PAPERS if kind == "paper" else _MOUNTS)
    corners = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    for _ in range(int(max(count, 0))):
        if rng.random() < p_corner:
            k = int(rng.integers(4))
            c = corners[k]
            a_pt = _toward(c, corners[(k + 1) % 4], m * rng.uniform(0.04, 0.3))
            b_pt = _toward(c, corners[(k + 3) % 4], m * rng.uniform(0.04, 0.3))
            bulge = (a_pt + b_pt) / 2 + (c - (a_pt + b_pt) / 2) * rng.uniform(-0.4, 0.3)
            edge = _fractal_path(rng, np.stack([a_pt, bulge, b_pt]), rng.uniform(0.12, 0.28))
            poly = np.concatenate([edge, c[None, :]])
        else:
            k = int(rng.integers(4))
            c0, c1 = corners[k], corners[(k + 1) % 4]
            side = float(np.hypot(*(c1 - c0)))
            u = rng.uniform(0.1, 0.8)
            span = rng.uniform(0.06, 0.3) * side
            a_pt = c0 + (c1 - c0) * u
            b_pt = a_pt + (c1 - c0) / side * span
            inward = np.array([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]][k])
            apex = (a_pt + b_pt) / 2 + inward * rng.uniform(0.03, 0.15) * m + (c1 - c0) / side * rng.normal(0, span / 6)
            edge = _fractal_path(rng, np.stack([a_pt, apex, b_pt]), rng.uniform(0.12, 0.28))
            poly = edge
        if rng.random() < 0.65:  # white paper fibres along the tear, on the picture side
            rim = np.zeros((h, w), np.uint8)
            n = len(edge) - 1
            _stroke(rim, edge, rng.uniform(1.5, 4.0) * s**0.6 * np.clip(1 + 0.5 * _smooth1d(rng, n, 20.0), 0.3, 2.0),
                    np.clip(0.8 + 0.3 * _smooth1d(rng, n, 10.0), 0.3, 1.0))
            paint.paint(_cov(rim), _pick(rng, _PAPERS[:2]))
        hole = np.zeros((h, w), np.uint8)
        cv2.fillPoly(hole, [_fix(poly).reshape(-1, 1, 2)], 255, cv2.LINE_AA, _SHIFT)
        paint.paint(_cov(hole), fill_color, texture=0.03 * _noise_field(rng, h, w, 3.0 * s, 2))
    return paint.result()


def _toward(a: np.ndarray, b: np.ndarray, dist: float) -> np.ndarray:
    """The point ``dist`` px from ``a`` in the direction of ``b``."""
    d = b - a
    return a + d / max(float(np.hypot(*d)), 1e-6) * dist


# ----------------------------------------------------------------------------------------- flaking


def flaking(
    image: np.ndarray,
    *,
    count: int = 1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Emulsion flaking: ``count`` clusters of irregular patches where the emulsion came off (paper shows).

    Flakes are small to medium (noise cells 2-12 px at 256 px), denser at a cluster's centre, often with
    a thin dark rim of lifted emulsion. Returns ``(image, mask)``.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    m = min(h, w)
    s = _damage_scale(img.shape)
    paint = _Painter(img)
    for _ in range(int(max(count, 0))):
        rad = rng.uniform(0.06, 0.25) * m
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        box = _box(cx, cy, rad * 1.5, h, w)
        if box is None:
            continue
        y0, y1, x0, x1 = box
        bh, bw = y1 - y0, x1 - x0
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / rad**2
        field = _noise_field(rng, bh, bw, _log_uniform(rng, 2.0, 12.0) * s, 3) + 2.2 * np.exp(-r2) - 1.1
        flakes = field > rng.uniform(0.6, 1.3)
        if not flakes.any():
            continue
        full = np.zeros((h, w), np.float32)
        if rng.random() < 0.4:
            k = max(2, int(round(1.5 * s**0.5)) + 1)
            rim = cv2.dilate(flakes.astype(np.uint8), np.ones((k, k), np.uint8))
            full[y0:y1, x0:x1] = _soften(rim) * np.float32(rng.uniform(0.2, 0.4))
            paint.paint(full, _pick(rng, _MOUNTS[:2]))
        full[:] = 0.0
        full[y0:y1, x0:x1] = _soften(flakes)
        paint.paint(full, _pick(rng, _PAPERS), texture=0.04 * _noise_field(rng, h, w, 2.0 * s, 1))
    return paint.result()


# ---------------------------------------------------------------------------------- long scratches


def long_scratches(
    image: np.ndarray,
    *,
    count: int = 1,
    width: float | None = None,
    p_white: float = 0.8,
    p_vertical: float = 0.6,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Long thick scratches running most of the picture (a film or print scratch), soft-edged, wavering.

    Widths are 2-8 px at 256 px (log-uniform; ``width`` fixes them in px); a scratch is near-vertical
    with chance ``p_vertical``, bright with chance ``p_white`` (else dark, as printed from a scratched
    negative), and sometimes has parallel companions. Returns ``(image, mask)``.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = _damage_scale(img.shape)
    paint = _Painter(img)
    for _ in range(int(max(count, 0))):
        wd = float(width) if width is not None else 2.0 * 4.0 ** (rng.random() ** 1.5) * s**0.6  # 2-8 px
        if rng.random() < p_vertical:
            x = rng.uniform(0.05, 0.95) * w
            p0 = np.array([x, rng.uniform(-0.1, 0.25) * h])
            p1 = np.array([x + rng.normal(0.0, 0.04) * h, rng.uniform(0.75, 1.1) * h])
        else:
            p0, p1 = _line_across(rng, h, w, p_axis=0.0)
            t0, t1 = rng.uniform(0.25, 0.4), rng.uniform(0.6, 0.75)  # most of the crossing
            p0, p1 = p0 + (p1 - p0) * t0, p0 + (p1 - p0) * t1
        pts = _wavy_line(rng, p0, p1, step=3.0 * s, amp=rng.uniform(0.3, 1.5) * s, corr=0.25)
        bright = rng.random() < p_white
        color = _pick(rng, _PAPERS[:1]) if bright else _pick(rng, _MOUNTS[:1])
        wd = wd if bright else max(1.0, 0.5 * wd)  # printed from a scratched negative: thinner, dark
        nrm = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / (float(np.hypot(*(p1 - p0))) + 1e-6)
        offsets = [0.0]
        if rng.random() < 0.3:
            offsets += list(np.cumsum(rng.uniform(2.0, 10.0, int(rng.integers(1, 3))) * s + wd))
        canvas = np.zeros((h, w), np.uint8)
        n = len(pts) - 1
        for j, off in enumerate(offsets):
            f = 1.0 if j == 0 else rng.uniform(0.25, 0.6)
            path = pts + nrm * (off + _smooth1d(rng, n + 1, corr=n / 8.0)[:, None] * 0.5 * s)
            widths = wd * f * np.clip(1.0 + 0.15 * _smooth1d(rng, n, corr=max(3.0, n / 10.0)), 0.6, 1.4)
            level = np.clip(0.8 + 0.2 * _smooth1d(rng, n, corr=max(3.0, n / 12.0)), 0.45, 1.0)
            if rng.random() < 0.3:  # breaks
                level = np.where(_smooth1d(rng, n, corr=max(3.0, n / 8.0)) > -0.9, level, 0.0)
            _stroke(canvas, path, widths, level)
        soft = cv2.GaussianBlur(_cov(canvas), (0, 0), max(0.5, 0.2 * wd))
        paint.paint(np.minimum(soft * 1.3, 1.0), color)
    return paint.result()


# ---------------------------------------------------------------------------------------- blotches


def _blob(rng: np.random.Generator, h: int, w: int, cx: float, cy: float, rad: float
          ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """An irregular blob (box, bool map in the box) of radius ~``rad`` with a noisy outline."""
    box = _box(cx, cy, rad * 1.6, h, w)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    r = np.hypot(xx - cx, yy - cy) / rad
    inside = (1.0 - r + 0.3 * _noise_field(rng, y1 - y0, x1 - x0, max(rad * 0.5, 2.0), 4)) > 0
    return (box, inside) if inside.any() else None


def blotches(
    image: np.ndarray,
    *,
    count: int = 1,
    p_opaque: float = 0.4,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Blotches and water stains: irregular blobs with tide lines that darken, lighten or discolour.

    A blotch is opaque with chance ``p_opaque`` (ink, mould, a deposit: the picture under it is gone,
    so it is in the mask), else a translucent stain (tone damage: the picture shows through; NOT in the
    mask). Radii are 3-25 % of the shorter side. Returns ``(image, mask)``; the mask holds only the
    opaque blotches.
    """
    img = check_image(image)
    rng = rng_for(seed)
    h, w = img.shape[:2]
    s = _damage_scale(img.shape)
    paint = _Painter(img)
    for _ in range(int(max(count, 0))):
        opaque = bool(rng.random() < p_opaque)
        rad = _log_uniform(rng, *((0.015, 0.08) if opaque else (0.05, 0.3))) * min(h, w)
        blob = _blob(rng, h, w, rng.uniform(0, w), rng.uniform(0, h), rad)
        if blob is None:
            continue
        (y0, y1, x0, x1), inside = blob
        depth = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
        tw = rng.uniform(0.6, 2.0) * s
        tide = np.exp(-depth / tw)
        if rng.random() < 0.5:  # a second tide line where the water stood for a while
            tide = np.maximum(tide, rng.uniform(0.4, 0.8) * np.exp(-(((depth - rng.uniform(4, 15) * s) / tw) ** 2)))
        tide *= inside
        full = np.zeros((h, w), np.float32)
        if opaque:  # ink, mould, a deposit: nothing of the picture shows
            pick = rng.random()
            color = _pick(rng, _STAINS[3:] if pick < 0.5 else _MOUNTS[:2] if pick < 0.85 else _PAPERS[:2])
            full[y0:y1, x0:x1] = _soften(inside) * np.float32(rng.uniform(0.9, 1.0))
            paint.paint(full, color, texture=0.12 * _noise_field(rng, h, w, 2.0 * s, 2))
            full[y0:y1, x0:x1] = tide * np.float32(rng.uniform(0.2, 0.5))
            paint.paint(full, color * 0.5, floor=_SHADE_FLOOR)
        else:  # translucent stain: tone damage, the picture shows through
            lighten = rng.random() < 0.25
            color = _pick(rng, _PAPERS[:1]) if lighten else _pick(rng, _STAINS)
            body = rng.uniform(0.06, 0.25)
            full[y0:y1, x0:x1] = _soften(inside) * np.float32(body) + tide * np.float32(rng.uniform(0.2, 0.45))
            paint.paint(full, color, texture=0.06 * _noise_field(rng, h, w, 4.0 * s, 2), floor=0.02, damage=False)
    return paint.result()
