"""Pipelines by name, with every parameter spelled out: what the archive records and re-runs.

A recipe turns a pipeline's name and a dict of parameters (JSON values, checked by the pipeline's options
dataclass) into a run on an :class:`Image`, and reports back the complete parameters it used (defaults
filled in, 'auto' choices made concrete) and the models with their weights' sha256, so that the run can be
recorded and repeated exactly. Everything here is derived from the pipelines' options: adding a pipeline
is one entry in :data:`PIPELINES`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from patina.core.errors import ParameterError
from patina.core.options import OptionError, Options, option_specs
from patina.imageio import Image
from patina.pipelines.base import PhotoPipeline, ProgressFn
from patina.pipelines.colorize import ColorizePipeline
from patina.pipelines.restore import RestorePipeline
from patina.pipelines.retro import RetroPipeline
from patina.pipelines.stylize import StylizePipeline
from patina.pipelines.upscale import UpscalePipeline

PIPELINES: tuple[type[PhotoPipeline], ...] = (RestorePipeline, ColorizePipeline, UpscalePipeline, RetroPipeline,
                                              StylizePipeline)
"""Every pipeline the archive, the service and the command line offer."""


@dataclass(frozen=True)
class RecipeResult:
    """A pipeline's output with the exact parameters and models that made it."""

    image: Image
    parameters: dict[str, Any]
    models: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the pipeline noted about this photo (a step left out, and why)."""
    findings: dict[str, Any] = field(default_factory=dict)
    """What the pipeline found in this photo, for the record (the faces restore's face stage restored)."""


@dataclass(frozen=True)
class Recipe:
    """A pipeline as the archive runs it: by name, from JSON parameters."""

    pipeline: type[PhotoPipeline]

    @property
    def name(self) -> str:
        return self.pipeline.name

    @property
    def description(self) -> str:
        return self.pipeline.description

    @property
    def options(self) -> type[Options]:
        return self.pipeline.Options

    @property
    def defaults(self) -> dict[str, Any]:
        """Every parameter's default (JSON values)."""
        return {entry["name"]: entry["default"] for entry in self.schema}

    @property
    def schema(self) -> list[dict[str, Any]]:
        """Every parameter's type, default, range or choices and help (the REST API's schema, the web UI's forms)."""
        return [info.describe() for info in option_specs(self.options)]

    @property
    def weights_options(self) -> tuple[str, ...]:
        """Parameters whose values may name a model (a registry name or a weights file)."""
        return tuple(info.name for info in option_specs(self.options) if info.spec.weights)

    @property
    def references(self) -> tuple[str, ...]:
        """Parameters whose values name further input images (archive items: ids or sha256, one or a list);
        the archive records them as full sha256 lists and hands their images to :meth:`execute`."""
        return tuple(info.name for info in option_specs(self.options) if info.spec.reference)

    def parameters(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults updated with ``given``, every value checked: an unknown name or a bad value is a
        ParameterError (an :class:`OptionError` naming the option)."""
        options = self.options.from_mapping(given)
        for info in option_specs(self.options):
            if info.spec.required and not getattr(options, info.name):
                raise OptionError(info.name, f"{self.name} needs at least one {info.name} image (archive items)")
        return options.as_dict()

    def execute(self, image: Image, parameters: Mapping[str, Any], device: str, on_progress: ProgressFn | None = None,
                references: Mapping[str, Sequence[Image]] | None = None) -> RecipeResult:
        """Run the pipeline; ``references`` holds the images of the reference parameters (by name)."""
        options = self.options.from_mapping(parameters)
        missing = [name for name in self.references if getattr(options, name) and name not in (references or {})]
        if missing:
            raise ParameterError(f"{self.name} needs the images of {', '.join(missing)}")
        pipeline = self.pipeline.create(options, device=device, references=references or {})
        used = pipeline.resolved_options()
        result = pipeline.process(image, on_progress)
        return RecipeResult(image=result, parameters=used.as_dict(), models=pipeline.models(), notes=pipeline.notes,
                            findings=pipeline.findings)


RECIPES: dict[str, Recipe] = {pipeline.name: Recipe(pipeline) for pipeline in PIPELINES}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ParameterError(f"unknown pipeline {name!r}; known: {', '.join(sorted(RECIPES))}") from None


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


__all__ = ["PIPELINES", "RECIPES", "ProgressFn", "Recipe", "RecipeResult", "get_recipe", "parse_parameter"]
