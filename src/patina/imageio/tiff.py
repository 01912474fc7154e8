"""TIFF encoder (8/16-bit gray or RGB, optional alpha, deflate) that keeps the ICC profile and EXIF.

Pillow cannot write 16-bit colour TIFF, nor EXIF together with compression, so Patina writes its
TIFF files itself; Pillow's tag directory class does the tag serialisation.
"""

from __future__ import annotations

import contextlib
import zlib
from typing import BinaryIO

import numpy as np
from PIL import Image as PILImage
from PIL import TiffImagePlugin, TiffTags

from patina.imageio.exif import ICC_PROFILE_TAG, descriptive_tags

_STRIP_BYTES = 1 << 18
_DEFLATE = 8
_HORIZONTAL_PREDICTOR = 2
_UNASSOCIATED_ALPHA = 2


def write_tiff(
    fp: BinaryIO,
    samples: np.ndarray,
    *,
    has_alpha: bool,
    icc_profile: bytes | None,
    exif: bytes | None,
    level: int | None = None,
) -> None:
    """Write (H, W, C) uint8/uint16 ``samples`` (gray or RGB, alpha last when ``has_alpha``) as TIFF.

    ``level`` is the zlib level: by default 6 for 8 bit and 1 for 16 bit, where the noisy low bits
    make higher levels much slower for well under 1 % smaller files.
    """
    if level is None:
        level = 6 if samples.dtype == np.uint8 else 1
    height, width, channels = samples.shape
    bits = samples.dtype.itemsize * 8
    rows_per_strip = max(1, _STRIP_BYTES // (width * channels * samples.dtype.itemsize))
    little_endian = samples.dtype.newbyteorder("<")
    strips = [
        zlib.compress(_predict(samples[top:top + rows_per_strip]).astype(little_endian).tobytes(), level)
        for top in range(0, height, rows_per_strip)
    ]

    ifd = TiffImagePlugin.ImageFileDirectory_v2()  # little-endian classic TIFF
    if exif:
        parsed = PILImage.Exif()
        parsed.load(exif)
        for tag, value in descriptive_tags(parsed).items():
            with contextlib.suppress(Exception):  # a tag Pillow cannot store is left out, not fatal
                ifd[tag] = value
    ifd[256] = width
    ifd[257] = height
    ifd[258] = (bits,) * channels
    ifd[259] = _DEFLATE
    ifd[262] = 1 if channels - int(has_alpha) == 1 else 2  # BlackIsZero or RGB
    ifd[277] = channels
    ifd[278] = rows_per_strip
    ifd[284] = 1  # chunky
    ifd[317] = _HORIZONTAL_PREDICTOR
    ifd[339] = (1,) * channels  # unsigned integers
    if has_alpha:
        ifd[338] = (_UNASSOCIATED_ALPHA,)
    if icc_profile:
        ifd[ICC_PROFILE_TAG] = icc_profile
        ifd.tagtype[ICC_PROFILE_TAG] = TiffTags.UNDEFINED
    sizes = [len(strip) for strip in strips]
    ifd[273] = tuple(int(x) for x in np.cumsum([0, *sizes[:-1]]))  # shifted past the directory by Pillow
    ifd[279] = tuple(sizes)
    ifd.save(fp)
    for strip in strips:
        fp.write(strip)


def _predict(block: np.ndarray) -> np.ndarray:
    """Horizontal differencing (TIFF predictor 2): each sample minus its left neighbour, wrapping."""
    out = block.copy()
    out[:, 1:] -= block[:, :-1]
    return out
