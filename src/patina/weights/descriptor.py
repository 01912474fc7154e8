"""Model descriptors: a loaded network with what a pipeline needs to know to run it.

Like spandrel's descriptors, a :class:`ModelDescriptor` says what a model does (task), how it changes sizes
(scale, size multiple), whether it may be run tile by tile, how much working memory it needs per pixel (to
size tiles), and whether bfloat16 leaves its results unchanged - so pipelines stop checking card strings and
carrying measured constants. The facts per architecture are written once, in :data:`ARCHITECTURES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from torch import nn

from patina.core.errors import ParameterError
from patina.networks.upscale import CompactUpscaler
from patina.weights.card import ModelCard

NetworkT = TypeVar("NetworkT", bound=nn.Module)


def upscaler_bytes_per_pixel(network: nn.Module) -> float:
    """Peak float32 working memory of an upscaler per input window pixel, a bound on what was measured
    (2 threads, 512 px windows): a compact net holds ~3 feature maps at its working resolution and its
    output twice (x2: 221 B measured, x4: 796); the others have wide layers at up to ``scale``^2 the
    pixels (ResidualUpscaler x4: 8475 B; RRDBNet x4: 9247)."""
    scale = int(getattr(network, "scale", 1))
    widest = max((m.out_channels for m in network.modules() if isinstance(m, nn.Conv2d)), default=64)
    if isinstance(network, CompactUpscaler):
        return float(4 * (3 * widest / network.unshuffle**2 + 6 * scale**2))
    return float(4 * widest * (6 + 2 * scale**2))


@dataclass(frozen=True)
class ArchitectureTraits:
    """What holds for every model of one architecture."""

    task: str
    tiling: bool
    """Whether tiles with context give the untiled result (within 1/255)."""
    bytes_per_pixel: float | Callable[[nn.Module], float]
    """Peak float32 working memory per window pixel (a measured constant, or computed from the network)."""
    bf16_safe: bool = False
    """Whether bfloat16 on the CPU leaves the measured results unchanged (then pipelines use it there)."""


ARCHITECTURES: dict[str, ArchitectureTraits] = {
    # measured ~400 B with its damage-mask net: the pair is counted here
    "RestoreGenerator": ArchitectureTraits(task="restore", tiling=True, bytes_per_pixel=450.0),
    "DamageMaskNet": ArchitectureTraits(task="damage-mask", tiling=True, bytes_per_pixel=0.0),
    # reads a thumbnail, then per pixel: curve indices (int64), fractions, the two knots, the curved colours
    "ToneCorrector": ArchitectureTraits(task="restore-tone", tiling=True, bytes_per_pixel=80.0),
    # works on the whole picture at its render size, never tiled
    "ColorizeGenerator": ArchitectureTraits(task="colorize", tiling=False, bytes_per_pixel=0.0),
    "CompactUpscaler": ArchitectureTraits(task="upscale", tiling=True, bytes_per_pixel=upscaler_bytes_per_pixel),
    "ResidualUpscaler": ArchitectureTraits(task="upscale", tiling=True, bytes_per_pixel=upscaler_bytes_per_pixel),
    "RRDBNet": ArchitectureTraits(task="upscale", tiling=True, bytes_per_pixel=upscaler_bytes_per_pixel),
    "RetroGenerator": ArchitectureTraits(task="retro", tiling=True, bytes_per_pixel=900.0),
    # the stylize eval's scores agree to 3 digits with float32, at half the time
    "StyleTransferNet": ArchitectureTraits(task="stylize", tiling=True, bytes_per_pixel=1600.0, bf16_safe=True),
    # reads a shrunk copy of the whole photo (pipelines.faces), never tiled
    "FaceDetector": ArchitectureTraits(task="face-detect", tiling=False, bytes_per_pixel=0.0),
    # runs on aligned face crops (pipelines.faces), never tiled
    "FaceRestorer": ArchitectureTraits(task="face-restore", tiling=False, bytes_per_pixel=0.0),
}

TASK_NOUNS = {"restore": "a restoration model", "damage-mask": "a damage-mask model",
              "restore-tone": "a tone-correction model",
              "colorize": "a colorization model", "upscale": "an upscaler", "retro": "a retro model",
              "stylize": "a style transfer model", "face-detect": "a face detector",
              "face-restore": "a face restoration model"}


@dataclass(frozen=True)
class ModelDescriptor:
    """A loaded model (``network`` in eval mode) with its card and the facts a pipeline runs it by."""

    name: str
    network: nn.Module
    card: ModelCard
    task: str
    scale: int
    size_multiple: int
    tiling: bool
    bytes_per_pixel: float
    bf16_safe: bool

    @classmethod
    def of(cls, name: str, network: nn.Module, card: ModelCard) -> ModelDescriptor:
        """Describe ``network`` (built from ``card``) by its architecture's traits."""
        traits = ARCHITECTURES.get(card.arch) or ArchitectureTraits(task=card.task or card.arch, tiling=False,
                                                                     bytes_per_pixel=0.0)
        per_pixel = traits.bytes_per_pixel
        return cls(name=name, network=network, card=card, task=traits.task, scale=int(getattr(network, "scale", 1)),
                   size_multiple=int(getattr(network, "size_multiple", 1)), tiling=traits.tiling,
                   bytes_per_pixel=per_pixel(network) if callable(per_pixel) else per_pixel,
                   bf16_safe=traits.bf16_safe)

    @property
    def sha256(self) -> str:
        return self.card.sha256

    def require(self, task: str) -> ModelDescriptor:
        """Itself, or a ParameterError when the model does not do ``task``."""
        if self.task != task:
            raise ParameterError(f"{self.name} is a {self.card.arch} model, not {TASK_NOUNS.get(task, task)}")
        return self

    def network_as(self, kind: type[NetworkT]) -> NetworkT:
        """The network, or a ParameterError when it is not a ``kind``."""
        if not isinstance(self.network, kind):
            raise ParameterError(f"{self.name} is a {type(self.network).__name__}, not a {kind.__name__}")
        return self.network


__all__ = ["ARCHITECTURES", "ArchitectureTraits", "ModelDescriptor", "TASK_NOUNS", "upscaler_bytes_per_pixel"]
