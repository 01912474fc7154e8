"""The damage mask restore would use for a stored photo, worked out once and cached beside the archive (derived
data, like the renditions: <archive>/cache/damage-mask/<mask model sha256>/<photo sha256>.png)."""

from __future__ import annotations

import threading
from pathlib import Path

from patina.archive import Archive
from patina.imageio import read_image, write_image
from patina.pipelines.restore import RestorePipeline
from patina.weights.card import ModelCard
from patina.weights.registry import REGISTRY

MASK_MODEL = "damage-mask"
_LOCK = threading.Lock()  # one detection at a time: it runs the mask network over the whole photo


def detected_mask(archive: Archive, sha256: str) -> Path:
    """The detected damage mask (8-bit gray PNG, white = damage, the photo's size) of a stored file."""
    model_sha = ModelCard.read(REGISTRY[MASK_MODEL].path.with_suffix(".json")).sha256
    target = archive.root / "cache" / "damage-mask" / model_sha[:16] / f"{sha256}.png"
    if target.is_file():
        return target
    with _LOCK:
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            pipeline = RestorePipeline(mask_model=MASK_MODEL, device="cpu")
            write_image(target, pipeline.damage_mask(read_image(archive.store.path(sha256))))
    return target


__all__ = ["detected_mask"]
