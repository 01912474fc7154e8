"""Colorization of black-and-white photographs: chroma from the GAN at a working size, luminance from the scan.

    pipe = ColorizePipeline()                        # registered model, device 'auto', 384 px working size
    coloured = pipe.colorize_image(read_image("scan.tif"))
    tensor_out = pipe(tensor_in)                     # (1, 3, H, W) float in [0, 1] -> same

The photo is reduced to its CIE L* (so sepia, toned and faded-colour prints are desaturated first),
shrunk to ``render_size`` on its long side, and the generator predicts (a*, b*) there. The chroma is
upsampled (bilinear) to full size and joined with the full-resolution L* of the original, so detail,
grain and tone of the scan are untouched: only colour is added. Large images are composed in row strips.

A photo that is already in colour is copied through unchanged, with a note (:attr:`PhotoPipeline.notes`),
unless ``force``: the measured test of :mod:`patina.looks.colour_test` counts gray, toned, faded and
stained monochrome prints as black and white. The tensor call (``pipe(tensor)``) always colorizes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from patina.core.errors import ParameterError
from patina.core.options import AUTO, OptionError, Options, option
from patina.core.tensor import from_float01, to_float01
from patina.imageio import Image, image_to_tensor
from patina.looks.colour_test import chroma_statistics
from patina.looks.match import at_side
from patina.networks.colorize import ChromaDecoding, ColorizeGenerator
from patina.ops.color import join_lab_in_gamut, lightness, split_lab
from patina.pipelines.base import PhotoPipeline, ProgressFn, TileProgressFn, model_option, tile_progress
from patina.pipelines.tiling import pad_to_multiple

DEFAULT_RENDER_SIZE = 384
"""Long side, in pixels, at which the generator works (it was trained on photos seen at about this scale)."""

STRIP_ROWS = 256
"""Rows composed at a time: bounds the float temporaries for very large scans."""

REFERENCE_SIDE = 256
"""Long side (px) at which a --like photo's colours are counted."""
MAX_CHROMA_MATCH = 3.0
"""Largest factor by which a --like reference's colourfulness may scale the predicted chroma."""


@dataclass(frozen=True)
class Guidance:
    """What steers the colours toward a reference: bin log-weights for the decoding, and (with a reference
    photo) its mean chroma, which the result's mean chroma is scaled to."""

    weights: torch.Tensor
    mean_chroma: float | None = None

    def match(self, chroma: torch.Tensor) -> torch.Tensor:
        """``chroma`` (1, 2, h, w) scaled so that its mean magnitude is the reference's (at most by
        :data:`MAX_CHROMA_MATCH`); unchanged without a reference photo."""
        if self.mean_chroma is None:
            return chroma
        factor = self.mean_chroma / float(torch.hypot(chroma[:, 0], chroma[:, 1]).mean().clamp_min(1e-4))
        return chroma * min(factor, MAX_CHROMA_MATCH)


def parse_palette(entries: tuple[str, ...] | None) -> list[tuple[int, int, int]]:
    """'#8a5a3c' (or '8a5a3c'; several per entry, comma-separated) -> [(138, 90, 60)]; a ValueError names a bad one."""
    colours = []
    for entry in entries or ():
        for text in (part.strip() for part in entry.split(",")):
            code = text.removeprefix("#")
            if len(code) != 6 or any(c not in "0123456789abcdefABCDEF" for c in code):
                raise ValueError(f"{text!r} is not a colour: write it as #rrggbb, e.g. #8a5a3c")
            colours.append((int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)))
    return colours


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
    like: tuple[int | str, ...] = option(
        (), "A colour photo (ideally of the same scene or era) whose colours to lean toward: its (a*, b*) "
            "histogram re-weights the model's colour choices. Needs a classification model (the default).",
        reference=True, max_items=1)
    palette: tuple[str, ...] | None = option(
        None, "Colours to lean toward, as #rrggbb (comma-separated, or repeat the flag); neutral grays stay "
            "possible. With like, both count.", max_items=64)
    guide_strength: float = option(2.0, "How strongly like / palette steer the colours: 0 not at all, 1 by the "
                                        "reference's colour frequencies, higher more strictly (up to 4).",
                                   minimum=0, maximum=4)
    force: bool = option(False, "Colorize a photo that is already in colour too (its colours are replaced). Without "
                                "it a colour photo is copied through unchanged, with a note; toned, faded and "
                                "stained black-and-white prints are colorized either way.")

    def check(self) -> None:
        try:
            parse_palette(self.palette)
        except ValueError as exc:
            raise OptionError("palette", f"palette: {exc}") from None


