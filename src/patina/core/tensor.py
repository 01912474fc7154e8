"""Tensor conventions: images are (N, C, H, W) float32 RGB in [0, 1]; arrays from imageio are (H, W, C)."""

from __future__ import annotations

import numpy as np
import torch


def array_to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8/uint16/float array -> (1, C, H, W) float32 tensor in [0, 1]."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.dtype == np.uint8:
        data = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        data = image.astype(np.float32) / 65535.0
    else:
        data = image.astype(np.float32, copy=False)
    return torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)))[None]


def tensor_to_array(tensor: torch.Tensor, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) tensor in [0, 1] -> (H, W, C) array of ``dtype`` (uint8, uint16 or float32)."""
    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"expected a batch of one image, got {tensor.shape[0]}")
        tensor = tensor[0]
    data = tensor.detach().float().clamp(0.0, 1.0).permute(1, 2, 0).cpu().numpy()
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return np.rint(data * 255.0).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(data * 65535.0).astype(np.uint16)
    return data.astype(dtype)


def to_float01(image: np.ndarray) -> np.ndarray:
    """(H, W, C) array of any supported dtype -> float32 in [0, 1]."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return np.clip(image.astype(np.float32, copy=False), 0.0, 1.0)


def from_float01(image: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """float array in [0, 1] -> ``dtype`` (uint8 / uint16 / float32), rounded."""
    dtype = np.dtype(dtype)
    clipped = image.clip(0.0, 1.0)
    if dtype == np.uint8:
        return np.rint(clipped * 255.0).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(clipped * 65535.0).astype(np.uint16)
    return clipped.astype(dtype)
