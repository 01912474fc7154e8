"""Decoding image files into :class:`Image`: size limit first, then pixels, orientation and metadata.

Pillow parses every header and decodes everything except 16-bit colour, which it reduces to 8 bit;
those files are decoded by OpenCV instead. No Pillow or OpenCV exception escapes: every failure
becomes an :class:`ImageReadError` with a reason a person can act on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageFile, TiffImagePlugin, UnidentifiedImageError

from patina.core.errors import BusyError, ImageReadError, ImageTooLargeError, ParameterError
from patina.imageio.budget import DECODES
from patina.imageio.exif import (
    ORIENTATION,
    apply_orientation,
    descriptive_tags,
    exif_orientation,
    exif_from_tags,
    normalize_exif,
    patch_orientation,
    read_orientation,
    reset_orientation,
)
from patina.imageio.image import DEFAULT_MAX_PIXELS, Image

# Pillow modes turned into one of L, LA, RGB, RGBA before the pixels are taken.
_PILLOW_CONVERSIONS = {
    "1": "L",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
}
_FORMAT_NAMES = {"MPO": "JPEG"}  # cameras' multi-picture JPEGs are JPEG files to everyone else
_WIDE_GRAY_MODES = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N")

_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF8")
_PNG_END = b"IEND\xaeB`\x82"
_JPEG_END = b"\xff\xd9"

_pillow_limit_lock = threading.Lock()


def read_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, at_least: int | None = None) -> Image:
    """Decode an image file (PNG, JPEG, TIFF, WebP, BMP, ...) into an upright :class:`Image`.

    The pixel count in the header is checked against ``max_pixels`` before any pixel is decoded.
    Palette images become RGB (RGBA if transparent), CMYK becomes RGB, 16-bit stays 16-bit, EXIF
    orientation is applied to the pixels and reset to 1 in the EXIF kept on the result.

    ``at_least`` (for previews): a JPEG may be decoded reduced by 2, 4 or 8 in the DCT itself, as long as
    both sides stay at least ``at_least`` pixels; it then never holds its full-size pixels in memory (a 100 MP
    scan's 320-px thumbnail takes 1/64 of the memory and time). Other formats decode whole.

    Raises:
        ImageReadError: missing, unreadable, corrupt, truncated, unsupported or too large a file.
        BusyError: a large image that waited too long for the decode budget (:mod:`patina.imageio.budget`).
    """
    if max_pixels < 1:
        raise ParameterError(f"max_pixels must be at least 1, got {max_pixels}")
    path = Path(path)
    if path.is_dir():
        raise ImageReadError(path, "is a folder, not an image file")
    try:
        with _open_header(path) as header:
            if at_least is not None and header.format in ("JPEG", "MPO"):
                header.draft(header.mode, (at_least, at_least))
            return _decode(path, header, max_pixels)
    except (ImageReadError, BusyError):
        raise
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, _unidentified_reason(path)) from None
    except MemoryError:
        raise ImageReadError(path, "not enough memory to decode the image") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise many types; all mean a bad file
        raise ImageReadError(path, _failure_reason(path, exc)) from exc


@contextmanager
def _open_header(path: Path) -> Iterator[ImageFile.ImageFile]:
    """Open ``path`` lazily (header only) with Pillow's own pixel limit lifted: we apply ours."""
    with _pillow_limit_lock:
        saved = PILImage.MAX_IMAGE_PIXELS
        PILImage.MAX_IMAGE_PIXELS = None
        try:
            header = PILImage.open(path)
        finally:
            PILImage.MAX_IMAGE_PIXELS = saved
    try:
        yield header
    finally:
        header.close()


def _decode(path: Path, im: ImageFile.ImageFile, max_pixels: int) -> Image:
    width, height = im.size  # after a draft: the reduced size, what is decoded
    if width * height > max_pixels:
        raise ImageTooLargeError(path, f"image has {width * height} pixels, more than the limit of {max_pixels}")
    with DECODES.decoding(width * height):  # large decodes take turns (see imageio.budget)
        return _decode_pixels(path, im, width, height)


def _decode_pixels(path: Path, im: ImageFile.ImageFile, width: int, height: int) -> Image:
    source_format = _FORMAT_NAMES.get(im.format or "", im.format or "UNKNOWN")
    if source_format == "TIFF":  # read the tags first: Pillow drops the orientation tag once it loads
        tags = im.getexif()  # a TIFF's own directory; reading it decodes no pixels
        orientation = read_orientation(tags)
        exif = exif_from_tags(descriptive_tags(tags))

    upright = False  # whether the decoder has already applied the orientation
    if _is_16bit_colour(im):
        pixels, alpha = _decode_with_opencv(path, width * height, gray=_rawmode(im).startswith("L"))
    else:
        im.load()
        # Pillow turns a TIFF upright as it loads it, and then drops its orientation tag
        upright = isinstance(im, TiffImagePlugin.TiffImageFile) and ORIENTATION not in im.tag_v2
        pixels, alpha = pillow_arrays(path, im)
    icc_profile = im.info.get("icc_profile") or None
    if im.mode == "CMYK":
        icc_profile = None  # a CMYK profile does not describe the RGB pixels we return

    if source_format != "TIFF":  # after loading: a PNG may hold its EXIF after the pixels
        exif = normalize_exif(im.info.get("exif"))
        orientation = exif_orientation(exif)
    if orientation != 1:
        if not upright:
            pixels = apply_orientation(pixels, orientation)
            alpha = None if alpha is None else apply_orientation(alpha, orientation)
        exif = None if exif is None else reset_orientation(exif)
    return Image(pixels=pixels, alpha=alpha, exif=exif, icc_profile=icc_profile, source_format=source_format,
                 source_frames=max(1, int(getattr(im, "n_frames", 1) or 1)))


def _rawmode(im: ImageFile.ImageFile) -> str:
    """How the file stores its samples, e.g. 'RGB;16B' (Pillow's tile raw mode), else the image mode."""
    if not im.tile:
        return im.mode
    args = im.tile[0].args
    if isinstance(args, str):
        return args
    if isinstance(args, tuple) and args and isinstance(args[0], str):
        return args[0]
    return im.mode


def _is_16bit_colour(im: ImageFile.ImageFile) -> bool:
    """True for 16-bit RGB(A) / gray+alpha files, which Pillow would reduce to 8 bit."""
    return im.mode in ("RGB", "RGBA", "LA") and ";16" in _rawmode(im)


def _decode_with_opencv(
    path: Path, expected_pixels: int, *, gray: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode a 16-bit colour (or gray+alpha) file with OpenCV; BGR(A) becomes RGB + alpha."""
    data = path.read_bytes()
    if data[:2] in (b"II", b"MM"):  # OpenCV turns TIFFs upright itself; hide the tag, we apply it
        data = patch_orientation(data) or data
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if (
        decoded is None or decoded.dtype != np.uint16
        or decoded.shape[0] * decoded.shape[1] != expected_pixels
    ):
        raise ImageReadError(path, "truncated file" if _looks_truncated(path) else "corrupt image data")
    if decoded.ndim == 2:
        decoded = decoded[:, :, None]
    channels = decoded.shape[2]
    if channels in (1, 2):
        colour, alpha = decoded[:, :, :1], (decoded[:, :, 1] if channels == 2 else None)
    else:
        colour, alpha = decoded[:, :, 2::-1], (decoded[:, :, 3] if channels == 4 else None)
    if gray:
        colour = colour[:, :, :1]
    return np.ascontiguousarray(colour), None if alpha is None else np.ascontiguousarray(alpha)


def pillow_arrays(path: Path, im: PILImage.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Pixels and alpha of a loaded Pillow image, after converting it to L, LA, RGB, RGBA or 16-bit gray."""
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if im.mode == "PA" or im.has_transparency_data else "RGB")
    elif im.mode in _PILLOW_CONVERSIONS:
        im = im.convert(_PILLOW_CONVERSIONS[im.mode])
    elif im.mode not in ("L", "LA", "RGB", "RGBA", *_WIDE_GRAY_MODES):
        raise ImageReadError(path, f"unsupported colour mode {im.mode}")
    array = np.array(im)
    if im.mode in _WIDE_GRAY_MODES:
        array = _to_uint16(array)
    if array.ndim == 2:
        return array[:, :, None], None
    colour_channels = 1 if array.shape[2] == 2 else 3
    alpha = np.ascontiguousarray(array[:, :, colour_channels]) if array.shape[2] in (2, 4) else None
    return np.ascontiguousarray(array[:, :, :colour_channels]), alpha


def _to_uint16(array: np.ndarray) -> np.ndarray:
    """16/32-bit integer or float gray -> native uint16 (floats are taken as 0..1, integers clipped)."""
    if array.dtype.kind == "f":
        return np.rint(array.clip(0.0, 1.0) * 65535.0).astype(np.uint16)
    return array.clip(0, 65535).astype(np.uint16)


def _unidentified_reason(path: Path) -> str:
    """Why Pillow could not identify the file: a damaged image header, or not an image at all."""
    try:
        with open(path, "rb") as fh:
            prefix = fh.read(16)
    except OSError as exc:
        return exc.strerror or "could not read the file"
    if prefix.startswith(_IMAGE_SIGNATURES) or (prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP"):
        if _looks_truncated(path):
            return "truncated file"
        return "damaged file or unsupported variant of its format"
    if not prefix:
        return "empty file"
    return "not an image / unsupported format"


def _failure_reason(path: Path, exc: Exception) -> str:
    """A short reason for a decoder exception: 'truncated file' or 'corrupt image data (...)'."""
    message = str(exc).strip()
    if isinstance(exc, EOFError) or "truncated" in message.lower() or _looks_truncated(path):
        return "truncated file"
    return f"corrupt image data ({message or type(exc).__name__})"


def _looks_truncated(path: Path) -> bool:
    """Whether a file is shorter than its own structure says (PNG without IEND, JPEG without EOI,
    WebP shorter than its RIFF size, TIFF whose first directory lies past the end)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(16)
            fh.seek(max(0, size - 16))
            tail = fh.read()
    except OSError:
        return False
    if head.startswith(b"\x89PNG"):
        return not tail.endswith(_PNG_END)
    if head.startswith(b"\xff\xd8"):
        return _JPEG_END not in tail
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return int.from_bytes(head[4:8], "little") + 8 > size
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return int.from_bytes(head[4:8], "little" if head[:2] == b"II" else "big") + 2 > size
    return False
