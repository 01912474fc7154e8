"""One call per photograph: ``patina.restore(photo, **options)``, ``upscale``, ``colorize``, ``retro``, ``stylize``.

Each takes a photo as a Patina :class:`~patina.imageio.Image`, a Pillow image, a NumPy array or a file path, and
the pipeline's options as keywords (the CLI's flags with underscores: ``strength=0.8``, ``tone="neutral"``);
reference options (``mask``, ``like``, ``style``) take pictures the same way. The result comes back in the kind
given (Pillow in, Pillow out; array in, array out; an Image for Images and paths). Each call loads its models:
for many photos, build the pipeline once (``RestorePipeline(...)``) and call its ``process``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from patina.core.errors import ParameterError
from patina.core.options import OptionInfo, option_specs
from patina.imageio import Image
from patina.imageio.interop import like_given, to_image
from patina.pipelines.base import PhotoPipeline


def run_pipeline(pipeline: type[PhotoPipeline], photo: Any, *, device: str = "auto", **values: Any) -> Any:
    """``pipeline`` with the options ``values`` (references as pictures) run on ``photo``; see the module."""
    references = reference_images(pipeline, values)
    runner = pipeline.create(pipeline.Options.from_mapping(values), device=device, references=references)
    return like_given(runner.process(to_image(photo)), photo)


def reference_images(pipeline: type[PhotoPipeline], values: dict[str, Any], *, unread: Collection[str] = (),
                     label: Callable[[OptionInfo], str] = lambda info: info.name) -> dict[str, list[Image]]:
    """The pictures ``values`` gives its reference options (each one picture or a list: paths, Pillow images,
    arrays, Images), read, except the ``unread`` options'; ``values`` keeps their names (paths, or what they were).
    A required one missing is a ParameterError naming it by ``label`` (the CLI: its flag)."""
    images: dict[str, list[Image]] = {}
    for info in option_specs(pipeline.Options):
        if not info.spec.reference:
            continue
        given = values.get(info.name)
        pictures = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
        if info.spec.required and not pictures:
            raise ParameterError(f"give at least one {label(info)} image")
        values[info.name] = [_reference_name(picture) for picture in pictures]
        images[info.name] = [] if info.name in unread else [to_image(picture) for picture in pictures]
    return images


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


__all__ = ["colorize", "reference_images", "restore", "retro", "run_pipeline", "stylize", "upscale"]
