"""Pipelines by name, with every parameter spelled out: what the archive records and re-runs.

A recipe turns a name and a dict of parameters (JSON values) into a run on an :class:`Image`, and
reports back the complete parameters it used (defaults filled in, 'auto' choices made concrete) and
the models with their weights' sha256, so that the run can be recorded and repeated exactly.
Each pipeline adds itself here with one entry in :data:`RECIPES`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from patina.core.errors import ParameterError
from patina.imageio import Image


ProgressFn = Callable[[float], None]
"""Called with the fraction done (0..1) while a pipeline runs; may raise to abort the run."""


@dataclass(frozen=True)
class RecipeResult:
    """A pipeline's output with the exact parameters and models that made it."""

    image: Image
    parameters: dict[str, Any]
    models: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Recipe:
    """A named pipeline: its default parameters and a function (image, parameters, device, on_progress) -> result."""

    name: str
    description: str
    defaults: Mapping[str, Any]
    run: Callable[..., RecipeResult]
    references: tuple[str, ...] = ()
    """Parameters whose values name further input images (archive items: ids or sha256, one or a list);
    the archive records them as full sha256 lists and hands their images to :meth:`execute`."""

    def execute(self, image: Image, parameters: dict[str, Any], device: str, on_progress: ProgressFn | None = None,
                references: Mapping[str, list[Image]] | None = None) -> RecipeResult:
        """Run the pipeline; ``references`` holds the images of the reference parameters (by name)."""
        if not self.references:
            return self.run(image, parameters, device, on_progress)
        missing = [name for name in self.references if name not in (references or {})]
        if missing:
            raise ParameterError(f"{self.name} needs the images of {', '.join(missing)}")
        return self.run(image, parameters, device, on_progress, references)

    def parameters(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults updated with ``given``; unknown names are a ParameterError."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults))
            raise ParameterError(f"{self.name} has no parameter {', '.join(unknown)}; it has: {known}")
        return {**self.defaults, **given}


def parse_parameter(text: str) -> tuple[str, Any]:
    """'name=value' from a command line -> (name, value); the value is read as JSON when it is JSON
    (numbers, true/false, null, lists), else kept as text."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ParameterError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value


def _tile_progress(on_progress: ProgressFn | None) -> Callable[[int, int], None] | None:
    if on_progress is None:
        return None
    return lambda done, total: on_progress(done / max(total, 1))


def _run_restore(image: Image, parameters: dict[str, Any], device: str,
                 on_progress: ProgressFn | None = None) -> RecipeResult:
    from patina.pipelines.restore import RestorePipeline

    options = {k: v for k, v in parameters.items() if k not in ("tile", "colorize")}
    pipeline = RestorePipeline(device=device, **options, tile=parameters["tile"])
    tile = pipeline.tile_size()  # 'auto' depends on free memory: record the size actually used
    pipeline.tile = tile
    used = {**parameters, "tile": tile or 0, "mask_model": pipeline.mask_model_name}
    models = [_model_entry("generator", pipeline)]
    if pipeline.mask_card is not None:
        models.append({"role": "damage-mask", "name": pipeline.mask_model_name, "sha256": pipeline.mask_card.sha256})
    if pipeline.upscaler_card is not None:
        models.append({"role": "upscaler", "name": str(pipeline.upscaler_name),
                       "sha256": pipeline.upscaler_card.sha256})
    colorize = parameters.get("colorize", False)
    if not isinstance(colorize, bool):
        raise ParameterError(f"colorize must be true or false, got {colorize!r}")
    if not colorize:
        restored = pipeline.restore_image(image, on_tile=_tile_progress(on_progress))
        return RecipeResult(image=restored, parameters=used, models=models)
    from patina.pipelines.colorize import ColorizePipeline

    colorizer = ColorizePipeline(device=device)
    models.append(_model_entry("colorize", colorizer))
    restored = pipeline.restore_image(image, on_tile=_tile_progress(_part(on_progress, 0.0, 0.9)))
    coloured = colorizer.colorize_image(restored, on_progress=_tile_progress(_part(on_progress, 0.9, 1.0)))
    return RecipeResult(image=coloured, parameters=used, models=models)


def _part(on_progress: ProgressFn | None, start: float, end: float) -> ProgressFn | None:
    """Progress of one stage of a chained run, mapped onto [start, end] of the whole."""
    if on_progress is None:
        return None
    return lambda fraction: on_progress(start + (end - start) * fraction)


def _model_entry(role: str, pipeline: Any) -> dict[str, str]:
    return {"role": role, "name": pipeline.model_name, "sha256": pipeline.card.sha256}


def _run_colorize(image: Image, parameters: dict[str, Any], device: str,
                  on_progress: ProgressFn | None = None) -> RecipeResult:
    from patina.pipelines.colorize import ColorizePipeline

    pipeline = ColorizePipeline(device=device, **parameters)
    coloured = pipeline.colorize_image(image, on_progress=_tile_progress(on_progress))
    return RecipeResult(image=coloured, parameters=dict(parameters), models=[_model_entry("generator", pipeline)])


def _run_upscale(image: Image, parameters: dict[str, Any], device: str,
                 on_progress: ProgressFn | None = None) -> RecipeResult:
    from patina.pipelines.upscale import UpscalePipeline

    pipeline = UpscalePipeline(device=device, **parameters)
    pipeline.tile = pipeline.tile_size()  # record the size 'auto' chose
    used = {**parameters, "tile": pipeline.tile or 0}
    upscaled = pipeline.upscale_image(image, on_tile=_tile_progress(on_progress))
    return RecipeResult(image=upscaled, parameters=used, models=[_model_entry("upscaler", pipeline)])


def _run_retro(image: Image, parameters: dict[str, Any], device: str,
               on_progress: ProgressFn | None = None) -> RecipeResult:
    from patina.pipelines.retro import RetroPipeline

    pipeline = RetroPipeline(device=device, **parameters)
    pipeline.tile = pipeline.tile_size()  # record the size 'auto' chose
    used = {**parameters, "era": pipeline.era, "tile": pipeline.tile or 0}
    aged = pipeline.retro_image(image, on_progress=_tile_progress(on_progress))
    models = [_model_entry("generator", pipeline)] if pipeline.card is not None else []
    return RecipeResult(image=aged, parameters=used, models=models)


def _run_stylize(image: Image, parameters: dict[str, Any], device: str, on_progress: ProgressFn | None,
                 references: Mapping[str, list[Image]]) -> RecipeResult:
    from patina.pipelines.stylize import StylizePipeline

    masks = references["mask"]
    if len(masks) > 1:
        raise ParameterError(f"mask names one image, got {len(masks)}")
    options = {k: v for k, v in parameters.items() if k not in ("style", "mask", "size", "tile")}
    pipeline = StylizePipeline(references["style"], device=device, tile=parameters["tile"], **options)
    pipeline.tile = pipeline.tile_size()  # record the size 'auto' chose
    used = {**parameters, "tile": pipeline.tile or 0}
    painted = pipeline.stylize_image(image, mask=masks[0] if masks else None, size=parameters["size"],
                                     on_progress=_tile_progress(on_progress))
    return RecipeResult(image=painted, parameters=used, models=[_model_entry("style transfer", pipeline)])


RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        Recipe(
            name="restore",
            description="Old-photo restoration GAN: fading, casts, noise, blur, scratches, dust, creases",
            defaults={"model": "restore", "mask_model": None, "scratches": True, "strength": 1.0,
                      "ensemble": True, "tile": "auto", "overlap": 64, "context": 64, "colorize": False,
                      "upscale": None},
            run=_run_restore,
        ),
        Recipe(
            name="colorize",
            description="Colorization GAN: colour from the model, luminance and detail from the photo",
            defaults={"model": "colorize", "render_size": 384, "strength": 1.0},
            run=_run_colorize,
        ),
        Recipe(
            name="upscale",
            description="Super-resolution x2 / x4: GAN (sharp) or fidelity (L1) upscalers, or an outside checkpoint",
            defaults={"model": "upscale-x4", "outscale": None, "tile": "auto", "overlap": 16, "context": 48},
            run=_run_upscale,
        ),
        Recipe(
            name="retro",
            description="Era look (1880s .. 1990s): preset op chain, or GAN texture learned from real old photos",
            defaults={"era": "1970s", "engine": "gan", "strength": 1.0, "seed": 0, "model": "retro", "tile": "auto"},
            run=_run_retro,
        ),
        Recipe(
            name="stylize",
            description="Style transfer: paint the photo like style images (archive items: style=12 or [12, 15])",
            defaults={"style": [], "weights": None, "alpha": 1.0, "fusion": "adain", "preserve_color": False,
                      "mask": [], "size": None, "style_size": 512, "refine": 0, "model": "stylize",
                      "tile": "auto"},
            run=_run_stylize,
            references=("style", "mask"),
        ),
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ParameterError(f"unknown pipeline {name!r}; known: {', '.join(sorted(RECIPES))}") from None


__all__ = ["RECIPES", "ProgressFn", "Recipe", "RecipeResult", "get_recipe", "parse_parameter"]
