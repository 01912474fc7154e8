"""A photograph's descriptive metadata beyond EXIF: its XMP packet and IPTC datasets (titles, credits, rights,
keywords), read from a source file and written into the files made from it.

EXIF and the ICC profile travel with :class:`~patina.imageio.Image` itself; these two are copied file to file
(``write_image(..., text_metadata=read_text_metadata(source))``). XMP that describes the pixels rather than the
photograph (orientation, pixel size, the file's own instance history) is left out: it would be wrong for the new
file. WebP has no IPTC block: a WebP output keeps the XMP only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyexiv2

pyexiv2.set_log_level(4)  # exiv2 would print warnings about odd files to stderr; failures are handled here

PIXEL_XMP = ("Xmp.tiff.Orientation", "Xmp.tiff.ImageWidth", "Xmp.tiff.ImageLength", "Xmp.exif.PixelXDimension",
             "Xmp.exif.PixelYDimension", "Xmp.xmpMM.InstanceID", "Xmp.xmpMM.History")
"""XMP properties about a file's pixels or its own identity, not carried into a new file."""


@dataclass(frozen=True)
class TextMetadata:
    """An XMP packet (as XML text, or None) and IPTC datasets (pyexiv2 keys: ``Iptc.Application2.Credit``...)."""

    xmp: str | None = None
    iptc: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.xmp) or bool(self.iptc)


def read_text_metadata(path: str | Path) -> TextMetadata:
    """The XMP and IPTC of the file at ``path``; empty when it has none or they cannot be parsed (the photo is
    still a photo: metadata is carried when it can be)."""
    try:
        with pyexiv2.Image(str(path)) as image:
            xmp = image.read_raw_xmp() or None
            iptc = image.read_iptc()
    except Exception:  # noqa: BLE001 - exiv2 raises plain Exceptions for unreadable metadata
        return TextMetadata()
    return TextMetadata(xmp=xmp, iptc=iptc)


def write_text_metadata(path: str | Path, metadata: TextMetadata) -> None:
    """Write ``metadata`` into the file at ``path`` (a file Patina has just encoded, not yet in place), leaving out
    :data:`PIXEL_XMP`. Raises what exiv2 raises when the file cannot take it."""
    with pyexiv2.Image(str(path)) as image:
        if metadata.xmp:
            image.modify_raw_xmp(metadata.xmp)
            dropped = {key: None for key in image.read_xmp() if key.startswith(PIXEL_XMP)}
            if dropped:
                image.modify_xmp(dropped)
        if metadata.iptc and not _is_webp(path):
            image.modify_iptc(metadata.iptc)


def _is_webp(path: str | Path) -> bool:
    with open(path, "rb") as fp:
        head = fp.read(12)
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


__all__ = ["PIXEL_XMP", "TextMetadata", "read_text_metadata", "write_text_metadata"]
