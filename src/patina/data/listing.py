"""Listing the image files of training folders."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from patina.core.errors import ConfigError
from patina.imageio import is_image_file


def list_images(roots: Sequence[str | Path]) -> list[Path]:
    """All image files under ``roots`` (recursive), sorted, with duplicate contents removed."""
    files: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise ConfigError(f"training data folder {root} does not exist")
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        files += [p for p in candidates if is_image_file(p)]
    seen: set[str] = set()
    unique = []
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            unique.append(path)
    return unique


__all__ = ["list_images"]
