"""Conversions of :class:`Image`: to and from tensors, bit depth, resizing (alpha, thumbnails)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import torch

from patina.core.errors import ParameterError
from patina.core.tensor import array_to_tensor, tensor_to_array
from patina.imageio.image import Image

BT601_LUMA = (0.299, 0.587, 0.114)
"""ITU-R BT.601 weights used to turn an RGB tensor back into a gray image."""


def image_to_tensor(image: Image) -> torch.Tensor:
    """(1, 3, H, W) float32 tensor in [0, 1]; gray is repeated to 3 channels; alpha is not included."""
    tensor = array_to_tensor(image.pixels)
    return tensor.expand(-1, 3, -1, -1).contiguous() if image.is_gray else tensor


def tensor_to_image(tensor: torch.Tensor, like: Image) -> Image:
    """Turn a (1, C, H, W) or (C, H, W) tensor (C = 1 or 3, values in [0, 1]) into an image like ``like``.

    The result has the bit depth of ``like``; it is gray when ``like`` is (RGB -> BT.601 luma), RGB
    otherwise. Alpha, EXIF, ICC profile and source format are copied from ``like``, the alpha resized
    (bilinear) when the tensor's size differs.
    """
    if tensor.ndim == 3:
        tensor = tensor[None]
    if tensor.ndim != 4 or tensor.shape[0] != 1 or tensor.shape[1] not in (1, 3):
        raise ParameterError(f"expected a (1, 1|3, H, W) tensor, got shape {tuple(tensor.shape)}")
    tensor = tensor.detach().float().clamp(0.0, 1.0)
    if like.is_gray and tensor.shape[1] == 3:
        weights = torch.tensor(BT601_LUMA, dtype=tensor.dtype, device=tensor.device).view(1, 3, 1, 1)
        tensor = (tensor * weights).sum(dim=1, keepdim=True)
    elif not like.is_gray and tensor.shape[1] == 1:
        tensor = tensor.expand(-1, 3, -1, -1)
    pixels = tensor_to_array(tensor, like.pixels.dtype)
    height, width = pixels.shape[:2]
    return Image(
        pixels=pixels,
        alpha=alpha_for_size(like.alpha, height, width),
        exif=like.exif,
        icc_profile=like.icc_profile,
        source_format=like.source_format,
    )


def alpha_for_size(alpha: np.ndarray | None, height: int, width: int) -> np.ndarray | None:
    """A copy of ``alpha`` at ``height`` x ``width`` (resized bilinear when its size differs); None stays None."""
    if alpha is None:
        return None
    return alpha.copy() if alpha.shape == (height, width) else resize_alpha(alpha, (width, height))


def resize_alpha(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W) alpha plane to ``size`` = (width, height), bilinear, keeping its dtype."""
    width, height = size
    if width < 1 or height < 1:
        raise ParameterError(f"size must be positive, got {size}")
    if alpha.ndim != 2:
        raise ParameterError(f"alpha must be an (H, W) array, got shape {alpha.shape}")
    return cv2.resize(alpha, (int(width), int(height)), interpolation=cv2.INTER_LINEAR)


def make_thumbnail(image: Image, max_side: int) -> Image:
    """A copy whose longer side is at most ``max_side`` pixels, aspect ratio kept, never upsampled."""
    if max_side < 1:
        raise ParameterError(f"max_side must be at least 1, got {max_side}")
    scale = max_side / max(image.width, image.height)
    if scale >= 1.0:
        return dataclasses.replace(
            image, pixels=image.pixels.copy(), alpha=None if image.alpha is None else image.alpha.copy()
        )
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    pixels = cv2.resize(image.pixels, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
    alpha = None if image.alpha is None else cv2.resize(image.alpha, size, interpolation=cv2.INTER_AREA)
    return dataclasses.replace(image, pixels=pixels, alpha=alpha)


def to_8bit(image: Image) -> Image:
    """The image with 8-bit samples: 16-bit values are divided by 257 and rounded; 8-bit is returned as is."""
    if image.bit_depth == 8:
        return image
    return dataclasses.replace(
        image,
        pixels=_reduce_to_8bit(image.pixels),
        alpha=None if image.alpha is None else _reduce_to_8bit(image.alpha),
    )


def _reduce_to_8bit(samples: np.ndarray) -> np.ndarray:
    # round(x / 257) exactly, in integers: 257 is odd, so x / 257 never ends in .5
    return ((samples.astype(np.uint32) + 128) // 257).astype(np.uint8)
