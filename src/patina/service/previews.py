"""Browser-friendly JPEG renditions of stored files (any format, 16 bit, alpha), cached beside the archive.

The cache is derived data: it lives in <archive>/cache/, never in the store, and can be deleted.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np

from patina.archive import Archive
from patina.imageio import Image, make_thumbnail, read_image, to_8bit, write_image

SIZES = {"thumbnail": 320, "preview": 1600}
_LOCKS = [threading.Lock() for _ in range(64)]  # two requests for one rendition: one makes it, one waits


def rendition(archive: Archive, sha256: str, kind: str) -> Path:
    """The cached JPEG of a stored file at the size named ``kind``, made on first request."""
    side = SIZES[kind]
    target = archive.root / "cache" / kind / f"{sha256}.jpg"
    if target.is_file():
        return target
    with _LOCKS[int(sha256[:8], 16) % len(_LOCKS)]:
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            image = read_image(archive.store.path(sha256), at_least=side)
            write_image(target, _flatten(to_8bit(make_thumbnail(image, side))), quality=88)
    return target


def _flatten(image: Image) -> Image:
    """Alpha composited over white (JPEG has no alpha)."""
    if image.alpha is None:
        return image
    alpha = image.alpha.astype(np.float32)[:, :, None] / 255.0
    pixels = image.pixels.astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return dataclasses.replace(image, pixels=np.rint(pixels).astype(np.uint8), alpha=None)

