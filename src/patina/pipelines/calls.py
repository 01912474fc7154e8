"""One call per photograph: ``patina.restore(photo, **options)``, ``upscale``, ``colorize``, ``retro``, ``stylize``.

Each takes a photo as a Patina :class:`~patina.imageio.Image`, a Pillow image, a NumPy array or a file path, and
the pipeline's options as keywords (the CLI's flags with underscores: ``strength=0.8``, ``tone="neutral"``);
reference options (``mask``, ``like``, ``style``) take pictures the same way. The result comes back in the kind
given (Pillow in, Pillow out; array in, array out; an Image for Images and paths). Each call loads its models:
for many photos, build the pipeline once (``RestorePipeline(...)``) and call its ``process``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from patina.core.options import option_specs
from patina.imageio import Image
from patina.imageio.interop import like_given, to_image
from patina.pipelines.base import PhotoPipeline


def run_pipeline(pipeline: type[PhotoPipeline], photo: Any, *, device: str = "auto", **values: Any) -> Any:
    """``pipeline`` with the options ``values`` (references as pictures) run on ``photo``; see the module."""
    references: dict[str, list[Image]] = {}
    for info in option_specs(pipeline.Options):
        given = values.get(info.name)
        if info.spec.reference and given is not None:
            pictures = list(given) if isinstance(given, Sequence) and not isinstance(given, str) else [given]
            references[info.name] = [to_image(picture) for picture in pictures]
            values[info.name] = [_reference_name(picture) for picture in pictures]
    runner = pipeline.create(pipeline.Options.from_mapping(values), device=device, references=references)
    return like_given(runner.process(to_image(photo)), photo)


def _reference_name(picture: Any) -> str:
    """How a reference is named in the options: its path, else what it was (an in-memory picture)."""
    return str(picture) if isinstance(picture, str | Path) else f"<{type(picture).__name__}>"


def restore(photo: Any, **options: Any) -> Any:
    """The photo restored (see ``patina restore``): ``patina.restore("scan.jpg", strength=0.8, faces=True)``."""
    from patina.pipelines.restore import RestorePipeline

    return run_pipeline(RestorePipeline, photo, **options)


def upscale(photo: Any, **options: Any) -> Any:
    """The photo upscaled (see ``patina upscale``): ``patina.upscale(pil_image, scale=2)``."""
    from patina.pipelines.upscale import UpscalePipeline

    return run_pipeline(UpscalePipeline, photo, **options)


def colorize(photo: Any, **options: Any) -> Any:
    """The black-and-white photo colorized (see ``patina colorize``): ``patina.colorize(array, like=ref)``."""
    from patina.pipelines.colorize import ColorizePipeline

    return run_pipeline(ColorizePipeline, photo, **options)


def retro(photo: Any, **options: Any) -> Any:
    """The modern photo given an era's look (see ``patina retro``): ``patina.retro(photo, era="1920s")``."""
    from patina.pipelines.retro import RetroPipeline

    return run_pipeline(RetroPipeline, photo, **options)


def stylize(photo: Any, style: Any, **options: Any) -> Any:
    """The photo painted in the style of ``style`` (one picture or several; see ``patina stylize``)."""
    from patina.pipelines.stylize import StylizePipeline

    return run_pipeline(StylizePipeline, photo, style=style, **options)


__all__ = ["colorize", "restore", "retro", "run_pipeline", "stylize", "upscale"]
