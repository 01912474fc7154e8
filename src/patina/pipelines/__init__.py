"""Inference pipelines: one ``__call__`` each, with tiling, overlap blending, padding and autocast.

``import patina.pipelines`` imports neither training code nor the service stack (fastapi, ray).
"""

from patina.pipelines.base import TiledPipeline, image_view, parse_tile
from patina.pipelines.compare import before_after_sheet, comparison_grid
from patina.pipelines.restore import RestorePipeline, restore_file
from patina.pipelines.upscale import UpscalePipeline
from patina.pipelines.tiling import auto_tile_size, available_memory, crop, pad_to_multiple, tiled_apply

__all__ = [
    "RestorePipeline",
    "TiledPipeline",
    "UpscalePipeline",
    "auto_tile_size",
    "available_memory",
    "before_after_sheet",
    "comparison_grid",
    "crop",
    "image_view",
    "pad_to_multiple",
    "parse_tile",
    "restore_file",
    "tiled_apply",
]
