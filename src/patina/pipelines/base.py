"""Plumbing shared by the image-to-image pipelines: device, tile size, padding, tiling, autocast.

A pipeline subclasses :class:`TiledPipeline`, loads its networks onto ``self.device`` with
:meth:`TiledPipeline.prepare`, and runs a per-tile function through :meth:`TiledPipeline.run_tiled`;
everything about tiles, memory, reduced precision and no-grad mode lives here, once.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from patina.core.device import autocast_dtype, select_device
from patina.core.errors import ParameterError
from patina.imageio import Image, tensor_to_image
from patina.imageio.convert import alpha_for_size
from patina.pipelines.tiling import RowSink, auto_tile_size, round_up, tiled_apply

CONVERT_ROWS = 256
"""Rows turned into pixels at a time: bounds the float temporaries of very large results."""

TileArg = int | str | None
"""How a caller asks for tiles: 'auto' (sized to free memory), None / 0 / '0' (whole image), or pixels."""


def parse_tile(tile: TileArg) -> int | str | None:
    """Validate a tile argument: returns 'auto', None (no tiling) or a positive int."""
    if tile is None:
        return None
    if isinstance(tile, str):
        text = tile.strip().lower()
        if text == "auto":
            return "auto"
        if text in ("0", "none", "off"):
            return None
        try:
            tile = int(text)
        except ValueError:
            raise ParameterError(f"tile must be 'auto', 0 (no tiling) or a size in pixels, got {tile!r}") from None
    if isinstance(tile, bool) or not isinstance(tile, int):
        raise ParameterError(f"tile must be 'auto', 0 (no tiling) or a size in pixels, got {tile!r}")
    if tile == 0:
        return None
    if tile < 0:
        raise ParameterError(f"tile must be 'auto', 0 (no tiling) or a positive size in pixels, got {tile}")
    return tile


def image_view(pixels: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8/uint16 pixels as a (1, 3, H, W) tensor view, without a copy (gray is broadcast)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    view = torch.from_numpy(pixels).permute(2, 0, 1)[None]
    return view.expand(-1, 3, -1, -1) if view.shape[1] == 1 else view


class PixelSink:
    """Collects the float rows of a tiled result as the pixels of an :class:`Image` like ``like``: its bit
    depth, gray or RGB, EXIF, ICC profile, and its alpha resized (bilinear) to the result's size.

    The pixels are allocated once at the result's size; rows arrive a band at a time and are converted
    ``CONVERT_ROWS`` at a time, so a huge result never exists as a full-size float tensor.
    """

    def __init__(self, like: Image, height: int, width: int) -> None:
        self.like = like
        self.pixels = np.empty((height, width, like.pixels.shape[2]), dtype=like.pixels.dtype)
        self.rows_done = 0
        self._strip_like = Image(pixels=np.zeros((1, 1, like.pixels.shape[2]), dtype=like.pixels.dtype))

    def __call__(self, top: int, rows: torch.Tensor) -> None:
        for start in range(0, rows.shape[-2], CONVERT_ROWS):
            strip = rows[..., start:start + CONVERT_ROWS, :]
            converted = tensor_to_image(strip, like=self._strip_like).pixels
            self.pixels[top + start:top + start + converted.shape[0]] = converted
        self.rows_done = max(self.rows_done, top + rows.shape[-2])

    def image(self) -> Image:
        """The finished image (every row must have arrived)."""
        height, width = self.pixels.shape[:2]
        if self.rows_done != height:
            raise RuntimeError(f"only {self.rows_done} of {height} rows were produced")
        return Image(pixels=self.pixels, alpha=alpha_for_size(self.like.alpha, height, width), exif=self.like.exif, icc_profile=self.like.icc_profile,
                     source_format=self.like.source_format)


class TiledPipeline:
    """Base of the pipelines: owns the device, the tiling parameters and the inference context.

    Subclasses set ``bytes_per_pixel`` (peak float32 working memory of their networks per window pixel,
    used to size tiles automatically), ``scale`` (output pixels per input pixel) and ``multiple`` (the
    size multiple the networks need), and call :meth:`run_tiled` with a function that processes one
    tile already on the device.
    """

    bytes_per_pixel: float = 1024.0
    scale: int = 1
    cpu_bf16: bool = False
    """Autocast to bfloat16 on CPUs that compute it natively (:func:`patina.core.device.fast_cpu_bf16`); set
    by pipelines whose measured results bf16 does not change."""

    def __init__(self, *, device: str | torch.device = "auto", tile: TileArg = "auto", overlap: int = 64,
                 context: int | None = None) -> None:
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.tile = parse_tile(tile)
        if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
            raise ParameterError(f"overlap must be a non-negative number of pixels, got {overlap!r}")
        if context is not None and (isinstance(context, bool) or not isinstance(context, int) or context < 0):
            raise ParameterError(f"context must be a non-negative number of pixels, got {context!r}")
        if isinstance(self.tile, int) and self.tile <= overlap:
            raise ParameterError(f"tile ({self.tile} px) must be larger than the overlap ({overlap} px)")
        self.overlap = overlap
        self.context = overlap if context is None else context
        self.multiple = 1
        self.autocast = autocast_dtype(self.device, cpu_bf16=self.cpu_bf16)

    # -- networks --------------------------------------------------------------------------------
    def prepare(self, module: nn.Module) -> nn.Module:
        """Put a network in inference form on the device (channels-last on CPU: about 1.5x faster)."""
        module = module.to(self.device).eval().requires_grad_(False)
        if self.device.type == "cpu":
            module = module.to(memory_format=torch.channels_last)
        self.multiple = math.lcm(self.multiple, int(getattr(module, "size_multiple", 1)))
        return module

    def to_model_input(self, tile: torch.Tensor) -> torch.Tensor:
        """A float32 tile as the networks like it on this device."""
        if self.device.type == "cpu":
            return tile.contiguous(memory_format=torch.channels_last)
        return tile

    @contextlib.contextmanager
    def inference(self) -> Iterator[None]:
        """No autograd, in :meth:`precision`."""
        with torch.inference_mode(), self.precision():
            yield

    def precision(self) -> contextlib.AbstractContextManager[object]:
        """Autocast to bf16/fp16 on CUDA (and to bf16 on the CPU where ``cpu_bf16``); float32 otherwise."""
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast)

    # -- tiling ----------------------------------------------------------------------------------
    def tile_size(self) -> int | None:
        """The tile side for the next image: the fixed one, None (whole image) or sized to free memory."""
        if self.tile != "auto":
            return self.tile  # type: ignore[return-value]
        context = round_up(self.context, max(self.multiple, 1))
        tile = auto_tile_size(self.device, self.bytes_per_pixel, context=context, multiple=self.multiple)
        return max(tile, round_up(self.overlap + self.multiple, self.multiple))

    def run_tiled(self, fn: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor,
                  on_tile: Callable[[int, int], None] | None = None,
                  sink: RowSink | None = None, scale: int | None = None) -> torch.Tensor | None:
        """Run ``fn`` (one float32 tile on the device -> its result, ``scale`` times larger: default
        ``self.scale``) over ``image`` (CPU, float or uint8/uint16, (N, C, H, W)) and return the blended
        float32 CPU result (or feed ``sink``)."""
        with self.inference():
            return tiled_apply(fn, image, tile=self.tile_size(), overlap=self.overlap, multiple=self.multiple,
                               scale=self.scale if scale is None else scale, context=self.context,
                               device=self.device, on_tile=on_tile, sink=sink)

    def run_to_image(self, fn: Callable[[torch.Tensor], torch.Tensor], image: Image,
                     on_tile: Callable[[int, int], None] | None = None) -> Image:
        """Run ``fn`` over an :class:`Image` straight to an :class:`Image` like it (see :class:`PixelSink`):
        tiles are read from its pixels and results stored as pixels, with no full-size float buffer."""
        sink = PixelSink(image, image.height * self.scale, image.width * self.scale)
        self.run_tiled(fn, image_view(image.pixels), on_tile=on_tile, sink=sink)
        return sink.image()


__all__ = ["PixelSink", "TileArg", "TiledPipeline", "image_view", "parse_tile"]
