"""Model-agnostic tiled inference: padding to a size multiple, tiles with context and feathered overlap.

A network with stride-2 stages and pixel (un)shuffles is only shift-equivariant for shifts by its
``size_multiple``; so every tile here starts at a multiple of ``multiple`` in the coordinates of the
image padded (reflect, bottom/right) to a multiple, and has a size that is a multiple too. Each tile
is run on a window that adds ``context`` pixels of real image on every side (dropped afterwards), so
convolution zero padding at the tile edge never reaches the pixels that are kept; neighbouring tiles
overlap by ``overlap`` pixels, blended with linear weights that sum to one. At the image border the
window stops where the padded image stops, exactly as in the untiled run. With enough context the
tiled result equals the untiled one to float rounding; the blending hides whatever is left.

Tiles are read straight from the (possibly uint8/uint16, possibly non-contiguous) input and converted
to float32 one at a time. Results are blended into a band of output rows, handed on (to a full-size
float32 result, or to a ``sink`` that stores them as pixels) as soon as no later tile touches them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import torch

from patina.core.errors import ParameterError

CPU_MAX_WINDOW = 1024
"""Largest tile window (side, pixels, context included) on CPU: bigger windows are slower per pixel once
the activations outgrow the caches (restore model, 2 cores: 0.9 s/MP at 1024 px, 1.2 at 1536, 1.5 at 2048)."""

GPU_MAX_WINDOW = 2048
"""Largest tile window on CUDA: larger tiles gain little throughput and delay the first progress."""

MIN_TILE = 64
"""Smallest tile that ``auto_tile_size`` returns."""


def round_up(value: int, multiple: int) -> int:
    """Smallest multiple of ``multiple`` that is >= ``value``."""
    return -(-int(value) // multiple) * multiple


def reflect_indices(start: int, stop: int, size: int) -> torch.Tensor:
    """Indices ``start..stop-1`` folded into ``[0, size)`` by mirror reflection (edge not repeated).

    Positions past the end continue as ``size-2, size-3, ...`` like ``F.pad(mode='reflect')``, but any
    amount of padding works (the pattern repeats), even for ``size`` 1 or 2.
    """
    index = torch.arange(start, stop)
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)


def pad_to_multiple(image: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (N, C, H, W) at the bottom and right by reflection so H and W are multiples of ``multiple``."""
    height, width = image.shape[-2:]
    return read_window(image, 0, round_up(height, multiple), 0, round_up(width, multiple), dtype=image.dtype)


