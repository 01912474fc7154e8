"""Finding image files among command-line inputs (files and folders)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from patina.core.errors import ImageReadError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp"})


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` has an image extension (png jpg jpeg tif tiff webp bmp, any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def find_images(inputs: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """Expand files and folders into ``(file, relative_path)`` pairs, in input order, folders sorted.

    A folder contributes every image file below it (recursively, sorted, hidden files and folders
    such as ``.thumbnails`` or macOS ``._x.jpg`` skipped, symlinked folders not followed), each with
    its path relative to that folder; a file argument is taken as given, with just its name. A file
    reached twice is listed once.

    Raises:
        ImageReadError: an input path does not exist.
    """
    found: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    for item in inputs:
        root = Path(item)
        if root.is_dir():
            pairs = [(file, file.relative_to(root)) for file in _walk_images(root)]
        elif root.exists():
            pairs = [(root, Path(root.name))]
        else:
            raise ImageReadError(root, "no such file or folder")
        for file, relative in pairs:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append((file, relative))
    return found


def _walk_images(root: Path) -> list[Path]:
    """Image files below ``root``, sorted by their path relative to it; hidden entries skipped."""
    files: list[Path] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        files.extend(Path(folder, name) for name in names if not name.startswith(".") and is_image_file(name))
    return sorted(files, key=lambda file: file.relative_to(root).parts)
