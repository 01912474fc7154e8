"""Finding image files among command-line inputs (files and folders)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from patina.core.errors import ImageReadError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"})


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` has an image extension (png jpg jpeg tif tiff webp bmp, any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


@dataclass
class ImageScan:
    """What :func:`scan_images` found: image files as ``(file, relative_path)`` pairs, and the inputs or files it
    could not use as ``(printable name, reason)``."""

    found: list[tuple[Path, Path]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def printable(path: str | Path) -> str:
    """A path as text that can always be printed and stored (bytes that are not UTF-8 shown as \\xNN)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def scan_images(inputs: Iterable[str | Path]) -> ImageScan:
    """Expand files and folders into image files, in input order, folders sorted; nothing stops the scan.

    A folder contributes every image file below it (recursively, sorted, hidden files and folders such as
    ``.thumbnails`` or macOS ``._x.jpg`` skipped, symlinked folders not followed), each with its path relative
    to that folder; a file argument is taken as given, with just its name. A file reached twice is listed once.
    A missing or unreadable input, a symlink loop or broken link, a named pipe or other non-regular file and a
    name that is not valid UTF-8 are listed in ``problems`` with the reason, and the scan goes on.
    """
    scan = ImageScan()
    seen: set[Path] = set()
    for item in inputs:
        root = Path(item)
        if root.is_dir():
            candidates = [(file, file.relative_to(root)) for file in _walk_images(root)]
        else:
            candidates = [(root, Path(root.name))]
        for file, relative in candidates:
            problem = _unusable(file)
            if problem is not None:
                scan.problems.append((printable(file), problem))
                continue
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                scan.found.append((file, relative))
    return scan


def _unusable(file: Path) -> str | None:
    """Why ``file`` cannot be read as an image file, or None."""
    try:
        os.fsencode(file).decode("utf-8")
    except UnicodeDecodeError:
        return "the file name is not valid UTF-8: rename the file"
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        return "a broken link" if file.is_symlink() else "no such file or folder"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        return "a symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
    if not stat.S_ISREG(mode):
        return "not a regular file (a named pipe, socket or device)"
    if not os.access(file, os.R_OK):
        return "permission denied"
    return None


def find_images(inputs: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """:func:`scan_images`'s files, for inputs that must all be usable (an evaluation set).

    Raises:
        ImageReadError: the first input or file that cannot be used, with the reason.
    """
    scan = scan_images(inputs)
    if scan.problems:
        name, reason = scan.problems[0]
        raise ImageReadError(name, reason)
    return scan.found


def _walk_images(root: Path) -> list[Path]:
    """Image files below ``root``, sorted by their path relative to it; hidden entries skipped."""
    files: list[Path] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        files.extend(Path(folder, name) for name in names if not name.startswith(".") and is_image_file(name))
    return sorted(files, key=lambda file: file.relative_to(root).parts)
