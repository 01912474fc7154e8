"""Running an image-to-image function from one file to another, with an optional before/after sheet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from patina.imageio import Image, read_image, read_text_metadata, write_image
from patina.pipelines.compare import before_after_sheet


def process_file(
    process: Callable[[Image], Image],
    source: str | Path,
    destination: str | Path,
    *,
    compare: str | Path | None = None,
    quality: int = 95,
) -> Image:
    """Read ``source``, apply ``process``, write ``destination`` (format from its extension, atomically, with the
    source's EXIF, ICC profile, XMP and IPTC; ``quality`` for JPEG and WebP) and, if ``compare`` is given, a
    before/after JPEG there. Returns the result; the source is never modified.

    Raises ImageReadError / ImageWriteError (both PatinaError) with the file and a reason.
    """
    image = read_image(source)
    result = process(image)
    Path(destination).parent.mkdir(parents=True, exist_ok=True)
    write_image(destination, result, quality=quality, text_metadata=read_text_metadata(source))
    if compare is not None:
        sheet = before_after_sheet(image.pixels, result.pixels)
        Path(compare).parent.mkdir(parents=True, exist_ok=True)
        write_image(compare, Image(pixels=sheet), quality=90)
    return result


__all__ = ["process_file"]
