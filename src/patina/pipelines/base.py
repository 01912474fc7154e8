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
from patina.pipelines.tiling import auto_tile_size, round_up, tiled_apply

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


class TiledPipeline:
    """Base of the pipelines: owns the device, the tiling parameters and the inference context.

    Subclasses set ``bytes_per_pixel`` (peak float32 working memory of their networks per window pixel,
    used to size tiles automatically), ``scale`` (output pixels per input pixel) and ``multiple`` (the
    size multiple the networks need), and call :meth:`run_tiled` with a function that processes one
    tile already on the device.
    """

    bytes_per_pixel: float = 1024.0
    scale: int = 1

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
        self.autocast = autocast_dtype(self.device)

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
        """No autograd, and autocast to bf16/fp16 on CUDA (float32 elsewhere)."""
        with torch.inference_mode():
            if self.autocast is not None:
                with torch.autocast(device_type=self.device.type, dtype=self.autocast):
                    yield
            else:
                yield

    # -- tiling ----------------------------------------------------------------------------------
    def tile_size(self) -> int | None:
        """The tile side for the next image: the fixed one, None (whole image) or sized to free memory."""
        if self.tile != "auto":
            return self.tile  # type: ignore[return-value]
        context = round_up(self.context, max(self.multiple, 1))
        tile = auto_tile_size(self.device, self.bytes_per_pixel, context=context, multiple=self.multiple)
        return max(tile, round_up(self.overlap + self.multiple, self.multiple))

    def run_tiled(self, fn: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor,
                  on_tile: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """Run ``fn`` (one float32 tile on the device -> its result) over ``image`` (CPU, float or
        uint8/uint16, (N, C, H, W)) and return the blended float32 CPU result."""
        with self.inference():
            return tiled_apply(fn, image, tile=self.tile_size(), overlap=self.overlap, multiple=self.multiple,
                               scale=self.scale, context=self.context, device=self.device, on_tile=on_tile)


__all__ = ["TileArg", "TiledPipeline", "image_view", "parse_tile"]