def crop(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The top-left ``height`` x ``width`` of (N, C, H', W'): undoes ``pad_to_multiple``."""
    return image[..., :height, :width]


def read_window(
    image: torch.Tensor, y0: int, y1: int, x0: int, x1: int, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Rows ``y0:y1`` and columns ``x0:x1`` of (N, C, H, W) as a new contiguous tensor of ``dtype``.

    Coordinates beyond the bottom/right edge are filled by reflection (see ``reflect_indices``).
    uint8 and uint16 images are scaled to [0, 1] when ``dtype`` is floating point, so a tile can be
    read from the decoded pixels without a full-size float copy of the image.
    """
    height, width = image.shape[-2:]
    if y1 <= height and x1 <= width:
        window = image[..., y0:y1, x0:x1]
    else:
        window = image[..., y0:min(y1, height), x0:min(x1, width)]
        if y1 > height:
            window = window.index_select(-2, reflect_indices(y0, y1, height) - y0)
        if x1 > width:
            window = window.index_select(-1, reflect_indices(x0, x1, width) - x0)
    source = window.dtype
    window = window.to(dtype, memory_format=torch.contiguous_format, copy=True)
    if dtype.is_floating_point and not source.is_floating_point:
        window.mul_(1.0 / _integer_max(source))
    return window


def _integer_max(dtype: torch.dtype) -> float:
    if dtype == torch.uint8:
        return 255.0
    if dtype == torch.uint16:
        return 65535.0
    raise ParameterError(f"images must be float, uint8 or uint16 tensors, got {dtype}")


def tile_spans(length: int, tile: int, overlap: int, multiple: int) -> list[tuple[int, int]]:
    """Split ``[0, length)`` (a multiple of ``multiple``) into equal tiles overlapping by >= ``overlap``.

    Every start and size is a multiple of ``multiple``; tiles are at most ``tile`` long and as few
    as possible, spread evenly so that no tile is a sliver.
    """
    if length <= tile:
        return [(0, length)]
    units, tile_units, overlap_units = length // multiple, tile // multiple, round_up(overlap, multiple) // multiple
    if tile_units <= overlap_units:
        raise ParameterError(f"tile ({tile} px) must be larger than the overlap ({overlap} px)")
    count = math.ceil((units - overlap_units) / (tile_units - overlap_units))
    while True:
        size = max(1, math.ceil((units + (count - 1) * overlap_units) / count))
        while size <= tile_units and size - math.ceil((units - size) / (count - 1)) < overlap_units:
            size += 1
        if size <= tile_units:
            break
        count += 1
    starts = [(index * (units - size)) // (count - 1) for index in range(count)]
    return [(start * multiple, (start + size) * multiple) for start in starts]


def _blend_weights(spans: list[tuple[int, int]], scale: int) -> list[torch.Tensor]:
    """1-D weights per span (at output resolution): linear ramps across each overlap, summing to one."""
    total = max(stop for _, stop in spans) * scale
    weights = []
    for index, (start, stop) in enumerate(spans):
        start, stop = start * scale, stop * scale
        weight = torch.ones(stop - start, dtype=torch.float64)
        position = torch.arange(stop - start, dtype=torch.float64)
        if index > 0 and spans[index - 1][1] * scale > start:
            ramp = spans[index - 1][1] * scale - start
            weight = torch.minimum(weight, (position + 0.5) / ramp)
        if index + 1 < len(spans) and spans[index + 1][0] * scale < stop:
            ramp = stop - spans[index + 1][0] * scale
            weight = torch.minimum(weight, (stop - start - position - 0.5) / ramp)
        weights.append(weight)
    norm = torch.zeros(total, dtype=torch.float64)
    for (start, stop), weight in zip(spans, weights, strict=True):
        norm[start * scale:stop * scale] += weight
    return [(weight / norm[start * scale:stop * scale]).float()
            for (start, stop), weight in zip(spans, weights, strict=True)]


RowSink = Callable[[int, torch.Tensor], None]
"""Receives finished output rows, top to bottom: ``sink(first_row, rows)`` with rows (N, C, h, W) float32."""


def tiled_apply(
    fn: Callable[..., torch.Tensor],
    image: torch.Tensor,
    *,
    tile: int | None,
    overlap: int,
    multiple: int,
    scale: int = 1,
    context: int | None = None,
    device: torch.device | str | None = None,
    on_tile: Callable[[int, int], None] | None = None,
    sink: RowSink | None = None,
    extra: torch.Tensor | None = None,
    placed: bool = False,
) -> torch.Tensor | None:
    """Apply ``fn`` to ``image`` tile by tile and return the blended result as a CPU float32 tensor.

    Args:
        fn: maps a float32 (N, C, h, w) tensor in [0, 1], h and w multiples of ``multiple``, on
            ``device`` to (N, C', h * scale, w * scale). It must not depend on the absolute position,
            unless it is told it (``placed``).
        image: (N, C, H, W) on the CPU; float in [0, 1], or uint8 / uint16 (scaled per tile).
        tile: largest tile side in pixels, before context is added; None or 0 processes the whole
            image at once (still padded to ``multiple`` and cropped), as does an image no larger than
            one tile with its context (``tile + 2 * context``).
        overlap: pixels by which neighbouring tiles overlap and are cross-faded.
        multiple: ``fn``'s size multiple (tile starts and sizes are multiples of it).
        scale: output pixels per input pixel (1 for restoration, 2 or 4 for upscalers).
        context: extra input pixels on each side of a tile, computed and discarded; default
            ``overlap``. It should cover the part of ``fn``'s receptive field that matters.
        device: where ``fn`` runs; tiles are moved there and results back. Default: the CPU.
        on_tile: called as ``on_tile(done, total)`` after each tile (progress).
        sink: if given, finished output rows go to it (see ``RowSink``) as each row of tiles
            completes, only one band of rows is held in float32, and nothing is returned: how a
            scan too large for a full-size float result is processed.
        extra: (N, C2, H, W) more channels (float, uint8 or uint16, e.g. a mask) read with the same
            windows and appended to each tile's channels, so ``fn`` gets ``C + C2`` channels.
        placed: call ``fn(window, (top, left))`` with the row and column of the window's first pixel in the
            image (for a correction that varies smoothly over the whole photo).

    Returns:
        (N, C', H * scale, W * scale) float32 CPU tensor, or None when ``sink`` is given.
    """
    if sink is not None:
        _run_tiles(fn, image, tile=tile, overlap=overlap, multiple=multiple, scale=scale, context=context,
                   device=device, on_tile=on_tile, sink=sink, extra=extra, placed=placed)
        return None
    output: list[torch.Tensor] = []

    def collect(top: int, rows: torch.Tensor) -> None:
        if not output:
            height, width = image.shape[-2] * scale, image.shape[-1] * scale
            output.append(torch.empty(rows.shape[0], rows.shape[1], height, width, dtype=torch.float32))
        output[0][..., top:top + rows.shape[-2], :] = rows

    _run_tiles(fn, image, tile=tile, overlap=overlap, multiple=multiple, scale=scale, context=context,
               device=device, on_tile=on_tile, sink=collect, extra=extra, placed=placed)
    return output[0]


def _run_tiles(
    fn: Callable[..., torch.Tensor],
    image: torch.Tensor,
    *,
    tile: int | None,
    overlap: int,
    multiple: int,
    scale: int,
    context: int | None,
    device: torch.device | str | None,
    on_tile: Callable[[int, int], None] | None,
    sink: RowSink,
    extra: torch.Tensor | None = None,
    placed: bool = False,
) -> None:
    """``tiled_apply``'s loop: rows of tiles blended into a band; rows no later tile touches go to ``sink``."""
    if image.ndim != 4:
        raise ParameterError(f"expected an (N, C, H, W) tensor, got shape {tuple(image.shape)}")
    if extra is not None and (extra.ndim != 4 or extra.shape[0] != image.shape[0]
                              or extra.shape[-2:] != image.shape[-2:]):
        raise ParameterError(f"extra channels {tuple(extra.shape)} do not match the image {tuple(image.shape)}")
    if multiple < 1 or scale < 1:
        raise ParameterError(f"multiple and scale must be >= 1, got {multiple} and {scale}")
    if tile is not None and tile < 0:
        raise ParameterError(f"tile must be 0 (no tiling) or a positive size, got {tile}")
    if overlap < 0 or (context is not None and context < 0):
        raise ParameterError(f"overlap and context must be >= 0, got {overlap} and {context}")
    device = torch.device("cpu") if device is None else torch.device(device)
    height, width = image.shape[-2:]
    padded_h, padded_w = round_up(height, multiple), round_up(width, multiple)

    tile_context = overlap if context is None else context
    if not tile or (padded_h <= tile + 2 * tile_context and padded_w <= tile + 2 * tile_context):
        # one window no larger than a tile with its context: the whole image, no seams at all
        window = _read_tile(image, extra, 0, padded_h, 0, padded_w).to(device)
        result = fn(window, (0, 0)) if placed else fn(window)
        _check_result(result, window, scale)
        sink(0, crop(result, height * scale, width * scale).to("cpu", torch.float32).contiguous())
        if on_tile is not None:
            on_tile(1, 1)
        return

    tile = max(multiple, tile // multiple * multiple)
    overlap = round_up(overlap, multiple)
    context = overlap if context is None else round_up(context, multiple)
    rows, cols = tile_spans(padded_h, tile, overlap, multiple), tile_spans(padded_w, tile, overlap, multiple)
    row_weights, col_weights = _blend_weights(rows, scale), _blend_weights(cols, scale)
    out_h, out_w = height * scale, width * scale
    band_top, carry = 0, None  # the band's first output row; its unfinished rows from the last tile row
    done, total = 0, len(rows) * len(cols)
    for row_index, ((top, bottom), row_weight) in enumerate(zip(rows, row_weights, strict=True)):
        band: torch.Tensor | None = None
        band_bottom = min(bottom, height) * scale
        for (left, right), col_weight in zip(cols, col_weights, strict=True):
            # the part of the tile inside the image (tiles start inside it: padding is < multiple)
            keep_h, keep_w = min(bottom, height) - top, min(right, width) - left
            y0, y1 = max(0, top - context), min(padded_h, bottom + context)
            x0, x1 = max(0, left - context), min(padded_w, right + context)
            window = _read_tile(image, extra, y0, y1, x0, x1).to(device)
            result = fn(window, (y0, x0)) if placed else fn(window)
            _check_result(result, window, scale)
            oy, ox = (top - y0) * scale, (left - x0) * scale
            core = result[..., oy:oy + keep_h * scale, ox:ox + keep_w * scale].to("cpu", torch.float32)
            weight = row_weight[:keep_h * scale, None] * col_weight[None, :keep_w * scale]
            if band is None:
                band = torch.zeros(image.shape[0], result.shape[1], band_bottom - band_top, out_w)
                if carry is not None:
                    band[..., :carry.shape[-2], :] = carry
            y = top * scale - band_top
            band[..., y:y + keep_h * scale, left * scale:left * scale + keep_w * scale].addcmul_(core, weight)
            done += 1
            if on_tile is not None:
                on_tile(done, total)
        assert band is not None
        finished = rows[row_index + 1][0] * scale if row_index + 1 < len(rows) else out_h
        sink(band_top, band[..., :finished - band_top, :])
        carry = band[..., finished - band_top:, :].clone()
        band_top = finished


def _read_tile(image: torch.Tensor, extra: torch.Tensor | None, y0: int, y1: int, x0: int, x1: int) -> torch.Tensor:
    """The float32 window of ``image``, with the same window of ``extra`` appended to its channels."""
    window = read_window(image, y0, y1, x0, x1)
    return window if extra is None else torch.cat([window, read_window(extra, y0, y1, x0, x1)], dim=1)


def _check_result(result: torch.Tensor, window: torch.Tensor, scale: int) -> None:
    expected = (window.shape[0], window.shape[-2] * scale, window.shape[-1] * scale)
    if result.ndim != 4 or (result.shape[0], result.shape[-2], result.shape[-1]) != expected:
        raise ValueError(f"tile function returned shape {tuple(result.shape)} for input {tuple(window.shape)}")


def available_memory(device: torch.device | str) -> int:
    """Bytes free for tiles on ``device``: CUDA's free memory, else the host's available RAM.

    On the host this is MemAvailable from /proc/meminfo (or the free pages from sysconf), further
    limited by a cgroup v2 memory limit when the process runs in a container.
    """
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    available = _meminfo_available()
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 4 << 30
    limit = _cgroup_headroom()
    return int(min(available, limit) if limit is not None else available)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


def auto_tile_size(
    device: torch.device | str,
    bytes_per_pixel: float,
    *,
    context: int = 0,
    multiple: int = 16,
    memory_fraction: float | None = None,
    max_window: int | None = None,
) -> int:
    """A tile side (pixels, a multiple of ``multiple``) whose window fits the free memory of ``device``.

    ``bytes_per_pixel`` is the model's peak working memory per window pixel (activations, float32 on
    CPU). The window (tile + 2 * ``context``) gets ``memory_fraction`` of the free memory (default a
    quarter of the host's available RAM on CPU, half of the free memory on CUDA) and is capped at
    ``max_window`` (default ``CPU_MAX_WINDOW`` / ``GPU_MAX_WINDOW``), where bigger tiles stop paying.
    """
    device = torch.device(device)
    on_gpu = device.type == "cuda"
    if bytes_per_pixel <= 0:
        raise ParameterError(f"bytes_per_pixel must be positive, got {bytes_per_pixel}")
    fraction = memory_fraction if memory_fraction is not None else (0.5 if on_gpu else 0.25)
    budget = available_memory(device) * fraction
    window = int(math.sqrt(max(budget, 0.0) / bytes_per_pixel))
    window = min(window, max_window or (GPU_MAX_WINDOW if on_gpu else CPU_MAX_WINDOW))
    tile = (window - 2 * context) // multiple * multiple
    return max(tile, round_up(MIN_TILE, multiple))


__all__ = [
    "CPU_MAX_WINDOW",
    "GPU_MAX_WINDOW",
    "auto_tile_size",
    "available_memory",
    "crop",
    "pad_to_multiple",
    "read_window",
    "reflect_indices",
    "RowSink",
    "round_up",
    "tile_spans",
    "tiled_apply",
]
