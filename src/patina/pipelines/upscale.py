"""Super-resolution x2 / x4: a shipped or outside upscaler run tile by tile, straight from pixels to pixels.

    pipe = UpscalePipeline(scale=4)                          # the registered GAN model 'upscale-x4'
    pipe = UpscalePipeline(model="upscale-x4-fidelity")      # the L1 model: best PSNR, no invented detail
    pipe = UpscalePipeline(model="RealESRGAN_x4plus.pth", outscale=3.0)
    bigger = pipe.upscale_image(read_image("scan.tif"))
    tensor_out = pipe(tensor_in)                             # (N, 3, H, W) in [0, 1] -> (N, 3, sH, sW)

The network's output is blended across overlapping tiles and stored as pixels a band of rows at a time,
so a 10000 x 8000 scan needs memory for its pixels and the result's, not a full-size float buffer.
Gray stays gray and 16 bit stays 16 bit; alpha is resized on its own (bilinear), EXIF and ICC kept.
``outscale`` resizes the network's result to any other factor (Lanczos up, area down), as Real-ESRGAN does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import cv2
import torch
from torch import nn

from patina.core.errors import ParameterError
from patina.imageio import Image
from patina.imageio.convert import alpha_for_size
from patina.networks.upscale import CompactUpscaler
from patina.weights.card import ModelCard
from patina.pipelines.base import TiledPipeline, TileArg

SCALES = (2, 4)
"""Scales with a shipped model: ``upscale-x2`` and ``upscale-x4`` (and their ``-fidelity`` twins)."""

MAX_OUTSCALE = 16.0


def default_model(scale: int) -> str:
    """The registered GAN upscaler for ``scale``."""
    if isinstance(scale, bool) or scale not in SCALES:
        raise ParameterError(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale!r}")
    return f"upscale-x{scale}"


def load_upscaler(model: str, device: torch.device) -> tuple[nn.Module, ModelCard]:
    """(network, card) of a registry name, a Patina .safetensors or an outside RRDBNet / SRVGGNetCompact
    checkpoint (.pth / .pt / .safetensors); the network's ``scale`` is its upscaling factor."""
    from patina.weights import load

    network, card = load(model, device=device)
    if card.task not in ("", "upscale") or not isinstance(getattr(network, "scale", None), int):
        raise ParameterError(f"model {model!r} is a {card.task or card.arch} model, not an upscaler")
    return network, card


def _check_outscale(outscale: float | None) -> float | None:
    if outscale is None:
        return None
    if isinstance(outscale, bool) or not isinstance(outscale, (int, float)) or not math.isfinite(outscale):
        raise ParameterError(f"outscale must be a number, got {outscale!r}")
    if not 0 < outscale <= MAX_OUTSCALE:
        raise ParameterError(f"outscale must be above 0 and at most {MAX_OUTSCALE:g}, got {outscale}")
    return float(outscale)


class UpscalePipeline(TiledPipeline):
    """Upscale photographs with a super-resolution network.

    Args:
        model: registry name ('upscale-x4', 'upscale-x2', their '-fidelity' twins) or a weights file:
            a Patina .safetensors with its card, or an outside Real-ESRGAN / ESRGAN RRDBNet or
            SRVGGNetCompact checkpoint; default: ``default_model(scale)``.
        scale: 2 or 4; picks the registered model when ``model`` is not given. With a model of another
            scale, the result is resized to ``scale`` (as if ``outscale`` were ``scale``).
        outscale: final size factor (any number up to 16): the network's result is resized to
            ``round(size * outscale)``; default: the network's scale.
        device: 'auto', 'cpu', 'cuda', 'cuda:1', 'mps'; on CUDA the network runs in bf16 / fp16.
        tile: 'auto' (sized to free memory), None / 0 (whole image at once) or a tile side in pixels.
        overlap: input pixels by which tiles overlap and are cross-faded.
        context: extra input pixels each side of a tile, computed and discarded (default 48, enough for
            the tiled result to match the untiled one within 1/255 with the shipped models).
    """

    def __init__(self, *, model: str | None = None, scale: int | None = None, outscale: float | None = None,
                 device: str | torch.device = "auto", tile: TileArg = "auto", overlap: int = 16,
                 context: int | None = 48) -> None:
        if model is None:
            model = default_model(4 if scale is None else scale)
        elif scale is not None:
            default_model(scale)  # validates
        self.outscale = _check_outscale(outscale)
        super().__init__(device=device, tile=tile, overlap=overlap, context=context)
        network, self.card = load_upscaler(str(model), self.device)
        self.scale = int(network.scale)
        self.model_name = str(model)
        if self.outscale is None and scale is not None and scale != self.scale:
            self.outscale = float(scale)
        self.network = self.prepare(network)
        self.bytes_per_pixel = working_bytes_per_pixel(self.network, self.scale)

    def upscale_tile(self, tile: torch.Tensor) -> torch.Tensor:
        """One float32 tile on the device -> the network's result, clamped to [0, 1]."""
        return self.network(self.to_model_input(tile)).float().clamp_(0.0, 1.0)

    def __call__(self, image: torch.Tensor, on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] (float, or uint8/uint16 read per tile) -> (N, 3, sH, sW) float32 on the CPU,
        at the network's scale (``outscale`` applies to images, see :meth:`upscale_image`)."""
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
            raise ParameterError(f"expected an (N, 3, H, W) image tensor, got shape {tuple(getattr(image, 'shape', ()))}")
        result = self.run_tiled(self.upscale_tile, image.cpu(), on_tile=on_tile)
        assert result is not None
        return result

    def upscale_image(self, image: Image, on_tile: Callable[[int, int], None] | None = None) -> Image:
        """Upscale an :class:`Image`: bit depth, gray/RGB, EXIF and ICC kept; alpha resized on its own."""
        return resize_to_outscale(self.run_to_image(self.upscale_tile, image, on_tile=on_tile), image,
                                  self.outscale)


def resize_to_outscale(result: Image, original: Image, outscale: float | None) -> Image:
    """``result`` resized to ``round(original size * outscale)`` (Lanczos up, area down); itself when the size
    already matches or ``outscale`` is None."""
    if outscale is None:
        return result
    width, height = max(1, round(original.width * outscale)), max(1, round(original.height * outscale))
    if (width, height) == (result.width, result.height):
        return result
    shrinking = width < result.width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4
    pixels = cv2.resize(result.pixels, (width, height), interpolation=interpolation)
    return dataclasses.replace(result, pixels=pixels.reshape(height, width, -1),
                               alpha=alpha_for_size(original.alpha, height, width))


def working_bytes_per_pixel(network: nn.Module, scale: int) -> float:
    """Peak float32 working memory per input window pixel (sizes tiles), a bound on what was measured
    (2 threads, 512 px windows): a compact net holds ~3 feature maps at its working resolution and its
    output twice (x2: 221 B measured, x4: 796); the others have wide layers at up to ``scale``^2 the
    pixels (ResidualUpscaler x4: 8475 B; RRDBNet x4: 9247)."""
    widest = max((m.out_channels for m in network.modules() if isinstance(m, nn.Conv2d)), default=64)
    if isinstance(network, CompactUpscaler):
        return float(4 * (3 * widest / network.unshuffle**2 + 6 * scale**2))
    return float(4 * widest * (6 + 2 * scale**2))


__all__ = ["SCALES", "UpscalePipeline", "default_model", "load_upscaler", "resize_to_outscale"]
