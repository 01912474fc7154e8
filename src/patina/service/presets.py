"""Named starting points for the web UI's pipeline chooser: a pipeline and the few options that differ from its
defaults (everything else is the pipeline's own default, written once in its options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Preset:
    """A labelled pipeline run: ``key`` (ids, URLs), ``label`` and ``summary`` (what a person reads)."""

    key: str
    label: str
    pipeline: str
    summary: str
    parameters: dict[str, Any] = field(default_factory=dict)
    needs_pictures: bool = False
    """It needs pictures chosen from the archive (a style image): not run on a whole collection at once."""


PRESETS: tuple[Preset, ...] = (
    Preset("restore", "Restore", "restore", "Fading, casts, noise, blur, scratches, dust and creases."),
    Preset("gentle-restore", "Gentle restore", "restore", "Half-way to the full restoration: keeps more of the "
           "original's character.", {"strength": 0.5}),
    Preset("restore-colour", "Restore + colour", "restore", "Restore, then colorize a black-and-white photo.",
           {"colorize": True}),
    Preset("restore-upscale", "Restore + upscale ×2", "restore", "Restore and double the size in one pass.",
           {"upscale": 2}),
    Preset("colorize", "Colorize", "colorize", "Colour for a black-and-white photo (colour photos are left "
           "alone)."),
    Preset("archival-upscale", "Archival upscale ×2", "upscale", "Twice the size, nothing invented (the "
           "fidelity model).", {"scale": 2, "fidelity": True}),
    Preset("upscale-x4", "Upscale ×4", "upscale", "Four times the size, cleaned of noise and JPEG damage.",
           {"scale": 4}),
    Preset("look-1920s", "1920s look", "retro", "A modern photo as a 1920s silver gelatin print.",
           {"era": "1920s"}),
    Preset("look-1970s", "1970s look", "retro", "A modern photo as a faded 1970s colour print.", {"era": "1970s"}),
    Preset("stylize", "Paint in a style", "stylize", "Pick a style image from the archive in the settings.",
           needs_pictures=True),
)
BY_KEY = {preset.key: preset for preset in PRESETS}

EXPERT_OPTIONS = frozenset({"model", "mask_model", "tone_model", "mask", "tile", "overlap", "context", "face_model",
                            "face_detector"})
"""Options the settings panel folds away under "Models and tiling" (every pipeline's defaults suit most photos)."""

__all__ = ["BY_KEY", "EXPERT_OPTIONS", "PRESETS", "Preset"]
