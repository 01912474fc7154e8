"""EXIF handling: normalising raw EXIF bytes, reading and undoing the orientation tag."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from PIL import Image as PILImage

EXIF_HEADER = b"Exif\x00\x00"
ORIENTATION = 0x0112
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
INTEROP_IFD = 0xA005
ICC_PROFILE_TAG = 34675

# TIFF tags that describe how pixels are stored, not the photograph; they never travel as EXIF.
TIFF_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 290, 291, 292, 293,
     317, 320, 321, 322, 323, 324, 325, 330, 332, 338, 339, 340, 341, 347, 513, 514, 529, 530, 531, 532,
     32997, 32998, ICC_PROFILE_TAG, 37724}
    | set(range(512, 522))
)


def normalize_exif(raw: bytes | None) -> bytes | None:
    """Return EXIF as ``b"Exif\\0\\0" + TIFF structure``, or None if ``raw`` is empty or not EXIF."""
    if not raw:
        return None
    body = raw[len(EXIF_HEADER):] if raw.startswith(EXIF_HEADER) else raw
    if body[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    return EXIF_HEADER + body


def read_orientation(exif: PILImage.Exif) -> int:
    """The EXIF orientation (1..8) recorded in ``exif``; 1 when missing or invalid."""
    value: Any = exif.get(ORIENTATION, 1)
    if isinstance(value, (tuple, list)):
        value = value[0] if value else 1
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def exif_orientation(exif: bytes | None) -> int:
    """The orientation (1..8) recorded in raw EXIF bytes; 1 when missing or unreadable."""
    if not exif:
        return 1
    parsed = PILImage.Exif()
    try:
        parsed.load(exif)
    except Exception:  # noqa: BLE001 - damaged EXIF must not make the image unreadable
        return 1
    return read_orientation(parsed)


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Transform an (H, W[, C]) array so that it displays upright for EXIF ``orientation``."""
    if orientation == 2:
        array = array[:, ::-1]
    elif orientation == 3:
        array = array[::-1, ::-1]
    elif orientation == 4:
        array = array[::-1]
    elif orientation == 5:
        array = array.swapaxes(0, 1)
    elif orientation == 6:
        array = np.rot90(array, k=-1)
    elif orientation == 7:
        array = array.swapaxes(0, 1)[::-1, ::-1]
    elif orientation == 8:
        array = np.rot90(array, k=1)
    return np.ascontiguousarray(array)


def reset_orientation(exif: bytes) -> bytes:
    """Return ``exif`` with its orientation tag set to 1 (upright); all other bytes are kept as they are."""
    patched = patch_orientation(exif)
    if patched is not None:
        return patched
    parsed = PILImage.Exif()  # unusual layout: let Pillow rewrite the EXIF
    parsed.load(exif)
    if ORIENTATION in parsed:
        parsed[ORIENTATION] = 1
    return normalize_exif(parsed.tobytes()) or exif


def patch_orientation(data: bytes) -> bytes | None:
    """Copy of EXIF or of a whole TIFF file with the orientation in its first directory set to 1.

    Only the two value bytes change. None when there is no orientation tag stored the usual way
    (one SHORT) or the data cannot be parsed.
    """
    start = len(EXIF_HEADER) if data.startswith(EXIF_HEADER) else 0
    try:
        endian = {b"II": "<", b"MM": ">"}[data[start:start + 2]]
        ifd0 = start + struct.unpack_from(endian + "I", data, start + 4)[0]
        (count,) = struct.unpack_from(endian + "H", data, ifd0)
        for entry in range(ifd0 + 2, ifd0 + 2 + 12 * count, 12):
            tag, kind, n = struct.unpack_from(endian + "HHI", data, entry)
            if tag == ORIENTATION:
                if kind != 3 or n != 1:  # not a single SHORT
                    return None
                patched = bytearray(data)
                struct.pack_into(endian + "H", patched, entry + 8, 1)
                return bytes(patched)
    except (KeyError, struct.error):
        return None
    return None


def descriptive_tags(exif: PILImage.Exif) -> dict[int, Any]:
    """The tags of ``exif`` that describe the photograph (camera, dates, GPS, ...), sub-IFDs as dicts.

    Layout tags (sizes, strips, compression, ICC) are left out, so the result can be merged into the
    directory of any TIFF file or serialised as EXIF on its own.
    """
    tags: dict[int, Any] = {}
    for tag, value in exif.items():
        if tag in TIFF_LAYOUT_TAGS:
            continue
        if tag in (EXIF_IFD, GPS_IFD):
            sub = {k: v for k, v in exif.get_ifd(tag).items() if k != INTEROP_IFD}
            if sub:
                tags[tag] = sub
        else:
            tags[tag] = value
    return tags


def exif_from_tags(tags: dict[int, Any]) -> bytes | None:
    """Serialise tags (as returned by :func:`descriptive_tags`) to raw EXIF bytes; None if empty."""
    if not tags:
        return None
    exif = PILImage.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    return normalize_exif(exif.tobytes())
