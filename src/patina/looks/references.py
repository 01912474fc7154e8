"""Real old photographs as references: sorted into groups, split into training and held-out sets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from patina.looks.match import photo_group
from patina.looks.presets import GROUPS

HOLDOUT_EVERY = 3
"""Every 3rd real photo of each group is held out: `patina train retro` never sees it, `patina eval retro`
compares with it."""


def group_photos(files: Sequence[Path]) -> dict[str, list[Path]]:
    """The files sorted into :data:`GROUPS` by :func:`photo_group` (each group's list keeps the input order)."""
    from patina.data import read_rgb_tensor

    groups: dict[str, list[Path]] = {group: [] for group in GROUPS}
    for path in files:
        groups[photo_group(read_rgb_tensor(path))].append(path)
    return groups


def split_references(groups: dict[str, list[Path]], every: int) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """(training, held-out) per group: within each group, every ``every``-th photo (the 1st, the
    (every+1)-th, ...) is held out for evaluation; ``every`` <= 1 holds none out."""
    train = {g: [p for i, p in enumerate(files) if every <= 1 or i % every] for g, files in groups.items()}
    held = {g: [p for i, p in enumerate(files) if every > 1 and not i % every] for g, files in groups.items()}
    return train, held


__all__ = ["HOLDOUT_EVERY", "group_photos", "split_references"]
