"""Retro looks: the differentiable op chain and era presets, reference matching, the retro GAN networks,
the pipeline (engines, strength, seeds, tiling, bit depth, metadata, errors), `patina retro`, the recipe,
`patina train retro` and `patina eval retro`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from patina.cli.app import app
from patina.core.errors import ParameterError
from patina.evaluation.retro_eval import ReferenceSet, StyleStatistics, evaluate_retro
from patina.imageio import Image, read_image, write_image
from patina.looks import ERA_NAMES, ERAS, get_era, look_statistics, match_look, ops, photo_group, render
from patina.looks.match import noise_sigma
from patina.looks.presets import check_strength
from patina.networks import ProjectionDiscriminator, RetroGenerator
from patina.pipelines import retro as retro_module
from patina.pipelines.recipes import get_recipe
from patina.pipelines.retro import RetroPipeline
from patina.weights import ModelCard, save_model
from patina.weights.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
runner = CliRunner()


def scene(height: int = 64, width: int = 80, seed: int = 0) -> torch.Tensor:
    """A colourful (1, 3, H, W) test picture in [0, 1]: gradients, a bright 'sky' band, mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    rgb = np.stack([0.2 + 0.7 * x, 0.3 + 0.5 * y, 0.8 - 0.6 * x * y], axis=0)
    rgb[:, : height // 4] = np.array([0.55, 0.7, 0.95])[:, None, None]
    rgb += rng.normal(0, 0.02, rgb.shape)
    return torch.from_numpy(np.clip(rgb, 0, 1).astype(np.float32))[None]


def toned(image: torch.Tensor) -> torch.Tensor:
    """A sepia print of ``image``."""
    return ops.tint(image, shadows=(0.25, 0.13, 0.1), highlights=(1.0, 0.9, 0.72), amount=1.0)


def to_pixels(image: torch.Tensor) -> np.ndarray:
    return (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    """A small RetroGenerator with a non-zero output layer (so the GAN engine changes the picture)."""
    torch.manual_seed(0)
    generator = RetroGenerator(width=8, inner=8, blocks=1, embed=4)
    torch.nn.init.normal_(generator.tail[-1].weight, std=0.05)
    path = tmp_path_factory.mktemp("retro-model") / "retro.safetensors"
    save_model(generator, path, ModelCard(name="retro", arch="RetroGenerator", version="0.0.0-test", task="retro",
                                          kwargs={"width": 8, "inner": 8, "blocks": 1, "embed": 4}))
    return str(path)


# -- ops and presets ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("era", ERA_NAMES)
def test_strength_zero_is_the_identity_and_one_changes_the_photo(era):
    image = scene()
    assert torch.allclose(render(image, ERAS[era], strength=0.0, seed=3), image, atol=1e-4)
    assert (render(image, ERAS[era], strength=1.0, seed=3) - image).abs().mean() > 0.02


def test_looks_are_seeded():
    image = scene()
    first, again = render(image, ERAS["1990s"], seed=5), render(image, ERAS["1990s"], seed=5)
    other = render(image, ERAS["1990s"], seed=6)
    assert torch.equal(first, again)
    assert (first - other).abs().mean() > 1e-3


def test_chain_is_differentiable_in_image_and_parameters():
    image = scene().requires_grad_(True)
    black = torch.tensor(0.1, requires_grad=True)
    out = ops.tone_curve(ops.soften(image, 2.0, scale=1.0), black=black, contrast=0.2)
    out = ops.grain(ops.vignette(out, amount=0.3), torch.Generator().manual_seed(0), amount=0.02)
    out.mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert black.grad is not None and black.grad.abs() > 0


def test_monochrome_eras_are_neutral_or_warm():
    image = scene(96, 96)
    silver = render(image, ERAS["1920s"], seed=1)
    assert (silver[:, 0] - silver[:, 1]).abs().max() < 1e-4 and (silver[:, 1] - silver[:, 2]).abs().max() < 1e-4
    albumen = render(image, ERAS["1880s"], seed=1)
    assert albumen[:, 0].mean() > albumen[:, 2].mean() + 0.05  # warm (brown) toning
    assert photo_group(albumen) == "toned" and photo_group(silver) == "neutral"


def test_grain_follows_luminance():
    generator = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    mid, dark = torch.full((1, 3, 128, 128), 0.5), torch.full((1, 3, 128, 128), 0.02)
    mid_noise = (ops.grain(mid, generator(), amount=0.05) - mid).std()
    dark_noise = (ops.grain(dark, generator(), amount=0.05) - dark).std()
    assert mid_noise > 2 * dark_noise > 0


def test_sizes_scale_with_the_picture():
    small, large = scene(50, 50), torch.nn.functional.interpolate(scene(50, 50), size=(200, 200), mode="bilinear")
    blurred_small = ops.soften(small, 20.0)
    blurred_large = torch.nn.functional.interpolate(ops.soften(large, 20.0), size=(50, 50), mode="area")
    assert (blurred_small - blurred_large).abs().mean() < 0.02
    assert ops.pixel_scale(small) == 0.05 and ops.pixel_scale(small, 0.5) == 0.5


def test_look_scaling_and_era_names():
    half = ERAS["1970s"].scaled(0.5)
    assert math.isclose(half.saturation, 0.8) and math.isclose(half.black[0], 0.06)
    assert half.grain_size == ERAS["1970s"].grain_size
    assert get_era("1970").name == get_era("70s").name == "1970s"
    with pytest.raises(ParameterError, match="unknown era"):
        get_era("1890s")
    for bad in (1.5, -0.1, True, "half", float("nan")):
        with pytest.raises(ParameterError, match="strength"):
            check_strength(bad)


# -- reference statistics and matching ------------------------------------------------------------------------
def test_photo_group_sorts_real_kinds():
    image = scene()
    gray = ops.saturate(image, 0.0)
    assert photo_group(gray) == "neutral"
    assert photo_group(toned(image)) == "toned"
    assert photo_group(image) == "colour"


def test_match_look_takes_tone_colour_and_grain_from_the_reference():
    photo = scene(128, 160)
    generator = torch.Generator().manual_seed(1)
    reference = ops.grain(ops.tone_curve(toned(scene(128, 128, seed=4)), black=0.15, white=0.8), generator,
                          amount=0.06, size=0.5)
    matched = match_look(photo, reference, seed=2)
    stats = dict(zip(("l_mean", "l_std", "l_p05", "l_p95", "a", "b"), look_statistics(matched).tolist(), strict=False))
    ref = dict(zip(("l_mean", "l_std", "l_p05", "l_p95", "a", "b"), look_statistics(reference).tolist(), strict=False))
    assert abs(stats["l_p05"] - ref["l_p05"]) < 4 and abs(stats["l_p95"] - ref["l_p95"]) < 4
    assert abs(stats["b"] - ref["b"]) < 4 and stats["b"] > 5  # warm like the sepia reference
    grain_out = float(noise_sigma(ops.luma(matched))[0])
    grain_ref = float(noise_sigma(ops.luma(reference))[0])
    assert 0.6 * grain_ref < grain_out < 1.5 * grain_ref
    assert torch.allclose(match_look(photo, reference, strength=0.0), photo, atol=1e-6)


def test_reference_set_distance():
    blocks = lambda v: [torch.tensor([v, 0.0]), torch.tensor([2 * v])]  # noqa: E731
    references = ReferenceSet([blocks(0.0), blocks(1.0), blocks(2.0)])
    assert references.distance(blocks(1.0), nearest=1) == pytest.approx(0.0, abs=1e-6)
    assert references.distance(blocks(10.0), nearest=1) > references.distance(blocks(2.5), nearest=1)
    statistics = StyleStatistics(None)
    assert statistics.kind == "look_statistics" and len(statistics(scene())) == 10


# -- networks ------------------------------------------------------------------------------------------------
def test_generator_starts_as_the_base_look_and_is_era_conditioned():
    torch.manual_seed(0)
    generator = RetroGenerator(width=8, inner=8, blocks=1, embed=4)
    base, noise = torch.rand(2, 3, 32, 32), torch.randn(2, 1, 32, 32)
    assert torch.equal(generator(base, noise, torch.tensor([0, 1])), base)
    torch.nn.init.normal_(generator.tail[-1].weight, std=0.1)
    same = base[:1].expand(2, -1, -1, -1)
    out = generator(same, noise[:1].expand(2, -1, -1, -1), torch.tensor([0, 5]))
    assert out.shape == (2, 3, 32, 32) and (out[0] - out[1]).abs().max() > 1e-4
    discriminator = ProjectionDiscriminator(classes=3, width=8, layers=2)
    logits = discriminator(same, torch.tensor([0, 2]))
    assert logits.shape[:2] == (2, 1) and (logits[0] - logits[1]).abs().max() > 0


def test_diff_augment_is_random_differentiable_and_keeps_shape():
    from patina.training.augment import diff_augment

    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    torch.manual_seed(0)
    first = diff_augment(x)
    second = diff_augment(x)
    assert first.shape == x.shape and (first - second).abs().mean() > 1e-3
    assert ((first == 0).all(dim=1).flatten(1).sum(dim=1) >= 8 * 8).all()  # an 8x8 cutout in every sample
    first.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# -- pipeline ------------------------------------------------------------------------------------------------
def test_preset_engine(model_path):
    image = scene()
    pipe = RetroPipeline(era="1950s", engine="preset", seed=4, device="cpu")
    out = pipe(image)
    assert out.shape == image.shape and torch.equal(out, pipe(image))
    assert torch.allclose(RetroPipeline(era="1950s", engine="preset", strength=0.0, device="cpu")(image), image,
                          atol=1e-4)
    assert pipe.card is None


def test_gan_engine_tiles_agree_and_strength_blends(model_path):
    image = scene(96, 130)
    whole = RetroPipeline(era="1970s", engine="gan", model=model_path, tile=0, seed=1, device="cpu")(image)
    tiled = RetroPipeline(era="1970s", engine="gan", model=model_path, tile=48, seed=1, device="cpu")(image)
    assert whole.shape == image.shape
    assert (whole - tiled).abs().max() < 1 / 255
    preset = RetroPipeline(era="1970s", engine="preset", seed=1, device="cpu")(image)
    assert (whole - preset).abs().mean() > 1e-3  # the generator changed the look
    none = RetroPipeline(era="1970s", engine="gan", model=model_path, strength=0.0, device="cpu")(image)
    assert torch.allclose(none, image, atol=1e-5)


def test_gan_on_large_images_works_at_its_side(model_path, monkeypatch):
    monkeypatch.setattr(retro_module, "GAN_SIDE", 32)
    image = scene(70, 90)
    out = RetroPipeline(era="1920s", model=model_path, device="cpu")(image)
    assert out.shape == image.shape and (out[:, 0] - out[:, 2]).abs().max() < 0.15


def test_like_reference_sets_the_era_and_look(model_path):
    reference = toned(scene(64, 64, seed=9))
    pipe = RetroPipeline(like=reference, model=model_path, device="cpu")
    assert pipe.era == "1880s"
    out = RetroPipeline(like=reference, engine="preset", device="cpu")(scene())
    assert photo_group(out) == "toned"
    assert pipe(scene()).shape == (1, 3, 64, 80)


def test_retro_image_keeps_depth_alpha_and_metadata(model_path):
    rgb16 = (to_pixels(scene()).astype(np.uint16) * 257)
    alpha = np.full(rgb16.shape[:2], 50000, dtype=np.uint16)
    image = Image(pixels=rgb16, alpha=alpha, exif=b"Exif\x00\x00fake")
    out = RetroPipeline(era="1880s", model=model_path, device="cpu").retro_image(image)
    assert out.pixels.dtype == np.uint16 and out.pixels.shape == rgb16.shape
    assert np.array_equal(out.alpha, alpha) and out.exif == image.exif
    gray = Image(pixels=to_pixels(scene())[:, :, :1].copy())
    coloured = RetroPipeline(era="1880s", engine="preset", device="cpu").retro_image(gray)
    assert coloured.pixels.shape == (64, 80, 3) and coloured.pixels[..., 0].mean() > coloured.pixels[..., 2].mean()


def test_bad_parameters_are_clear_errors(model_path, monkeypatch, tmp_path):
    with pytest.raises(ParameterError, match="engine"):
        RetroPipeline(engine="neural")
    with pytest.raises(ParameterError, match="unknown era"):
        RetroPipeline(era="2050s", engine="preset")
    with pytest.raises(ParameterError, match="seed"):
        RetroPipeline(engine="preset", seed=-1)
    other = tmp_path / "other.safetensors"
    save_model(ProjectionDiscriminator(classes=3, width=8, layers=1), other,
               ModelCard(name="other", arch="ProjectionDiscriminator", version="0.0.0-test",
                         kwargs={"classes": 3, "width": 8, "layers": 1}))
    with pytest.raises(ParameterError, match="not a retro model"):
        RetroPipeline(engine="gan", model=str(other))
    monkeypatch.setattr(retro_module, "MAX_PIXELS", 1000)
    with pytest.raises(ParameterError, match="MP"):
        RetroPipeline(engine="preset")(scene())
    with pytest.raises(ParameterError, match=r"\(1, 3, H, W\)"):
        RetroPipeline(engine="preset")(torch.rand(3, 8, 8))


def test_recipe_records_the_parameters(model_path):
    recipe = get_recipe("retro")
    image = Image(pixels=to_pixels(scene()))
    result = recipe.execute(image, recipe.parameters({"engine": "preset", "era": "20s", "seed": 2}), "cpu", None)
    assert result.parameters["era"] == "1920s" and result.parameters["seed"] == 2 and result.models == []
    assert result.image.pixels.shape == (64, 80, 3)
    with pytest.raises(ParameterError, match="no parameter"):
        recipe.parameters({"look": "x.jpg"})
    with pytest.raises(ParameterError, match="images of like"):  # a reference photo is an archive item
        recipe.execute(image, recipe.parameters({"like": 3}), "cpu", None)


# -- CLI ---------------------------------------------------------------------------------------------------
def test_cli_retro_writes_results_and_leaves_inputs(tmp_path, model_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_image(folder / "a.png", Image(pixels=to_pixels(scene())))
    before = (folder / "a.png").read_bytes()
    result = runner.invoke(app, ["retro", str(folder), "-o", str(tmp_path / "out"), "--era", "1920s", "--engine",
                                 "preset"])
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out" / "a.png").pixels.astype(int)
    assert out.shape == (64, 80, 3) and np.abs(out[..., 0] - out[..., 2]).max() <= 1
    assert (folder / "a.png").read_bytes() == before
    result = runner.invoke(app, ["retro", str(folder), "-o", str(tmp_path / "gan"), "--model", model_path,
                                 "--engine", "gan", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "gan" / "a.png").is_file()


def test_cli_retro_rejects_a_bad_reference(tmp_path):
    broken = tmp_path / "ref.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    photo = tmp_path / "a.png"
    write_image(photo, Image(pixels=to_pixels(scene())))
    result = runner.invoke(app, ["retro", str(photo), "-o", str(tmp_path / "out"), "--like", str(broken)])
    assert result.exit_code == 2 and "ref.jpg" in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.slow
@pytest.mark.skipif(not REGISTRY["retro"].path.is_file(), reason="retro weights not shipped")
def test_shipped_model_runs_on_the_sample(tmp_path):
    result = runner.invoke(app, ["retro", "--sample", "-o", str(tmp_path), "--era", "1980s", "--engine", "gan"])
    assert result.exit_code == 0, result.output
    card = json.loads(REGISTRY["retro"].path.with_suffix(".json").read_text())
    assert card["arch"] == "RetroGenerator" and card["training"]["eras"] == list(ERA_NAMES)


# -- training and evaluation on synthetic data ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic_sets(tmp_path_factory) -> tuple[Path, Path]:
    """modern/: 4 colour scenes; old/: 3 neutral, 3 toned and 3 colour 'old photos' (grainy, soft)."""
    root = tmp_path_factory.mktemp("retro-data")
    (root / "modern").mkdir()
    (root / "old").mkdir()
    for index in range(4):
        write_image(root / "modern" / f"m{index}.png", Image(pixels=to_pixels(scene(96, 96, seed=index))))
    for index in range(3):
        base = render(scene(96, 96, seed=10 + index), ERAS["1950s"], seed=index)
        for kind, image in (("gray", ops.saturate(base, 0.0)), ("sepia", toned(base)), ("colour", base)):
            write_image(root / "old" / f"{kind}{index}.png", Image(pixels=to_pixels(image)))
    return root / "modern", root / "old"


@pytest.mark.slow
def test_train_retro_tiny_run_exports_a_usable_model(tmp_path, synthetic_sets):
    modern, old = synthetic_sets
    config = tmp_path / "retro.yaml"
    config.write_text((ROOT / "configs" / "retro-tiny.yaml").read_text()
                      .replace("../shared/data/train/T91", str(modern)).replace("../shared/data/old_photos", str(old))
                      .replace("holdout_every: 10", "holdout_every: 4"))
    result = runner.invoke(app, ["train", "retro", "--config", str(config), "--out-dir", str(tmp_path / "run"),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    weights = tmp_path / "run" / "export" / "retro.safetensors"
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["arch"] == "RetroGenerator" and card["steps"] == 6
    assert card["training"]["real_photos_train"] == {"toned": 2, "neutral": 2, "colour": 2}
    out = RetroPipeline(era="1950s", engine="gan", model=str(weights), device="cpu")(scene())
    assert out.shape == (1, 3, 64, 80) and torch.isfinite(out).all()


@pytest.mark.slow
def test_eval_retro_scores_every_engine(synthetic_sets, model_path):
    modern, old = synthetic_sets
    report = evaluate_retro([modern], real_roots=[old], model=model_path, eras=["1880s", "1970s"], teacher=None,
                            device="cpu", limit=2, progress=False)
    assert [d.name for d in report.datasets] == ["modern-1880s", "modern-1970s"]
    assert report.settings["statistics"] == "look_statistics"
    assert report.settings["reference_photos"] == {"toned": 1, "neutral": 1, "colour": 1}
    for result in report.datasets:
        assert set(result.methods) == {"input", "preset", "gan"}
        input_scores = result.methods["input"]
        assert input_scores.ssim == pytest.approx(1.0) and len(input_scores.images) == 2
        for key in ("preset", "gan"):
            assert 0 < result.methods[key].ssim < 1
            assert result.methods[key].extra_means()["style_distance"] >= 0
        palettes = {key: result.methods[key].extra_means() for key in ("preset", "gan")}
        assert palettes["preset"]["hue_shift"] == 0 and palettes["preset"]["chroma_shift"] == 0  # the era itself
        assert 0 <= palettes["gan"]["hue_shift"] <= 180
    assert "its palette against the preset's: hue" in " ".join(evaluate_notes(report))
    toned_set = report.datasets[0]
    # the toned reference is closer to an albumen look than to the untouched colour photo
    assert (toned_set.methods["preset"].extra_means()["style_distance"]
            < toned_set.methods["input"].extra_means()["style_distance"])


def evaluate_notes(report):
    from patina.evaluation.retro_eval import RetroEval

    return RetroEval(real_roots=[]).notes(report)


def test_palette_shift_measures_cast_angle_and_vividness():
    from patina.evaluation.retro_eval import palette, palette_shift

    warm = torch.tensor([0.8, 0.5, 0.3]).view(1, 3, 1, 1).expand(1, 3, 8, 8)
    cool = torch.tensor([0.3, 0.5, 0.8]).view(1, 3, 1, 1).expand(1, 3, 8, 8)
    gray = torch.full((1, 3, 8, 8), 0.5)
    assert palette_shift(palette(warm), palette(warm)) == (0.0, 0.0)
    hue, chroma = palette_shift(palette(cool), palette(warm))
    assert hue > 120 and abs(chroma) < 15  # opposite casts, similar vividness
    assert palette_shift(palette(gray), palette(warm))[1] < -20  # gray is duller


def test_auto_engine_is_the_gan_for_black_and_white_eras_and_the_preset_for_colour_ones(model_path):
    for era, engine in (("1880s", "gan"), ("1920s", "gan"), ("1950s", "preset"), ("1970s", "preset"),
                        ("1980s", "preset"), ("1990s", "preset")):
        pipe = RetroPipeline(era=era, model=model_path, device="cpu")
        assert pipe.engine == engine and pipe.resolved_options().engine == engine  # recorded as chosen
        assert (pipe.generator is not None) == (engine == "gan")
    assert RetroPipeline(era="1970s", engine="gan", model=model_path, device="cpu").engine == "gan"


def test_cli_eval_retro_reports_missing_sets(tmp_path):
    result = runner.invoke(app, ["eval", "retro", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code != 0


TEACHER = ROOT.parent / "shared" / "weights" / "vgg19_relu3_1" / "vgg_normalised_conv3_1.pth"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "old_photos").is_dir() or not TEACHER.is_file(), reason="../shared is absent")
def test_eval_retro_on_real_old_photos_with_the_teacher(model_path):
    report = evaluate_retro([SHARED / "denoise" / "Kodak24"], real_roots=[SHARED / "old_photos"], model=model_path,
                            eras=["1920s"], teacher=TEACHER, device="cpu", limit=2, progress=False)
    assert report.settings["statistics"] == "vgg19_relu1_1-3_1_mean_std"
    counts = report.settings["reference_photos"]
    assert counts["neutral"] > 20 and counts["toned"] > 5 and counts["colour"] >= 1
    means = {key: m.extra_means()["style_distance"] for key, m in report.datasets[0].methods.items()}
    # a neutral B&W look is closer to real silver gelatin prints than the untouched colour photo
    assert means["preset"] < means["input"] and means["gan"] < means["input"]
