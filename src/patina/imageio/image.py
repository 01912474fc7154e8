"""The in-memory image that every reader returns and every writer accepts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patina.core.errors import ParameterError

DEFAULT_MAX_PIXELS = 300_000_000
"""Largest image (width * height) read by default; guards against decompression bombs."""

SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


@dataclass
class Image:
    """Pixels plus the metadata that must survive a round trip through Patina.

    ``pixels`` is (H, W, C) with C = 1 (gray) or 3 (RGB), dtype uint8 or uint16 (a 2-D array is
    accepted and given a channel axis). ``alpha`` is (H, W) with the same dtype, or None. ``exif`` is
    raw EXIF as in a JPEG APP1 segment (starting with ``b"Exif\\0\\0"``), orientation already applied
    to the pixels and reset to 1.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    source_format: str = ""
    source_frames: int = 1
    """Frames (pages) in the file it was read from; only the first is decoded (a multi-page TIFF, an animation)."""

    def __post_init__(self) -> None:
        if isinstance(self.pixels, np.ndarray) and self.pixels.ndim == 2:
            self.pixels = self.pixels[:, :, None]
        self.validate()

    def validate(self) -> None:
        """Raise ParameterError unless pixels and alpha have the documented shapes and dtypes."""
        pixels = self.pixels
        if not isinstance(pixels, np.ndarray) or pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
            shape = getattr(pixels, "shape", None)
            raise ParameterError(f"image pixels must be an (H, W, 1) or (H, W, 3) array, got shape {shape}")
        if pixels.dtype not in SUPPORTED_DTYPES:
            raise ParameterError(f"image pixels must be uint8 or uint16, got {pixels.dtype}")
        if pixels.shape[0] < 1 or pixels.shape[1] < 1:
            raise ParameterError(f"image is empty: shape {pixels.shape}")
        alpha = self.alpha
        if alpha is None:
            return
        if not isinstance(alpha, np.ndarray) or alpha.shape != pixels.shape[:2]:
            raise ParameterError(
                f"alpha must be an array of shape {pixels.shape[:2]}, got {getattr(alpha, 'shape', None)}"
            )
        if alpha.dtype != pixels.dtype:
            raise ParameterError(f"alpha dtype {alpha.dtype} differs from pixels dtype {pixels.dtype}")

    @property
    def bit_depth(self) -> int:
        """Bits per sample: 8 or 16."""
        return 8 if self.pixels.dtype == np.uint8 else 16

    @property
    def is_gray(self) -> bool:
        """True for one-channel (grayscale) images."""
        return int(self.pixels.shape[2]) == 1

    @property
    def has_alpha(self) -> bool:
        """True when the image carries an alpha channel."""
        return self.alpha is not None

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])
