"""The contract every pipeline keeps, written once (like kornia's BaseTester): modes and depths, tiny and
extreme shapes, tiled == untiled, determinism, clear errors for every bad option, and settings that round-trip
through the archive's recipe. Adding a pipeline to the contract is one line in ``CASES``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from patina.core.errors import ParameterError
from patina.core.options import OptionError, OptionInfo, option_specs
from patina.imageio import Image
from patina.pipelines.base import PhotoPipeline
from patina.pipelines.colorize import ColorizePipeline
from patina.pipelines.recipes import PIPELINES, get_recipe
from patina.pipelines.restore import RestorePipeline
from patina.pipelines.retro import RetroPipeline
from patina.pipelines.stylize import StylizePipeline
from patina.pipelines.upscale import UpscalePipeline


def photo(height: int, width: int, *, channels: int = 3, dtype: type = np.uint8, alpha: bool = False,
          seed: int = 0) -> Image:
    """A small photo-like test image: smooth shapes plus a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(x / 7.0)[..., None] * np.cos(y / 5.0)[..., None] * np.array([1.0, 0.8, 0.6])
    values = np.clip(base + rng.normal(0, 0.03, (height, width, 3)), 0, 1)[..., :channels]
    top = np.iinfo(dtype).max
    pixels = np.round(values * top).astype(dtype)
    transparency = np.round(np.linspace(0, 1, width)[None, :].repeat(height, 0) * top).astype(dtype) if alpha else None
    return Image(pixels=pixels, alpha=transparency)


@dataclass(frozen=True)
class Case:
    """A pipeline under the contract, with options that keep it quick on a CPU."""

    pipeline: type[PhotoPipeline]
    fast: dict[str, Any] = field(default_factory=dict)
    references: dict[str, list[Image]] = field(default_factory=dict)

    def make(self, **options: Any) -> PhotoPipeline:
        given = self.pipeline.Options.from_mapping({**self.fast, **self.reference_names(), **options})
        return self.pipeline.create(given, device="cpu", references=self.references)

    def reference_names(self) -> dict[str, list[str]]:
        return {name: [f"{name}-{i}" for i in range(len(images))] for name, images in self.references.items()}

    @property
    def tiles(self) -> bool:
        return "tile" in {info.name for info in option_specs(self.pipeline.Options)}


CASES = [
    Case(RestorePipeline, {"ensemble": False}),
    Case(ColorizePipeline, {"render_size": 64}),
    Case(UpscalePipeline, {"scale": 2}),
    Case(RetroPipeline, {"era": "1920s", "seed": 3}),
    Case(StylizePipeline, {"style_size": 64}, {"style": [photo(48, 48, seed=9)]}),
]
IDS = [case.pipeline.name for case in CASES]


def test_every_pipeline_is_under_contract() -> None:
    assert {case.pipeline for case in CASES} == set(PIPELINES)


def expected_size(pipeline: PhotoPipeline, image: Image) -> tuple[int, int]:
    return image.height * pipeline.scale, image.width * pipeline.scale


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("kind", ["gray", "rgb", "rgba", "rgb16", "gray16-alpha"])
def test_modes_and_depths_come_out_as_they_went_in(case: Case, kind: str) -> None:
    image = {"gray": photo(40, 36, channels=1), "rgb": photo(40, 36), "rgba": photo(40, 36, alpha=True),
             "rgb16": photo(40, 36, dtype=np.uint16),
             "gray16-alpha": photo(40, 36, channels=1, dtype=np.uint16, alpha=True)}[kind]
    pipeline = case.make()
    result = pipeline.process(image)
    assert result.pixels.dtype == image.pixels.dtype
    channels = 3 if pipeline.makes_colour else image.pixels.shape[2]
    assert result.pixels.shape == (*expected_size(pipeline, image), channels)
    assert (result.alpha is None) == (image.alpha is None)
    if result.alpha is not None:
        assert result.alpha.shape == result.pixels.shape[:2] and result.alpha.dtype == image.pixels.dtype


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 500), (500, 3)])
def test_tiny_and_extreme_shapes_work_or_are_refused_clearly(case: Case, shape: tuple[int, int]) -> None:
    image = photo(*shape)
    pipeline = case.make()
    if min(shape) < pipeline.min_side:
        with pytest.raises(ParameterError, match=f"at least {pipeline.min_side}x{pipeline.min_side}"):
            pipeline.process(image)
        return
    result = pipeline.process(image)
    assert result.pixels.shape[:2] == expected_size(pipeline, image)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_3x5000_strip(case: Case) -> None:
    image = photo(3, 5000)
    pipeline = case.make()
    if min(image.height, image.width) < pipeline.min_side:
        with pytest.raises(ParameterError, match="at least"):
            pipeline.process(image)
    else:
        assert pipeline.process(image).pixels.shape[:2] == expected_size(pipeline, image)


