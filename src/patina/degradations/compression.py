"""Compression artifacts (JPEG through OpenCV's libjpeg)."""

from __future__ import annotations

import cv2
import numpy as np

from ._common import check_image

__all__ = ["jpeg", "to_uint8", "from_uint8"]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8 with rounding (same array layout)."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def from_uint8(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) * np.float32(1.0 / 255.0)


def jpeg(image: np.ndarray, *, quality: int, chroma_subsampling: bool = True) -> np.ndarray:
    """Encode and decode as JPEG at ``quality`` (1-100) with OpenCV; result is quantised to 8 bits.

    ``chroma_subsampling`` selects 4:2:0 (True, the usual camera/web setting) or 4:4:4.
    """
    img = check_image(image)
    q = int(np.clip(int(round(float(quality))), 1, 100))
    bgr = np.ascontiguousarray(to_uint8(img)[..., ::-1])
    sampling = cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420 if chroma_subsampling else cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, q, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sampling])
    if not ok:  # pragma: no cover - cv2 only fails on invalid input
        raise RuntimeError("JPEG encoding failed")
    dec = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if dec is None:  # pragma: no cover - decoding what cv2 just encoded
        raise RuntimeError("JPEG decoding failed")
    return np.ascontiguousarray(from_uint8(dec[..., ::-1]))
