"""Pictures from other libraries: Pillow images and NumPy arrays turned into :class:`Image`, and results given
back in the kind the caller gave (what ``patina.restore(...)`` and the other one-call functions accept).

A NumPy array is (H, W) gray, (H, W, 1|2|3|4) gray / gray+alpha / RGB / RGBA, uint8 or uint16, or float in 0..1
(worked on as 16 bit, given back as float32). A Pillow image is any mode Pillow can convert (palette, CMYK, 16-bit
gray...); its EXIF and ICC profile go along.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
from PIL import Image as PILImage

from patina.core.errors import ImageReadError, ParameterError
from patina.imageio.convert import to_8bit
from patina.imageio.exif import normalize_exif
from patina.imageio.image import Image
from patina.imageio.read import pillow_arrays, read_image

Picture: TypeAlias = "Image | PILImage.Image | np.ndarray | str | Path"
"""What the one-call functions accept: Patina's Image, a Pillow image, a NumPy array, or a file path."""


def to_image(picture: Any) -> Image:
    """``picture`` (see :data:`Picture`) as an :class:`Image`; a file is read (size-limited, upright)."""
    if isinstance(picture, Image):
        return picture
    if isinstance(picture, str | Path):
        return read_image(picture)
    if isinstance(picture, PILImage.Image):
        return _from_pillow(picture)
    if isinstance(picture, np.ndarray):
        return _from_array(picture)
    raise ParameterError(f"expected an image (patina Image, PIL image, NumPy array or file path), got "
                         f"{type(picture).__name__}")


def like_given(result: Image, given: Any) -> Any:
    """``result`` in the kind ``given`` was: a Pillow image, a NumPy array (float when ``given`` was float), or
    an :class:`Image` (for Images and file paths)."""
    if isinstance(given, PILImage.Image):
        return _to_pillow(result)
    if isinstance(given, np.ndarray):
        return _to_array(result, float_like=given.dtype.kind == "f")
    return result


def _from_pillow(im: PILImage.Image) -> Image:
    try:
        pixels, alpha = pillow_arrays(Path("<PIL image>"), im)
    except ImageReadError as exc:
        raise ParameterError(f"PIL image: {exc.reason}") from None
    exif = normalize_exif(im.info.get("exif")) if "exif" in im.info else None
    icc = im.info.get("icc_profile") if im.mode != "CMYK" else None
    return Image(pixels=pixels, alpha=alpha, exif=exif, icc_profile=icc or None)


def _from_array(array: np.ndarray) -> Image:
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ParameterError(f"an image array is (H, W) or (H, W, 1..4), got shape {array.shape}")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ParameterError("a float image array must hold finite values in 0..1")
        array = np.rint(array.clip(0.0, 1.0) * 65535.0).astype(np.uint16)
    elif array.dtype not in (np.uint8, np.uint16):
        raise ParameterError(f"an image array is uint8, uint16 or float in 0..1, got {array.dtype}")
    colour = 1 if array.shape[2] in (1, 2) else 3
    alpha = array[:, :, colour] if array.shape[2] in (2, 4) else None
    return Image(pixels=np.array(array[:, :, :colour]),  # copies: the caller's array is never written to
                 alpha=None if alpha is None else np.array(alpha))


def _to_array(image: Image, *, float_like: bool) -> np.ndarray:
    planes = [image.pixels] + ([] if image.alpha is None else [image.alpha[:, :, None]])
    array = np.concatenate(planes, axis=2) if len(planes) > 1 else image.pixels
    if array.shape[2] == 1:
        array = array[:, :, 0]
    if float_like:
        return (array.astype(np.float32) / (65535.0 if array.dtype == np.uint16 else 255.0)).astype(np.float32)
    return array


def _to_pillow(image: Image) -> PILImage.Image:
    if image.bit_depth == 16 and image.is_gray and image.alpha is None:
        im = PILImage.fromarray(image.pixels[:, :, 0].astype(np.uint16))  # 16-bit gray ('I;16')
    else:
        eight = to_8bit(image) if image.bit_depth == 16 else image
        array = _to_array(eight, float_like=False)
        im = PILImage.fromarray(array, mode=None)
    if image.icc_profile:
        im.info["icc_profile"] = image.icc_profile
    if image.exif:
        im.info["exif"] = image.exif
    return im


__all__ = ["Picture", "like_given", "to_image"]
