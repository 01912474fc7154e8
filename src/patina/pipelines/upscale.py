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
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import torch

from patina.core.errors import ParameterError
from patina.core.options import OptionError, Options, option
from patina.imageio import Image
from patina.imageio.convert import alpha_for_size
from patina.pipelines.base import PhotoPipeline, check_tile, ProgressFn, TileProgressFn, tile_option, tile_progress
from patina.weights import REGISTRY, ModelDescriptor, load

SCALES = (2, 4)
"""Scales with a shipped model: ``upscale-x2`` and ``upscale-x4`` (and their ``-fidelity`` twins)."""

MAX_OUTSCALE = 16.0


def default_model(scale: int) -> str:
    """The default upscaler for ``scale``: the student distilled from realesr-general-x4v3."""
    if isinstance(scale, bool) or scale not in SCALES:
        raise ParameterError(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale!r}")
    return f"upscale-x{scale}"


@dataclass(frozen=True)
class UpscaleOptions(Options):
    """How to upscale: every default, type and range of super-resolution, written once."""

    pipeline: ClassVar[str] = "upscale"

    scale: int | None = option(
        None, "2 or 4 (default 4): picks the registered upscale-x2 / upscale-x4; with a model of another scale, "
              "its result is resized to this one.", choices=SCALES, cli_short="-s")
    outscale: float | None = option(
        None, "Final size factor, any number (e.g. 3 or 1.5): the model's result is resized to it.",
        minimum=0.01, maximum=MAX_OUTSCALE)
    model: str | None = option(
        None, "Registry name (upscale-x4, upscale-x4-fidelity, ...) or a weights file: a Patina .safetensors, "
              "or a Real-ESRGAN/ESRGAN RRDBNet or SRVGGNetCompact .pth/.safetensors.", weights=True)
    fidelity: bool = option(False, "Use the fidelity model (L1: most faithful, softer), not the default distilled one.")
    denoise: float | None = option(
        None, "Denoise strength, 0..1 (default 1): the weights of upscale-xS (1: noise and JPEG artefacts "
              "removed) blended with its weak-denoise twin upscale-xS-wdn (0: more grain and detail kept).",
        minimum=0.0, maximum=1.0)
    tile: int | str | None = tile_option("Tile side in input pixels, 'auto' (sized to free memory) or 0 (whole image).")
    overlap: int = option(16, "Input pixels by which neighbouring tiles overlap.", minimum=0)
    context: int | None = option(48, "Extra input pixels each side of a tile, computed and discarded.", minimum=0)

    def check(self) -> None:
        check_tile(self.tile, self.overlap)
        if self.fidelity and self.model is not None:
            raise OptionError("fidelity", "give either model or fidelity, not both")
        default = f"upscale-x{self.scale or 4}"
        if self.denoise is not None and (self.fidelity or self.model not in (None, default)):
            raise OptionError("denoise", f"blends the default model {default} with {default}-wdn: give no other "
                                         "model, nor fidelity, with it")
        if self.denoise is not None and f"{default}-wdn" not in REGISTRY:
            raise OptionError("denoise", f"{default} has no weak-denoise twin to blend with")


class UpscalePipeline(PhotoPipeline):
    """Upscale photographs with a super-resolution network.

    Built from :class:`UpscaleOptions` (or the same names as keyword arguments): ``model`` (a registry
    name - 'upscale-x4', 'upscale-x2', their '-fidelity' twins - or a weights file: a Patina .safetensors
    with its card, or an outside Real-ESRGAN / ESRGAN RRDBNet or SRVGGNetCompact checkpoint; default: the
    registered default of ``scale``, a student distilled from realesr-general-x4v3, or its fidelity twin
    with ``fidelity``), ``scale`` (2 or 4; with a
    model of another scale the result is resized to it), ``outscale`` (final size factor up to 16: the
    network's result is resized to ``round(size * outscale)``), ``denoise`` (0..1, with the default models:
    network interpolation with the weak-denoise twin ``upscale-xS-wdn``), ``tile`` / ``overlap`` / ``context``
    (context 48 keeps the tiled result within 1/255 of the untiled one with the shipped models).
    ``device``: 'auto', 'cpu', 'cuda', 'cuda:1', 'mps'; on CUDA the network runs in bf16 / fp16.
    """

    name = "upscale"
    description = "Super-resolution x2 / x4: distilled (real photos) or fidelity (L1) upscalers, or outside checkpoints"
    Options = UpscaleOptions
    options: UpscaleOptions

    def __init__(self, options: UpscaleOptions | None = None, *, device: str | torch.device = "auto",
                 **values: Any) -> None:
        self.options = opts = self.options_from(options, values)
        self.model_name = opts.model or default_model(opts.scale or 4) + ("-fidelity" if opts.fidelity else "")
        self.outscale = opts.outscale
        super().__init__(device=device, tile=opts.tile, overlap=opts.overlap, context=opts.context)
        if opts.denoise is not None and opts.denoise < 1.0:
            upscaler = self._blend_with_weak_denoise(opts.denoise)
        else:
            upscaler = self.use_model("upscaler", self.model_name, "upscale")
        self.network, self.scale = upscaler.network, upscaler.scale
        if self.outscale is None and opts.scale is not None and opts.scale != self.scale:
            self.outscale = float(opts.scale)

    def _blend_with_weak_denoise(self, strength: float) -> ModelDescriptor:
        """The default model with its weights moved ``1 - strength`` of the way to its weak-denoise twin's
        (network interpolation, as Real-ESRGAN's ``-dn``); both are recorded as used."""
        upscaler = load(self.model_name, task="upscale")
        twin = load(f"{self.model_name}-wdn", task="upscale")
        twin_state = twin.network.state_dict()
        blended = {key: strength * value + (1.0 - strength) * twin_state[key]
                   for key, value in upscaler.network.state_dict().items()}
        upscaler.network.load_state_dict(blended)
        self.use_models(("upscaler", upscaler), ("weak-denoise twin", twin))
        return upscaler

    def resolved_options(self) -> UpscaleOptions:
        resolved: UpscaleOptions = super().resolved_options()
        return dataclasses.replace(resolved, model=self.model_name, fidelity=False)

    def upscale_tile(self, tile: torch.Tensor) -> torch.Tensor:
        """One float32 tile on the device -> the network's result, clamped to [0, 1]."""
        result: torch.Tensor = self.network(self.to_model_input(tile))
        return result.float().clamp_(0.0, 1.0)

    def __call__(self, image: torch.Tensor, on_tile: TileProgressFn | None = None) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] (float, or uint8/uint16 read per tile) -> (N, 3, sH, sW) float32 on the CPU,
        at the network's scale (``outscale`` applies to images, see :meth:`upscale_image`)."""
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[1] != 3:
            shape = tuple(getattr(image, "shape", ()))
            raise ParameterError(f"expected an (N, 3, H, W) image tensor, got shape {shape}")
        return self.run_tiled(self.upscale_tile, image.cpu(), on_tile=on_tile)

    def upscale_image(self, image: Image, on_tile: TileProgressFn | None = None) -> Image:
        """Upscale an :class:`Image`: bit depth, gray/RGB, EXIF and ICC kept; alpha resized on its own."""
        return resize_to_outscale(self.run_to_image(self.upscale_tile, image, on_tile=on_tile), image,
                                  self.outscale)

    def process(self, image: Image, on_progress: ProgressFn | None = None) -> Image:
        return self.upscale_image(image, on_tile=tile_progress(on_progress))


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


__all__ = ["SCALES", "UpscaleOptions", "UpscalePipeline", "default_model", "resize_to_outscale"]
