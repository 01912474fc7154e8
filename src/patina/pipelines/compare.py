"""Before/after sheets: two images side by side with labels, and a grid of them for the docs."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from patina.core.errors import ParameterError

BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)
GAP = 8
LABEL_HEIGHT = 24
FONT_SIZE = 14


@lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def _as_hwc(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or array.shape[0] < 1 or array.shape[1] < 1:
        raise ParameterError(f"{name} must be an (H, W), (H, W, 1) or (H, W, 3) image, got shape {array.shape}")
    if array.shape[2] == 4:
        array = array[:, :, :3]
    return array


def _fit_height(array: np.ndarray, height: int) -> np.ndarray:
    """Resize (H, W, C) to ``height`` rows (aspect kept) and return uint8 RGB."""
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype not in (np.uint8, np.uint16, np.float32):
        array = array.astype(np.float32)
    source_h, source_w = array.shape[:2]
    width = max(1, round(source_w * height / source_h))
    if (height, width) != (source_h, source_w):
        interpolation = cv2.INTER_AREA if height < source_h else cv2.INTER_LINEAR
        channels = array.shape[2]
        array = cv2.resize(np.ascontiguousarray(array), (width, height), interpolation=interpolation)
        array = array.reshape(height, width, channels)
    if array.dtype == np.uint16:
        array = ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return array


def _label_band(width: int, text: str) -> np.ndarray:
    band = PILImage.new("RGB", (width, LABEL_HEIGHT), BACKGROUND)
    if text:
        draw = ImageDraw.Draw(band)
        font = _font()
        box = draw.textbbox((0, 0), text, font=font)
        y = (LABEL_HEIGHT - (box[3] - box[1])) // 2 - box[1]
        draw.text((6, y), text, fill=TEXT, font=font)
    return np.asarray(band)


def _hstack(panels: Sequence[np.ndarray], gap: int) -> np.ndarray:
    height = max(panel.shape[0] for panel in panels)
    spacer = np.empty((height, gap, 3), np.uint8)
    spacer[:] = BACKGROUND
    parts: list[np.ndarray] = []
    for index, panel in enumerate(panels):
        if index:
            parts.append(spacer)
        parts.append(panel)
    return np.concatenate(parts, axis=1)


def _pad_width(array: np.ndarray, width: int) -> np.ndarray:
    if array.shape[1] >= width:
        return array
    pad = np.empty((array.shape[0], width - array.shape[1], 3), np.uint8)
    pad[:] = BACKGROUND
    return np.concatenate([array, pad], axis=1)


def before_after_sheet(
    before: np.ndarray,
    after: np.ndarray,
    *,
    labels: tuple[str, str] = ("before", "after"),
    max_height: int = 768,
) -> np.ndarray:
    """``before`` and ``after`` side by side at the same height (at most ``max_height``), a label above each.

    Inputs are (H, W), (H, W, 1) or (H, W, 3) arrays, uint8, uint16 or float in [0, 1]; they may differ
    in size (an upscaler's output is shown at the height of the larger one). Returns uint8 RGB (H, W, 3).
    """
    if max_height < 1:
        raise ParameterError(f"max_height must be at least 1, got {max_height}")
    before, after = _as_hwc(before, "before"), _as_hwc(after, "after")
    height = min(max_height, max(before.shape[0], after.shape[0]))
    panels = []
    for array, label in zip((before, after), labels, strict=True):
        picture = _fit_height(array, height)
        panels.append(np.concatenate([_label_band(picture.shape[1], label), picture], axis=0))
    return _hstack(panels, GAP)


def comparison_grid(
    pairs: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    labels: tuple[str, str] = ("before", "after"),
    max_height: int = 384,
) -> np.ndarray:
    """One before/after row per ``(name, before, after)``, the name above each row; uint8 RGB."""
    if not pairs:
        raise ParameterError("comparison_grid needs at least one (name, before, after) pair")
    rows = []
    for name, before, after in pairs:
        sheet = before_after_sheet(before, after, labels=labels, max_height=max_height)
        rows.append(np.concatenate([_label_band(sheet.shape[1], name), sheet], axis=0))
    return _stack_rows(rows)


def _stack_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Rows of panels one above the other, padded to the widest, a gap between them."""
    width = max(row.shape[1] for row in rows)
    spacer = np.empty((GAP, width, 3), np.uint8)
    spacer[:] = BACKGROUND
    parts: list[np.ndarray] = []
    for index, row in enumerate(rows):
        if index:
            parts.append(spacer)
        parts.append(_pad_width(row, width))
    return np.concatenate(parts, axis=0)


def labelled_grid(rows: Sequence[Sequence[tuple[str, np.ndarray]]], *, max_height: int = 256) -> np.ndarray:
    """A grid of pictures, each shrunk to at most ``max_height`` with its label above; one list per row.
    Pictures are arrays as :func:`before_after_sheet` takes them; returns uint8 RGB."""
    if not rows or not all(rows):
        raise ParameterError("labelled_grid needs at least one non-empty row")
    built = []
    for row in rows:
        panels = []
        for label, array in row:
            picture = _as_hwc(array, label or "picture")
            picture = _fit_height(picture, min(max_height, picture.shape[0]))
            panels.append(np.concatenate([_label_band(picture.shape[1], label), picture], axis=0))
        built.append(_hstack(panels, GAP))
    return _stack_rows(built)


__all__ = ["before_after_sheet", "comparison_grid", "labelled_grid"]
