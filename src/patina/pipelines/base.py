"""The pipeline contract and the plumbing every pipeline shares: device, tile size, padding, tiling, autocast.

A pipeline subclasses :class:`PhotoPipeline`: it names its options dataclass (the one place its defaults,
types and ranges live), loads its models with :meth:`PhotoPipeline.use_models` (which reads each model's
descriptor: size multiple, working memory, bf16 safety) and implements :meth:`PhotoPipeline.process`; it
runs a per-tile function through :meth:`TiledPipeline.run_tiled`. Everything about tiles, memory, reduced
precision and no-grad mode lives here, once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import nn

from patina.core.device import autocast_dtype, select_device
from patina.core.errors import ParameterError
from patina.core.options import AUTO, OptionError, Options, option, option_specs
from patina.imageio import Image, tensor_to_image
from patina.imageio.convert import alpha_for_size
from patina.pipelines.tiling import RowSink, auto_tile_size, round_up, tiled_apply
from patina.weights import ModelCard, ModelDescriptor, load

CONVERT_ROWS = 256
"""Rows turned into pixels at a time: bounds the float temporaries of very large results."""

TileArg = int | str | None
"""How a caller asks for tiles: 'auto' (sized to free memory), None / 0 / '0' (whole image), or pixels."""

AnyOptions = Options
"""Any pipeline's options (the name ``Options`` is each pipeline's own options class inside its body)."""

NetworkT = TypeVar("NetworkT", bound=nn.Module)

ProgressFn = Callable[[float], None]
"""Called with the fraction done (0..1) while a pipeline runs; may raise to abort the run."""

TileProgressFn = Callable[[int, int], None]
"""Called with (tiles or strips done, total)."""


def tile_progress(on_progress: ProgressFn | None) -> TileProgressFn | None:
    """A (done, total) callback reporting to ``on_progress`` as a fraction."""
    if on_progress is None:
        return None
    return lambda done, total: on_progress(done / max(total, 1))


def part_progress(on_progress: ProgressFn | None, start: float, end: float) -> ProgressFn | None:
    """Progress of one stage of a chained run, mapped onto [start, end] of the whole."""
    if on_progress is None:
        return None
    return lambda fraction: on_progress(start + (end - start) * fraction)


def tile_option(help: str = "Tile side in pixels, 'auto' (sized to free memory) or 0 (whole image at once).") -> Any:
    """The ``tile`` option of a tiled pipeline."""
    return option(AUTO, help, minimum=0, auto=True)


def check_tile(tile: int | str | None, overlap: int) -> None:
    """An OptionError when a fixed tile is not larger than the overlap of neighbouring tiles."""
    if isinstance(tile, int) and 0 < tile <= overlap:
        raise OptionError("tile", f"tile ({tile} px) must be larger than the overlap ({overlap} px), or 0 for none")


def model_option(default: str, what: str) -> Any:
    """The ``model`` option: a registry name or a weights file."""
    return option(default, f"{what}: registry name or .safetensors path.", weights=True)


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
        return Image(pixels=self.pixels, alpha=alpha_for_size(self.like.alpha, height, width), exif=self.like.exif,
                     icc_profile=self.like.icc_profile, source_format=self.like.source_format)


class TiledPipeline:
    """Base of the pipelines: owns the device, the tiling parameters and the inference context.

    Subclasses set ``bytes_per_pixel`` (peak float32 working memory of their networks per window pixel,
    used to size tiles automatically), ``scale`` (output pixels per input pixel) and ``multiple`` (the
    size multiple the networks need), and call :meth:`run_tiled` with a function that processes one
    tile already on the device.
    """

    bytes_per_pixel: float = 1024.0
    scale: int = 1

    def __init__(self, *, device: str | torch.device, tile: TileArg, overlap: int, context: int | None) -> None:
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
        self.autocast = autocast_dtype(self.device, cpu_bf16=False)

    # -- networks --------------------------------------------------------------------------------
    def prepare(self, module: nn.Module) -> nn.Module:
        """Put a network in inference form on the device (channels-last on CPU: about 1.5x faster)."""
        module = module.to(self.device).eval().requires_grad_(False)
        if self.device.type == "cpu":
            module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # missing from the stub
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

    def run_tiled(self, fn: Callable[..., torch.Tensor], image: torch.Tensor,
                  on_tile: Callable[[int, int], None] | None = None, scale: int | None = None,
                  extra: torch.Tensor | None = None, placed: bool = False) -> torch.Tensor:
        """Run ``fn`` (one float32 tile on the device -> its result, ``scale`` times larger: default
        ``self.scale``) over ``image`` (CPU, float or uint8/uint16, (N, C, H, W)) and return the blended
        float32 CPU result. ``extra``: more channels cut into the same tiles and appended to each (a mask);
        ``placed``: ``fn`` also gets where each tile lies (:func:`~patina.pipelines.tiling.tiled_apply`)."""
        result = self.run_tiled_into(fn, image, on_tile=on_tile, scale=scale, extra=extra, placed=placed)
        assert result is not None
        return result

    def run_tiled_into(self, fn: Callable[..., torch.Tensor], image: torch.Tensor,
                       on_tile: Callable[[int, int], None] | None = None, sink: RowSink | None = None,
                       scale: int | None = None, extra: torch.Tensor | None = None,
                       placed: bool = False) -> torch.Tensor | None:
        """:meth:`run_tiled`, feeding the result's rows to ``sink`` when given (then returning None)."""
        with self.inference():
            return tiled_apply(fn, image, tile=self.tile_size(), overlap=self.overlap, multiple=self.multiple,
                               scale=self.scale if scale is None else scale, context=self.context,
                               device=self.device, on_tile=on_tile, sink=sink, extra=extra, placed=placed)

    def run_to_image(self, fn: Callable[..., torch.Tensor], image: Image,
                     on_tile: Callable[[int, int], None] | None = None, extra: torch.Tensor | None = None,
                     placed: bool = False) -> Image:
        """Run ``fn`` over an :class:`Image` straight to an :class:`Image` like it (see :class:`PixelSink`):
        tiles are read from its pixels and results stored as pixels, with no full-size float buffer. ``extra``:
        (1, C, H, W) more channels appended to each tile (e.g. a mask); ``placed``: as for :meth:`run_tiled`."""
        sink = PixelSink(image, image.height * self.scale, image.width * self.scale)
        self.run_tiled_into(fn, image_view(image.pixels), on_tile=on_tile, sink=sink, extra=extra, placed=placed)
        return sink.image()


