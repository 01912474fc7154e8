"""Encoding :class:`Image` to PNG, JPEG, TIFF or WebP, chosen by extension, written atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image as PILImage

from patina.core.errors import ImageWriteError, ParameterError
from patina.imageio.convert import to_8bit
from patina.imageio.embedded import TextMetadata, write_text_metadata
from patina.imageio.image import Image
from patina.imageio.png16 import write_png16
from patina.imageio.tiff import write_tiff

FORMATS_BY_EXTENSION = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
_JPEG_MAX_EXIF = 65533  # one APP1 segment
MAX_NAME_BYTES = 255  # a file name's limit on common file systems


def write_image(path: str | Path, image: Image, *, quality: int = 95, text_metadata: TextMetadata | None = None
                ) -> None:
    """Write ``image`` to ``path`` in the format its extension names (.png .jpg .jpeg .tif .tiff .webp).

    PNG and TIFF keep 16 bit and alpha; WebP keeps alpha but is 8 bit; JPEG is 8 bit without alpha
    (16-bit samples are rounded to 8 bit). EXIF and the ICC profile are written to every format, and
    ``text_metadata`` (XMP and IPTC, e.g. the source file's) when given. ``quality`` (1..100) applies to
    JPEG and WebP. The file appears complete or not at all: it is written to a temporary file in the same
    folder and then renamed over ``path``.

    Raises:
        ImageWriteError: unsupported extension, missing or unwritable folder, encoder failure.
        ParameterError: ``quality`` out of range or ``image`` malformed.
    """
    path = Path(path)
    file_format = FORMATS_BY_EXTENSION.get(path.suffix.lower())
    if file_format is None:
        supported = ", ".join(FORMATS_BY_EXTENSION)
        extension = path.suffix or "(none)"
        raise ImageWriteError(path, f"unsupported extension {extension!r}; use one of {supported}")
    if not 1 <= quality <= 100:
        raise ParameterError(f"quality must be between 1 and 100, got {quality}")
    image.validate()
    if not path.parent.is_dir():
        raise ImageWriteError(path, f"no such folder: {path.parent}")

    temp = path.with_name(temporary_name(path.name))
    try:
        with _create_new_file(temp) as fp:
            _encode(fp, image, file_format, quality)
            fp.flush()
            os.fsync(fp.fileno())
        if text_metadata:
            _add_text_metadata(temp, path, text_metadata)
        os.replace(temp, path)
    except OSError as exc:
        raise ImageWriteError(path, exc.strerror or str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - encoder failures of any type
        raise ImageWriteError(path, f"could not encode {file_format}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def temporary_name(name: str) -> str:
    """A hidden temporary name beside ``name``: ``.name.1a2b3c4d.tmp``, or, when that would be longer than a file
    name may be (255 bytes), ``.<start of name>….tmp`` cut to fit."""
    suffix = f".{secrets.token_hex(4)}.tmp"
    encoded = name.encode()
    room = MAX_NAME_BYTES - len(suffix) - 1
    if len(encoded) > room:
        name = encoded[:room].decode("utf-8", "ignore")
    return f".{name}{suffix}"


def _add_text_metadata(temp: Path, path: Path, text_metadata: TextMetadata) -> None:
    try:
        write_text_metadata(temp, text_metadata)
    except Exception as exc:  # noqa: BLE001 - exiv2 raises plain Exceptions
        raise ImageWriteError(path, f"could not write the XMP / IPTC metadata: {exc}") from exc
    with open(temp, "rb+") as fp:
        os.fsync(fp.fileno())


def _create_new_file(path: Path) -> BinaryIO:
    """Create ``path`` for writing; fails if it exists. Mode 0o666 minus the umask, like any new file
    (unlike tempfile, whose 0o600 would survive the rename)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(path, flags, 0o666), "wb")


def _encode(fp: BinaryIO, image: Image, file_format: str, quality: int) -> None:
    """Encode ``image`` as ``file_format`` into the open binary file ``fp``."""
    image = _storable(image, file_format)
    samples = _samples_with_alpha(image)
    icc_profile = _icc_for(image)
    exif = image.exif or None
    if file_format == "JPEG" and exif is not None and len(exif) > _JPEG_MAX_EXIF:
        warnings.warn(f"EXIF of {len(exif)} bytes does not fit in a JPEG; it is not written", stacklevel=3)
        exif = None
    if file_format == "TIFF":
        write_tiff(fp, samples, has_alpha=image.has_alpha, icc_profile=icc_profile, exif=exif)
    elif file_format == "PNG" and image.bit_depth == 16:
        write_png16(fp, samples, icc_profile=icc_profile, exif=exif)
    else:
        options: dict[str, object] = {"exif": exif or b""}
        if icc_profile:
            options["icc_profile"] = icc_profile
        if file_format == "JPEG":
            options.update(quality=quality, subsampling=0 if quality >= 90 else 2)
        elif file_format == "WEBP":
            options.update(quality=quality, method=4)
        pil_image = PILImage.fromarray(samples[:, :, 0] if samples.shape[2] == 1 else samples)
        pil_image.save(fp, format=file_format, **options)


def _storable(image: Image, file_format: str) -> Image:
    """``image`` reduced to what ``file_format`` can hold: bit depth, alpha, gray."""
    if file_format in ("JPEG", "WEBP"):
        image = to_8bit(image)
    if file_format == "JPEG" and image.alpha is not None:
        image = dataclasses.replace(image, alpha=None)
    # WebP has no gray mode; nothing reads a 16-bit gray+alpha TIFF back (Pillow, OpenCV): store RGB
    if image.is_gray and (
        file_format == "WEBP" or (file_format == "TIFF" and image.bit_depth == 16 and image.has_alpha)
    ):
        image = dataclasses.replace(image, pixels=np.repeat(image.pixels, 3, axis=2))
    return image


def _samples_with_alpha(image: Image) -> np.ndarray:
    """(H, W, C) colour samples with the alpha plane, if any, appended as the last channel."""
    if image.alpha is None:
        return np.ascontiguousarray(image.pixels)
    return np.concatenate([image.pixels, image.alpha[:, :, None]], axis=2)


def _icc_colour_space(profile: bytes) -> bytes:
    """The data colour space signature of an ICC profile, e.g. b'RGB ' or b'GRAY'."""
    return profile[16:20]


def _icc_for(image: Image) -> bytes | None:
    """The image's ICC profile if it fits its pixels (a gray profile on gray, RGB on RGB), else None."""
    profile = image.icc_profile
    if not profile:
        return None
    expected = b"GRAY" if image.is_gray else b"RGB "
    return profile if _icc_colour_space(profile) == expected else None