class ColorizePipeline(PhotoPipeline):
    """Colorize black-and-white (or toned, or faded colour) photographs.

    Built from :class:`ColorizeOptions` (or the same names as keyword arguments): ``model`` (registry name
    or .safetensors path of a ColorizeGenerator), ``render_size`` (long side of the working image the
    generator sees; the photo is never enlarged), ``strength`` (scales the predicted chroma, 0..2) and the
    decoding (``rebalance``, ``temperature``, ``chroma_gain``: 'auto' takes the model's calibrated values).
    ``like`` (a colour reference: an :class:`Image` or (1, 3, H, W) tensor) and ``palette`` steer the colours
    toward theirs (``guide_strength``); ``force`` colorizes colour photos too.
    ``device``: 'auto', 'cpu', 'cuda', 'cuda:1', 'mps'.
    """

    name = "colorize"
    description = "Colorization GAN: colour from the model, luminance and detail from the photo"
    Options = ColorizeOptions
    options: ColorizeOptions
    makes_colour = True

    def __init__(self, options: ColorizeOptions | None = None, *, like: Image | torch.Tensor | None = None,
                 device: str | torch.device = "auto", **values: Any) -> None:
        self.options = opts = self.options_from(options, values)
        self.render_size, self.strength = opts.render_size, opts.strength
        super().__init__(device=device, tile=None, overlap=0, context=0)  # one pass at the working size
        self.model_name = str(opts.model)
        self.generator = self.load_model("generator", self.model_name, "colorize", ColorizeGenerator)
        calibrated = self.generator.calibrated
        if opts.like and like is None:
            raise ParameterError("like names a reference photo: give its image too")
        self.guidance = self.guide(like, parse_palette(opts.palette))
        self.decoding = ChromaDecoding(
            rebalance=calibrated.rebalance if opts.rebalance == AUTO else opts.rebalance,
            temperature=calibrated.temperature if opts.temperature == AUTO else opts.temperature,
            gain=calibrated.gain if opts.chroma_gain == AUTO else opts.chroma_gain)

    def guide(self, like: Image | torch.Tensor | None,
              palette: Sequence[tuple[int, int, int]] = ()) -> Guidance | None:
        """The guidance from a reference photo's colours and a palette's (plus neutral gray, so that gray stays
        possible), at ``guide_strength``; a reference's colours steer the parts of the photo as light as
        themselves most, a palette's every part alike (see :meth:`ColorizeGenerator.guide`). None without either."""
        if like is None and not palette:
            return None
        lights, colours, mean_chroma = [], [], None
        if like is not None:
            reference = image_to_tensor(like) if isinstance(like, Image) else like.float()
            if reference.ndim != 4 or reference.shape[:2] != (1, 3):
                raise ParameterError("like must be a (1, 3, H, W) image tensor or an Image")
            small = at_side(reference, REFERENCE_SIDE) if max(reference.shape[-2:]) > REFERENCE_SIDE else reference
            light, chroma = split_lab(small.clamp(0, 1))
            lights.append(light.flatten())
            colours.append(chroma.flatten(2)[0].T)
            mean_chroma = float(colours[0].norm(dim=1).mean())
        if palette:
            swatches = torch.tensor(palette, dtype=torch.float32).T.reshape(1, 3, 1, -1) / 255
            colours += [split_lab(swatches)[1].flatten(2)[0].T, torch.zeros(1, 2)]  # and neutral gray
            lights.append(torch.full((len(palette) + 1,), math.nan))  # at any lightness
        try:
            weights = self.generator.guide(torch.cat(colours), self.options.guide_strength,
                                           lightness=torch.cat(lights) if like is not None else None)
        except ValueError as exc:
            raise ParameterError(f"like / palette: {exc}") from None
        return Guidance(weights, mean_chroma)

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

    def chroma(self, small_rgb: torch.Tensor, guidance: Guidance | None = None) -> torch.Tensor:
        """(a*, b*) / 100 predicted for a working-size sRGB image (1, 3, h, w) -> (1, 2, h, w) float32, CPU
        (with the pipeline's guidance unless another is given)."""
        height, width = small_rgb.shape[-2:]
        light = pad_to_multiple(lightness(small_rgb), self.multiple)
        guidance = guidance or self.guidance
        decoding = self.decoding if guidance is None else dataclasses.replace(self.decoding, guide=guidance.weights)
        with self.inference():
            predicted: torch.Tensor = self.generator(self.to_model_input(light.to(self.device)), decoding).float()
        chroma: torch.Tensor = predicted[..., :height, :width].cpu()
        if guidance is not None:
            chroma = guidance.match(chroma)
        chroma = chroma.clamp(-1.28, 1.28) * self.strength
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

    def __call__(self, image: torch.Tensor, like: torch.Tensor | None = None) -> torch.Tensor:
        """Colorize (1, 3, H, W) float RGB in [0, 1] -> float32 (1, 3, H, W) on the CPU; ``like``: a colour
        reference for this call only (instead of the pipeline's)."""
        if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[:2] != (1, 3):
            shape = tuple(getattr(image, "shape", ()))
            raise ParameterError(f"expected a (1, 3, H, W) image tensor, got shape {shape}")
        image = image.detach().float().cpu()
        height = image.shape[-2]
        small = self.shrink(image[0].permute(1, 2, 0).numpy())
        guidance = None if like is None else self.guide(like)
        return self.compose(image, self.chroma(_to_tensor(small), guidance), (0, height), height)

    def process(self, image: Image, on_progress: ProgressFn | None = None) -> Image:
        return self.colorize_image(image, on_progress=tile_progress(on_progress))

    def colorize_image(self, image: Image, on_progress: TileProgressFn | None = None) -> Image:
        """Colorize an :class:`Image`: the result is RGB at the input's size and bit depth, with its alpha
        and EXIF; an RGB input's ICC profile is kept (a gray profile cannot describe colour and is dropped).
        ``on_progress(done, total)`` is called after each strip of rows. A colour photo is returned as it is
        (a copy) unless ``force``; :attr:`notes` says so."""
        pixels = image.pixels
        height, width = pixels.shape[:2]
        small = _to_tensor(self.shrink(pixels))
        self.notes = []
        if not self.options.force and not image.is_gray:
            measured = chroma_statistics(small)
            if measured.is_colour:
                self.notes = [f"already a colour photo, copied through unchanged (force colorizes it): "
                              f"{measured.describe()}"]
                return dataclasses.replace(image, pixels=pixels.copy(),
                                           alpha=None if image.alpha is None else image.alpha.copy())
        chroma = self.chroma(small)
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
