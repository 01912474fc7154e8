"""Reading a photo for training or evaluation as RGB, decoded by :func:`patina.imageio.read_image`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from patina.core.errors import ConfigError, ImageReadError
from patina.imageio import read_image, to_8bit


def read_rgb_uint8(path: Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB: upright (EXIF orientation), 16-bit rounded to 8, gray
    repeated, alpha dropped."""
    try:
        pixels = to_8bit(read_image(path)).pixels
    except ImageReadError as exc:
        raise ConfigError(f"{path}: cannot decode training image ({exc.reason})") from None
    return np.ascontiguousarray(np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels)


def read_rgb(path: Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) float32 RGB in [0, 1]."""
    return read_rgb_uint8(path).astype(np.float32) / 255.0


def read_rgb_tensor(path: Path) -> torch.Tensor:
    """Decode an image file to a (1, 3, H, W) float32 RGB tensor in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(read_rgb(path).transpose(2, 0, 1)))[None]


__all__ = ["read_rgb", "read_rgb_tensor", "read_rgb_uint8"]