class PhotoPipeline(TiledPipeline):
    """The contract every pipeline keeps: built from its :attr:`Options` (or the same names as keyword
    arguments), it processes an :class:`Image` with progress (:meth:`process`), reports the settings it
    uses with 'auto' made concrete (:meth:`resolved_options`) and the models it runs with their weights'
    sha256 (:meth:`models`). The archive records those two and re-runs them to the same bytes."""

    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[Options]]
    makes_colour: ClassVar[bool] = False
    """Whether a gray photo comes out in colour (else every mode comes out as it went in)."""
    min_side: ClassVar[int] = 1
    """Smallest width or height the pipeline accepts."""

    options: Any

    def __init__(self, *, device: str | torch.device, tile: TileArg, overlap: int, context: int | None) -> None:
        super().__init__(device=device, tile=tile, overlap=overlap, context=context)
        self.used_models: list[tuple[str, ModelDescriptor]] = []
        """(role, descriptor) of every model the pipeline runs, in the order they were loaded."""
        self.notes: list[str] = []
        """What the pipeline noted about the photo it processed last, for the person who asked (a step it left
        out, and why); set anew by each :meth:`process`."""
        self.findings: dict[str, Any] = {}
        """What the pipeline found in the photo it processed last, for the record (JSON values: restore's face
        stage puts the faces it restored here); set anew by each :meth:`process`."""

    @classmethod
    def options_from(cls, options: AnyOptions | None, values: Mapping[str, Any]) -> Any:
        """``options``, or options built from keyword ``values`` (checked: a bad value is a clear error)."""
        if options is None:
            return cls.Options.from_mapping(values)
        if values:
            raise ParameterError(f"give {cls.name} options or keyword values, not both")
        if not isinstance(options, cls.Options):
            raise ParameterError(f"{cls.name} takes {cls.Options.__name__}, got {type(options).__name__}")
        return options

    @classmethod
    def create(cls, options: AnyOptions, *, device: str | torch.device,
               references: Mapping[str, Sequence[Image]]) -> PhotoPipeline:
        """The pipeline for ``options``, given the images its reference options name (archive items, files).

        A reference option of one image (``max_items`` 1) reaches the constructor as the keyword of the same
        name (the image, or None); a pipeline taking several images overrides this."""
        single: dict[str, Image | None] = {}
        for info in option_specs(cls.Options):
            if info.spec.reference and info.spec.max_items == 1:
                images = references.get(info.name, ())
                single[info.name] = images[0] if images else None
        build: Any = cls  # each pipeline's constructor takes its options first
        return build(options, device=device, **single)  # type: ignore[no-any-return]

    def use_models(self, *models: tuple[str, ModelDescriptor]) -> None:
        """Run these (role, descriptor) models: put each network in inference form on the device, and take the
        tiles' size multiple, working memory and precision from their descriptors."""
        self.used_models += models
        for _, descriptor in models:
            self.prepare(descriptor.network)
        used = [descriptor for _, descriptor in self.used_models]
        self.bytes_per_pixel = sum(descriptor.bytes_per_pixel for descriptor in used)
        self.autocast = autocast_dtype(self.device, cpu_bf16=all(descriptor.bf16_safe for descriptor in used))

    def use_model(self, role: str, name: str, task: str) -> ModelDescriptor:
        """Load the model ``name`` (which must do ``task``) for ``role``, ready to run; its descriptor."""
        descriptor = load(name, device=self.device, task=task)
        self.use_models((role, descriptor))
        return descriptor

    def load_model(self, role: str, name: str, task: str, kind: type[NetworkT]) -> NetworkT:
        """:meth:`use_model`'s network, which must be a ``kind``."""
        return self.use_model(role, name, task).network_as(kind)

    @property
    def card(self) -> ModelCard | None:
        """The card of the pipeline's first model (its main network), or None when it runs none."""
        return self.used_models[0][1].card if self.used_models else None

    def models(self) -> list[dict[str, str]]:
        """The models this pipeline runs: role, name and the weights' sha256."""
        return [{"role": role, "name": descriptor.name, "sha256": descriptor.sha256}
                for role, descriptor in self.used_models]

    def resolved_options(self) -> Any:
        """The options with every 'auto' made concrete (the tile size is fixed from now on, so the run uses
        exactly what is recorded)."""
        if "tile" not in {field.name for field in dataclasses.fields(self.options)}:
            return self.options
        if self.tile == "auto":
            self.tile = self.tile_size()
        return dataclasses.replace(self.options, tile=self.tile or 0)

    def check_size(self, image: Image) -> None:
        """A ParameterError when the image is smaller than :attr:`min_side`."""
        if min(image.height, image.width) < self.min_side:
            raise ParameterError(f"{self.name} needs images of at least {self.min_side}x{self.min_side} pixels, got "
                                 f"{image.width}x{image.height}")

    def process(self, image: Image, on_progress: ProgressFn | None = None) -> Image:
        """The pipeline's result for ``image`` (mode, bit depth, alpha, EXIF and ICC kept as the pipeline says)."""
        raise NotImplementedError


__all__ = ["PhotoPipeline", "PixelSink", "ProgressFn", "TileArg", "TileProgressFn", "TiledPipeline", "image_view",
           "check_tile", "model_option", "parse_tile", "part_progress", "tile_option", "tile_progress"]
