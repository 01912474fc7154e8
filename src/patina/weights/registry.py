"""The explicit registry of shipped models: every entry is written here, nothing registers itself on import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from patina.core.errors import ModelNotFoundError
from patina.weights.card import ModelCard
from patina.weights.descriptor import ModelDescriptor
from patina.weights.external import EXTERNAL_SUFFIXES, load_external
from patina.weights.files import card_path, load_model

FILES_DIR = Path(__file__).parent / "files"


@dataclass(frozen=True)
class RegistryEntry:
    """A shipped model: its name, weights file (inside the package) and what it does."""

    name: str
    filename: str
    task: str
    description: str

    @property
    def path(self) -> Path:
        return FILES_DIR / self.filename


REGISTRY: dict[str, RegistryEntry] = {
    entry.name: entry
    for entry in (
        RegistryEntry("restore", "restore.safetensors", "restore",
                      "Old-photo restoration GAN generator (denoise, deblur, fade/cast removal, inpainting)"),
        RegistryEntry("damage-mask", "damage-mask.safetensors", "restore",
                      "Segmentation of scratches, dust and creases, fed to the restoration generator"),
        RegistryEntry("restore-tone", "restore-tone.safetensors", "restore",
                      "Whole-photo tone and colour correction (fading, casts, yellowing) before restoration"),
        RegistryEntry("colorize", "colorize.safetensors", "colorize",
                      "Colorization GAN generator: (a*, b*) bins scored from luminance, for black-and-white photos"),
        RegistryEntry("upscale-x2", "upscale-x2.safetensors", "upscale",
                      "x2 upscaler for real scans (compact, one pass, distilled from realesr-general-x4v3 halved)"),
        RegistryEntry("upscale-x2-wdn", "upscale-x2-wdn.safetensors", "upscale",
                      "Weak-denoise twin of upscale-x2 (from realesr-general-wdn-x4v3), blended by --denoise"),
        RegistryEntry("upscale-x4", "upscale-x4.safetensors", "upscale",
                      "x4 upscaler for real scans (compact, distilled from realesr-general-x4v3): denoises, sharpens"),
        RegistryEntry("upscale-x4-wdn", "upscale-x4-wdn.safetensors", "upscale",
                      "Weak-denoise twin of upscale-x4 (from realesr-general-wdn-x4v3), blended by --denoise"),
        RegistryEntry("retro", "retro.safetensors", "retro",
                      "Retro GAN generator: era base looks given the grain and print texture of real old photos"),
        RegistryEntry("stylize", "stylize.safetensors", "stylize",
                      "Style transfer: encoder distilled from VGG19 + GAN-trained decoder of AdaIN / WCT-fused "
                      "features"),
        RegistryEntry("upscale-x2-fidelity", "upscale-x2-fidelity.safetensors", "upscale",
                      "x2 fidelity upscaler (L1, bicubic pairs): highest PSNR, no invented detail"),
        RegistryEntry("upscale-x4-fidelity", "upscale-x4-fidelity.safetensors", "upscale",
                      "x4 fidelity upscaler (L1, bicubic pairs): highest PSNR, no invented detail"),
    )
}


MODELS_DIR_ENV = "PATINA_MODELS_DIR"
"""A folder of your own weights files: a bare file name (``mine.safetensors``) not found in the working folder is
looked up there (the service accepts only registry names and such names)."""


def models_dir() -> Path | None:
    """The folder of :data:`MODELS_DIR_ENV`, or None when it is not set."""
    folder = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(folder) if folder else None


def resolve(name_or_path: str) -> Path:
    """A registry name or a path to a weights file (.safetensors; .pth / .pt for outside upscalers) -> its path
    (a bare file name is also looked for in :func:`models_dir`)."""
    if name_or_path in REGISTRY:
        return REGISTRY[name_or_path].path
    path = Path(name_or_path)
    if path.suffix.lower() in EXTERNAL_SUFFIXES or path.parent != Path():
        if path.is_file():
            return path
        folder = models_dir()
        if folder is not None and path.parent == Path() and (folder / path).is_file():
            return folder / path
        what = "is not a file" if path.exists() else "not found"
        raise ModelNotFoundError(f"model file {name_or_path} {what} (a model is a registered name or a weights "
                                 f"file: {', '.join(sorted(EXTERNAL_SUFFIXES))})")
    raise ModelNotFoundError(f"unknown model {name_or_path!r}; known: {', '.join(sorted(REGISTRY))}")


def load(name_or_path: str, *, device: torch.device | str = "cpu", task: str | None = None) -> ModelDescriptor:
    """Load a registered or file model in eval mode on ``device``: a Patina .safetensors with its card, or
    an outside upscaler checkpoint (see :mod:`patina.weights.external`) when no card sits beside it.
    With ``task``, a model that does something else is a ParameterError."""
    path = resolve(name_or_path)
    network: nn.Module
    if path.suffix == ".safetensors" and card_path(path).is_file():
        network, card = load_model(path, device=device)
    else:
        network, card = load_external(path, device=device)
    descriptor = ModelDescriptor.of(str(name_or_path), network, card)
    return descriptor if task is None else descriptor.require(task)


def cards() -> list[ModelCard]:
    """Cards of every registered model whose weights are present."""
    card_files = [entry.path.with_suffix(".json") for entry in REGISTRY.values()]
    return [ModelCard.read(path) for path in card_files if path.exists()]
