"""Colorization of black-and-white photographs: chroma from the GAN at a working size, luminance from the scan.

    pipe = ColorizePipeline()                        # registered model, device 'auto', 384 px working size
    coloured = pipe.colorize_image(read_image("scan.tif"))
    tensor_out = pipe(tensor_in)                     # (1, 3, H, W) float in [0, 1] -> same

The photo is reduced to its CIE L* (so sepia, toned and faded-colour prints are desaturated first),
shrunk to ``render_size`` on its long side, and the generator predicts (a*, b*) there. The chroma is
upsampled (bilinear) to full size and joined with the full-resolution L* of the original, so detail,
grain and tone of the scan are untouched: only colour is added. Large images are composed in row strips.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from patina.core.errors import ParameterError
from patina.core.options import AUTO, Options, option
from patina.core.tensor import from_float01, to_float01
from patina.imageio import Image
from patina.networks.colorize import ChromaDecoding, ColorizeGenerator
from patina.ops.color import join_lab_in_gamut, lightness
from patina.pipelines.base import PhotoPipeline, ProgressFn, TileProgressFn, model_option, tile_progress
from patina.pipelines.tiling import pad_to_multiple

DEFAULT_RENDER_SIZE = 384
"""Long side, in pixels, at which the generator works (it was trained on photos seen at about this scale)."""

STRIP_ROWS = 256
"""Rows composed at a time: bounds the float temporaries for very large scans."""


@dataclass(frozen=True)
class ColorizeOptions(Options):
    """How to colorize: every default, type and range of colorization, written once."""

    pipeline: ClassVar[str] = "colorize"

    model: str = model_option("colorize", "Colorize model")
    render_size: int = option(
        DEFAULT_RENDER_SIZE, "Long side (px) of the working image the model colours; the result keeps the full size. "
                             "Larger gives finer colour boundaries, smaller more coherent colour.",
        minimum=32, maximum=4096)
    strength: float = option(1.0, "Chroma scale: 0 black-and-white, 1 the model's colours, up to 2 more saturated.",
                             minimum=0, maximum=2)
    rebalance: float | str = option(
        AUTO, "How much rarer colours are favoured over common dull ones (0: not at all, 1: by their rarity in "
              "the training photos); auto: the model's calibrated value.", minimum=0, maximum=4, auto=True)
    temperature: float | str = option(
        AUTO, "Boldness of the colours: 1 the mean of the plausible colours, lower picks the likeliest; auto: "
              "the model's calibrated value.", minimum=0.05, maximum=4, auto=True)
    chroma_gain: float | str = option(
        AUTO, "Scale of a regression model's chroma; auto: the model's calibrated value.", minimum=0, maximum=4,
        auto=True)


class ColorizePipeline(PhotoPipeline):
    """Colorize black-and-white (or toned, or faded colour) photographs.

    Built from :class:`ColorizeOptions` (or the same names as keyword arguments): ``model`` (registry name
    or .safetensors path of a ColorizeGenerator), ``render_size`` (long side of the working image the
    generator sees; the photo is never enlarged), ``strength`` (scales the predicted chroma, 0..2) and the
    decoding (``rebalance``, ``temperature``, ``chroma_gain``: 'auto' takes the model's calibrated values).
    ``device``: 'auto', 'cpu', 'cuda', 'cuda:1', 'mps'.
    """

    name = "colorize"
    description = "Colorization GAN: colour from the model, luminance and detail from the photo"
    Options = ColorizeOptions
    options: ColorizeOptions
    makes_colour = True

    def __init__(self, options: ColorizeOptions | None = None, *, device: str | torch.device = "auto",
                 **values: Any) -> None:
        self.options = opts = self.options_from(options, values)
        self.render_size, self.strength = opts.render_size, opts.strength
        super().__init__(device=device, tile=None, overlap=0, context=0)  # one pass at the working size
        self.model_name = str(opts.model)
        self.generator = self.load_model("generator", self.model_name, "colorize", ColorizeGenerator)
        calibrated = self.generator.calibrated
        self.decoding = ChromaDecoding(
            rebalance=calibrated.rebalance if opts.rebalance == AUTO else opts.rebalance,
            temperature=calibrated.temperature if opts.temperature == AUTO else opts.temperature,
            gain=calibrated.gain if opts.chroma_gain == AUTO else opts.chroma_gain)

    def resolved_options(self) -> ColorizeOptions:
        decoding = self.decoding
        return dataclasses.replace(self.options, rebalance=decoding.rebalance, temperature=decoding.temperature,
                                   chroma_gain=decoding.gain)

    # -- chroma at the working size ----------------------------------------------------------------
    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the working image: the photo shrunk to ``render_size`` on its long side."""
        scale = min(1.0, self.render_size / max(height, width))
        return max(1, round(height * scale)), max(1, round(width * scale))

    def shrink(self, pixels: np.ndarray) -> np.ndarray:
        """(H, W, C) pixels (uint8, uint16 or float) reduced to the working size by area averaging."""
        height, width = pixels.shape[:2]
        small_h, small_w = self.working_size(height, width)
        if (small_h, small_w) == (height, width):
            return pixels
        return cv2.resize(pixels, (small_w, small_h), interpolation=cv2.INTER_AREA)

    def chroma(self, small_rgb: torch.Tensor) -> torch.Tensor:
        """(a*, b*) / 100 predicted for a working-size sRGB image (1, 3, h, w) -> (1, 2, h, w) float32, CPU."""
        height, width = small_rgb.shape[-2:]
        light = pad_to_multiple(lightness(small_rgb), self.multiple)
        with self.inference():
            predicted: torch.Tensor = self.generator(self.to_model_input(light.to(self.device)), self.decoding).float()
        chroma: torch.Tensor = predicted[..., :height, :width].cpu().clamp(-1.28, 1.28) * self.strength
        return chroma

    # -- composition at full size --------------------------------------------------------------------
    @staticmethod
    def compose(rgb: torch.Tensor, chroma: torch.Tensor, rows: tuple[int, int], full_height: int) -> torch.Tensor:
        """Rows ``rows`` of the colorized photo: L* of ``rgb`` (those rows, (1, 3, r, W) float) joined with
        ``chroma`` (the whole working-size map) upsampled bilinearly to (full_height, W) - the same values
        ``F.interpolate(..., align_corners=False)`` of the whole map gives, computed for these rows only.
        Colours outside sRGB lose chroma, never lightness."""
        top, bottom = rows
        width = rgb.shape[-1]
        ys = (torch.arange(top, bottom, dtype=torch.float32) + 0.5) / full_height * 2 - 1
        xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]
        upsampled = F.grid_sample(chroma, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return join_lab_in_gamut(lightness(rgb), upsampled)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """Colorize (1, 3, H, W) float RGB in [0, 1] -> float32 (1, 3, H, W) on the CPU."""
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[:2] != (1, 3):
            shape = tuple(getattr(image, "shape", ()))
            raise ParameterError(f"expected a (1, 3, H, W) image tensor, got shape {shape}")
        image = image.detach().float().cpu()
        height = image.shape[-2]
        small = self.shrink(image[0].permute(1, 2, 0).numpy())
        return self.compose(image, self.chroma(_to_tensor(small)), (0, height), height)

    def process(self, image: Image, on_progress: ProgressFn | None = None) -> Image:
        return self.colorize_image(image, on_progress=tile_progress(on_progress))

    def colorize_image(self, image: Image, on_progress: TileProgressFn | None = None) -> Image:
        """Colorize an :class:`Image`: the result is RGB at the input's size and bit depth, with its alpha
        and EXIF; an RGB input's ICC profile is kept (a gray profile cannot describe colour and is dropped).
        ``on_progress(done, total)`` is called after each strip of rows."""
        pixels = image.pixels
        height, width = pixels.shape[:2]
        chroma = self.chroma(_to_tensor(self.shrink(pixels)))
        out = np.empty((height, width, 3), dtype=pixels.dtype)
        strips = range(0, height, STRIP_ROWS)
        for done, top in enumerate(strips, start=1):
            bottom = min(height, top + STRIP_ROWS)
            strip = self.compose(_to_tensor(pixels[top:bottom]), chroma, (top, bottom), height)
            out[top:bottom] = from_float01(strip[0].permute(1, 2, 0).numpy(), pixels.dtype)
            if on_progress is not None:
                on_progress(done, len(strips))
        return Image(pixels=out, alpha=None if image.alpha is None else image.alpha.copy(), exif=image.exif,
                     icc_profile=None if image.is_gray else image.icc_profile, source_format=image.source_format)


def _to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8/uint16 pixels (C = 1 or 3, or 2-D gray) -> (1, 3, H, W) float32 in [0, 1]."""
    data = to_float01(pixels if pixels.ndim == 3 else pixels[:, :, None])  # float input is clipped to [0, 1]
    tensor = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)))[None]
    return tensor.expand(-1, 3, -1, -1) if tensor.shape[1] == 1 else tensor


__all__ = ["DEFAULT_RENDER_SIZE", "ColorizeOptions", "ColorizePipeline"]
