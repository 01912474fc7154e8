"""Hold-out splits: which photos a run trains on and which it keeps back for validation and evaluation."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

STYLE_HOLDOUT_EVERY = 4
"""About one artwork in this many is kept out of the stylize decoder's training, for `patina eval stylize`."""
FACE_HOLDOUT_EVERY = 10
"""One training photo in this many is kept out of the face models' training, for `patina eval faces`."""
FACE_CALIBRATION_EVERY = 8
"""Every 8th face *training* photo (never a held-out one) is kept for calibrating the face detector's
thresholds, and the detector's verifier never trains on it."""


def split_holdout(files: Sequence[T], every: int) -> tuple[list[T], list[T]]:
    """Every ``every``-th item (the 1st, the (every+1)-th, ...) goes to validation, the rest to training."""
    if every <= 1:
        return list(files), []
    return [p for i, p in enumerate(files) if i % every], [p for i, p in enumerate(files) if not i % every]


def artwork_key(path: Path) -> str:
    """The artwork a style file shows: its lower-case stem without a "cropped" / "hr" suffix, so that a
    painting and its crop land on the same side of the split."""
    return re.sub(r"([-_](cropped|crop|hr))+$", "", path.stem.lower())


def split_styles(files: list[Path], every: int = STYLE_HOLDOUT_EVERY) -> tuple[list[Path], list[Path]]:
    """(training, held-out) style images: an artwork is held out when a hash of its key says so, so the
    split of a file does not depend on which other files are listed beside it."""
    if every <= 1:
        return files, []
    held = [hashlib.md5(artwork_key(p).encode()).digest()[0] % every == 0 for p in files]
    return [p for p, h in zip(files, held, strict=True) if not h], [p for p, h in zip(files, held, strict=True) if h]


__all__ = ["FACE_CALIBRATION_EVERY", "FACE_HOLDOUT_EVERY", "STYLE_HOLDOUT_EVERY", "artwork_key", "split_holdout",
           "split_styles"]