TILED = [case for case in CASES if case.tiles]


@pytest.mark.parametrize("case", TILED, ids=[case.pipeline.name for case in TILED])
def test_tiled_equals_untiled_within_one_level(case: Case) -> None:
    image = photo(150, 130, seed=4)
    whole = case.make(tile=0).process(image).pixels.astype(int)
    tiled = case.make(tile=96).process(image).pixels.astype(int)
    assert np.abs(whole - tiled).max() <= 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_same_settings_same_bytes(case: Case) -> None:
    image = photo(48, 40, seed=5)
    first, second = case.make().process(image), case.make().process(image)
    assert first.pixels.tobytes() == second.pixels.tobytes()


def bad_values(info: OptionInfo) -> list[Any]:
    """Values the option must refuse."""
    spec, kind = info.spec, info.kind
    values: list[Any] = []
    if kind == "boolean":
        return ["yes", 1]
    if kind == "references":
        return [{"a": 1}, [1.5]] + ([[1] * (spec.max_items + 1)] if spec.max_items else [])
    if kind in ("integers", "numbers"):
        values.append(["x"])
        if spec.minimum is not None:
            values.append([spec.minimum - 1])
        return values
    if spec.choices:
        values.append("nonsense")
    if kind in ("integer", "number"):
        values += [True, float("nan")]
        if spec.minimum is not None:
            values.append(spec.minimum - 1)
        if spec.maximum is not None:
            values.append(spec.maximum + 1)
        if spec.auto:
            values.append("automatic")
    if kind == "text":
        values.append(5)
    return values


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_bad_option_is_a_clear_error(case: Case) -> None:
    checked = 0
    for info in option_specs(case.pipeline.Options):
        for value in bad_values(info):
            with pytest.raises(OptionError) as refused:
                case.pipeline.Options.from_mapping({info.name: value})
            assert refused.value.option == info.name and info.name in str(refused.value), (info.name, value)
            checked += 1
    with pytest.raises(ParameterError, match="no parameter"):
        case.pipeline.Options.from_mapping({"no_such_option": 1})
    assert checked >= len(option_specs(case.pipeline.Options))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_resolved_settings_round_trip_through_the_archive_recipe(case: Case) -> None:
    recipe = get_recipe(case.pipeline.name)
    image = photo(48, 40, seed=6)
    first = recipe.execute(image, recipe.parameters({**case.fast, **case.reference_names()}), "cpu",
                           references=case.references)
    assert "auto" not in first.parameters.values()
    again = recipe.execute(image, recipe.parameters(first.parameters), "cpu", references=case.references)
    assert again.parameters == first.parameters and again.models == first.models
    assert again.image.pixels.tobytes() == first.image.pixels.tobytes()
    assert all(len(model["sha256"]) == 64 for model in first.models)


def test_a_new_option_shows_up_in_the_cli_the_api_and_the_recipe_with_no_other_edit(monkeypatch, tmp_path) -> None:
    """Options are declared once: a field added to a pipeline's options dataclass is a command-line flag, part
    of GET /api/pipelines and an archive recipe parameter, checked everywhere, with no other change."""
    from dataclasses import dataclass

    import typer
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from patina.cli.pipeline_command import pipeline_command
    from patina.core.options import option
    from patina.pipelines.restore import RestoreOptions
    from patina.service.app import create_app
    from patina.service.settings import Settings

    @dataclass(frozen=True)
    class WithGrain(RestoreOptions):
        keep_grain: float = option(0.25, "How much of the photo's own grain to keep.", minimum=0, maximum=1)

    monkeypatch.setattr(RestorePipeline, "Options", WithGrain)

    app = typer.Typer()
    app.command("restore")(pipeline_command(RestorePipeline, verb="restored", doc="Restore old photographs."))
    shown = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "--keep-grain" in shown and "How much of the photo's own grain to keep." in shown and "0.25" in shown
    refused = CliRunner().invoke(app, ["x.png", "-o", str(tmp_path), "--keep-grain", "3"])
    assert refused.exit_code == 2 and "keep_grain must be between 0 and 1" in refused.output

    with TestClient(create_app(Settings(data_dir=tmp_path / "d", api_token="t"), start_workers=False)) as client:
        pipelines = client.get("/api/pipelines", headers={"Authorization": "Bearer t"}).json()
    restore = next(p for p in pipelines if p["name"] == "restore")
    option_entry = next(o for o in restore["options"] if o["name"] == "keep_grain")
    assert (option_entry["type"], option_entry["default"], option_entry["maximum"]) == ("number", 0.25, 1)

    recipe = get_recipe("restore")
    assert recipe.parameters({"keep_grain": 0.5})["keep_grain"] == 0.5 and recipe.defaults["keep_grain"] == 0.25
    with pytest.raises(OptionError, match="keep_grain"):
        recipe.parameters({"keep_grain": 2})
