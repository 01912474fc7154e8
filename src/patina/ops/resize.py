"""MATLAB-compatible bicubic resizing (``imresize`` with antialiasing), the resize of the SR benchmark protocol.

Published super-resolution scores (bicubic 28.42 dB on Set5 x4, ...) make their low-resolution inputs with
MATLAB's ``imresize``: a cubic kernel (a = -0.5), widened by 1/scale when shrinking (antialiasing), with
mirrored borders. PIL and OpenCV differ from it enough to move PSNR by tenths of a dB, so the evaluation
and the fidelity models' training pairs use this one. Each axis is a dense (out x in) weight matrix, so the
op is a pair of matrix products: differentiable, exact and fast for the image sizes it is used on.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from patina.core.errors import ParameterError


def _cubic(x: np.ndarray) -> np.ndarray:
    absx = np.abs(x)
    absx2, absx3 = absx**2, absx**3
    return ((1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1)
            + (-0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2) * ((absx > 1) & (absx <= 2)))


@functools.lru_cache(maxsize=64)
def resize_matrix(in_length: int, out_length: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The (out_length, in_length) float64 matrix of MATLAB's bicubic ``imresize`` along one axis."""
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel = lambda x: scale * _cubic(scale * x)  # noqa: E731
        kernel_width /= scale
    else:
        kernel = _cubic
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    mirrored = np.concatenate([np.arange(in_length), np.arange(in_length)[::-1]])
    indices = mirrored[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    matrix = np.zeros((out_length, in_length))
    np.add.at(matrix, (np.repeat(np.arange(out_length), taps), indices.ravel()), weights.ravel())
    return matrix


def imresize(image: torch.Tensor, scale: float | None = None, *, size: tuple[int, int] | None = None,
             antialias: bool = True) -> torch.Tensor:
    """Resize (..., H, W) float like MATLAB's ``imresize(image, scale, 'bicubic')`` (or to ``size`` = (h, w)).

    No clamping or rounding: the caller quantises (the protocol stores the low-resolution image as 8-bit).
    """
    if (scale is None) == (size is None):
        raise ParameterError("give exactly one of scale and size")
    height, width = image.shape[-2:]
    if size is None:
        assert scale is not None
        if not scale > 0:
            raise ParameterError(f"scale must be positive, got {scale}")
        size = (int(math.ceil(height * scale)), int(math.ceil(width * scale)))
        scales = (scale, scale)
    else:
        if min(size) < 1:
            raise ParameterError(f"size must be positive, got {size}")
        scales = (size[0] / height, size[1] / width)
    rows = torch.from_numpy(resize_matrix(height, size[0], scales[0], antialias)).to(image.device)
    cols = torch.from_numpy(resize_matrix(width, size[1], scales[1], antialias)).to(image.device)
    dtype = torch.float64 if image.dtype == torch.float64 else torch.float32
    out = torch.matmul(rows.to(dtype), image.to(dtype))
    return torch.matmul(out, cols.to(dtype).transpose(0, 1)).to(image.dtype if image.is_floating_point() else dtype)


__all__ = ["imresize", "resize_matrix"]
