"""Small helpers shared by the degradation ops (numpy + cv2 only, no torch)."""

from __future__ import annotations

import math

import cv2
import numpy as np

#: BT.601 luma weights (R, G, B).
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Validate an (H, W, 3) image and return it as float32 (a view when already float32).

    Integer images (uint8, uint16) are scaled to [0, 1] by their dtype's maximum; float images are
    expected in [0, 1]. The result must be treated as read-only: ops never write into their input.
    """
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3), got {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be non-empty, got {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) * np.float32(1.0 / np.iinfo(arr.dtype).max)
    elif arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    return arr


def finish(out: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and return a C-contiguous float32 array (in place when possible)."""
    if out.dtype != np.float32:
        out = out.astype(np.float32)
    np.clip(out, 0.0, 1.0, out=out)
    return np.ascontiguousarray(out)


def luma(image: np.ndarray) -> np.ndarray:
    """BT.601 luma (0.299 R + 0.587 G + 0.114 B) of an (H, W, 3) float32 RGB image -> (H, W) float32."""
    return cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32), cv2.COLOR_RGB2GRAY)


def affine(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Per-pixel colour transform ``out = M[:, :3] @ rgb + M[:, 3]`` (one pass, via cv2.transform)."""
    m = np.asarray(matrix, dtype=np.float32)
    return cv2.transform(np.ascontiguousarray(image, dtype=np.float32), m)


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(int(seed))


def size_scale(shape: tuple[int, ...]) -> float:
    """Scale of an image relative to a 256 x 256 reference (geometric mean of the sides / 256)."""
    h, w = int(shape[0]), int(shape[1])
    return math.sqrt(h * w) / 256.0


def composite(image: np.ndarray, coverage: np.ndarray, color) -> np.ndarray:
    """Paint ``color`` (scalar or RGB triplet) over ``image`` with per-pixel ``coverage`` in [0, 1].

    Returns a new array; where coverage is exactly 0 the result equals the input bit for bit.
    Only the covered pixels are touched, so sparse damage is cheap on large images.
    """
    out = np.array(image, dtype=np.float32, copy=True, order="C")
    idx = np.flatnonzero(coverage)
    if idx.size:
        flat = out.reshape(-1, 3)
        a = coverage.reshape(-1)[idx][:, None]
        px = flat[idx]
        flat[idx] = px + a * (np.asarray(color, dtype=np.float32).reshape(1, -1) - px)
    return out
