"""Saving and loading models as safetensors + JSON card, with sha256 integrity checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from patina.core.errors import ModelNotFoundError, WeightsIntegrityError
from patina.weights.card import ModelCard


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_path(weights_path: str | Path) -> Path:
    """The JSON card that belongs to a weights file."""
    return Path(weights_path).with_suffix(".json")


def build_model(card: ModelCard) -> nn.Module:
    """Instantiate the architecture a card names, with its stored constructor kwargs."""
    from patina.networks import ARCHITECTURES

    if card.arch not in ARCHITECTURES:
        raise ModelNotFoundError(f"model card {card.name!r} names unknown architecture {card.arch!r}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in card.kwargs.items()}
    architecture: type[nn.Module] = ARCHITECTURES[card.arch]
    return architecture(**kwargs)


def save_model(model: nn.Module, weights_path: str | Path, card: ModelCard) -> ModelCard:
    """Write ``model``'s weights (in ``card.dtype``) and its card; fills sha256 and parameter count."""
    weights_path = Path(weights_path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    dtype = getattr(torch, card.dtype)
    state = {k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
             for k, v in model.state_dict().items()}
    save_file(state, str(weights_path), metadata={"name": card.name, "arch": card.arch, "version": card.version})
    card.sha256 = sha256_of(weights_path)
    card.parameters = sum(p.numel() for p in model.parameters())
    card.write(card_path(weights_path))
    return card


def load_model(weights_path: str | Path, *, device: torch.device | str = "cpu",
               verify: bool = True) -> tuple[nn.Module, ModelCard]:
    """Build and load a model from a weights file and its card; float32, eval mode, on ``device``."""
    weights_path = Path(weights_path)
    if not weights_path.is_file():
        raise ModelNotFoundError(f"{weights_path}: weights file not found")
    if not card_path(weights_path).is_file():
        raise ModelNotFoundError(f"{card_path(weights_path)}: model card not found")
    card = ModelCard.read(card_path(weights_path))
    if verify and card.sha256 and sha256_of(weights_path) != card.sha256:
        raise WeightsIntegrityError(f"{weights_path}: sha256 does not match its model card")
    model = build_model(card)
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(weights_path)).items()}
    model.load_state_dict(state)
    return model.to(device).eval().requires_grad_(False), card
