"""Model registry, safetensors weights and JSON model cards."""

from patina.weights.card import ModelCard
from patina.weights.descriptor import ModelDescriptor
from patina.weights.files import build_model, card_path, load_model, save_model, sha256_of
from patina.weights.registry import REGISTRY, RegistryEntry, cards, load, resolve

__all__ = ["REGISTRY", "ModelCard", "ModelDescriptor", "RegistryEntry", "build_model", "card_path", "cards", "load",
           "load_model", "resolve", "save_model", "sha256_of"]
