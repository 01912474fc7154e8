"""Style transfer: fusion maps, the style losses, style data helpers, the pipeline (alpha, mixes, WCT,
colour preservation, masks, tiling, bit depth, metadata, errors), `patina stylize`, the archive recipe with
style items, `patina train stylize` and `patina eval stylize`."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import sha256_of_file, write_photo
from patina.cli.app import app
from patina.core.device import select_device
from patina.core.errors import ConfigError, ParameterError
from patina.evaluation.stylize_eval import WEIGHTS
from patina.imageio import Image, read_image, write_image
from patina.losses import StyleObjective, StyleSummary, content_distance, gram_distance, statistics_distance
from patina.losses.perceptual import gram_matrix
from patina.losses.style import moments
from patina.networks import StyleEncoder, StyleTransferNet
from patina.ops.color import split_lab
from patina.ops.fusion import FeatureStatistics, adain, fusion_map, mean_std, wct
from patina.ops.lbfgs import lbfgs
from patina.pipelines.recipes import get_recipe
from patina.pipelines.stylize import REFINE_MAX_SIDE, REFINE_STEPS, StylizePipeline
from patina.training.augment import diff_augment
from patina.data import artwork_key, split_styles
from patina.training.datasets import PhotoCrops
from patina.weights import ModelCard, load_model, save_model
from patina.weights.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TEACHER = SHARED / "weights" / "vgg19_relu3_1" / "vgg_normalised_conv3_1.pth"
INVERTER = SHARED / "weights" / "vgg19_relu3_1" / "feature_invertor_conv3_1.pth"
ADAIN = SHARED / "data" / "style" / "adain"
needs_teacher = pytest.mark.skipif(not TEACHER.is_file(), reason="needs ../shared teacher weights")
runner = CliRunner()


def picture(seed: int, height: int = 64, width: int = 80) -> torch.Tensor:
    """A (1, 3, H, W) picture in [0, 1]: colour gradients, stripes of a seeded frequency, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    stripes = 0.5 + 0.5 * np.sin((x * (3 + seed) + y * (5 - seed % 3)) * 2 * np.pi)
    rgb = (np.stack([0.2 + 0.6 * x, 0.3 + 0.4 * stripes, 0.8 - 0.5 * y], axis=0)
           + rng.normal(0, 0.03, (3, height, width)))
    return torch.from_numpy(np.clip(rgb, 0, 1).astype(np.float32))[None]


def to_pixels(image: torch.Tensor, dtype=np.uint8) -> np.ndarray:
    scale = np.iinfo(dtype).max
    return (image[0].permute(1, 2, 0).numpy() * scale).round().astype(dtype)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    """A small StyleTransferNet with random weights (its output depends on the style)."""
    torch.manual_seed(0)
    kwargs = {"encoder": {"widths": [8, 8, 16]}, "decoder": {"widths": [8, 8, 16], "blocks": 1}}
    net = StyleTransferNet(**kwargs)
    for conv in [*net.encoder.modules(), *net.decoder.modules()]:
        if isinstance(conv, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    torch.nn.init.normal_(net.decoder.convs[-1].weight, std=0.05)
    torch.nn.init.constant_(net.decoder.convs[-1].bias, 0.5)
    path = tmp_path_factory.mktemp("stylize-model") / "stylize.safetensors"
    save_model(net, path, ModelCard(name="stylize", arch="StyleTransferNet", kwargs=kwargs, version="test",
                                    task="stylize", dtype="float32"))
    return str(path)


# -- fusion maps and losses ---------------------------------------------------------------------------
def test_fusion_map_matches_the_direct_fusions_and_blends_by_alpha():
    content, first, second = picture(0)[:, :, :12, :12] * 4, picture(1)[:, :, :16, :16], picture(2)[:, :, :8, :8]
    content = torch.cat([content, content.flip(1) * 2], dim=1)  # 6 channels, correlated
    first, second = torch.cat([first, first.flip(1)], dim=1), torch.cat([second * 3, second], dim=1)
    stats = [FeatureStatistics.of(f) for f in (content, first, second)]
    adain_map = fusion_map(stats[0], stats[1:], method="adain", weights=[1, 2], alpha=0.6)
    assert torch.allclose(adain_map(content), adain(content, [first, second], weights=[1, 2], alpha=0.6), atol=2e-2)
    wct_map = fusion_map(stats[0], stats[1:2], method="wct")
    assert torch.allclose(wct_map(content), wct(content, [first]), atol=1e-4)
    identity = fusion_map(stats[0], stats[1:], method="wct", alpha=0.0)
    assert torch.allclose(identity(content), content, atol=1e-5)
    with pytest.raises(ParameterError, match="fusion"):
        fusion_map(stats[0], stats[1:], method="gatys")
    with pytest.raises(ParameterError, match=r"\(1, C, H, W\)"):
        FeatureStatistics.of(torch.cat([content, content]))


def test_style_distances_are_zero_for_a_match_and_size_invariant():
    features = [picture(3, 32, 32) * 5, picture(4, 16, 16)]
    other = [picture(5, 32, 32), picture(6, 16, 16) * 2]
    assert float(content_distance(features, features)) == 0
    assert float(statistics_distance(features, features)) < 1e-6 and float(gram_distance(features, features)) < 1e-6
    assert float(content_distance(other, features)) > 0.1
    assert float(statistics_distance(other, features)) > 0.1 and float(gram_distance(other, features)) > 0.1
    tiled = [f.repeat(1, 1, 2, 2) for f in features]  # the same texture, four times the area
    assert float(statistics_distance(tiled, features)) < 1e-3 and float(gram_distance(tiled, features)) < 1e-3


def test_style_objective_takes_precomputed_targets_and_weighs_styles():
    photo = [picture(3, 32, 32), picture(4, 16, 16)]
    first, second = [picture(5, 32, 32), picture(6, 16, 16) * 2], [picture(7, 24, 24) * 3, picture(8, 12, 12)]
    output = [picture(9, 32, 32), picture(10, 16, 16)]
    summary = StyleSummary.of(first)
    assert torch.allclose(statistics_distance(output, summary), statistics_distance(output, first))
    assert torch.allclose(gram_distance(output, summary), gram_distance(output, first))
    weights = {"content": 1.0, "statistics": 2.0, "gram": 3.0}
    one = StyleObjective(photo, [first], weights=weights)(output)
    expected = (content_distance(output, photo) + 2 * statistics_distance(output, first)
                + 3 * gram_distance(output, first))
    assert torch.allclose(one, expected)
    mixed = StyleObjective(photo, [summary, second], weights=weights, style_weights=[3, 1])(output)
    second_only = StyleObjective(photo, [second], weights=weights)(output)
    content = content_distance(output, photo)
    assert torch.allclose(mixed - content, 0.75 * (one - content) + 0.25 * (second_only - content))
    with pytest.raises(ValueError, match="style_weights"):
        StyleObjective(photo, [first, second], weights=weights, style_weights=[1])


def test_encoder_zero_padding_changes_only_the_edges():
    torch.manual_seed(0)
    encoder = StyleEncoder(widths=(8, 8, 16))
    photo = picture(1, 48, 64)
    with torch.no_grad():
        reflected, zeroed = encoder(photo), encoder(photo, zero_padding=True)
    for layer, other, edge in zip(reflected, zeroed, (1, 2, 3), strict=True):  # how far each layer's padding reaches in
        assert layer.shape == other.shape
        inner = (..., slice(edge, -edge), slice(edge, -edge))
        assert torch.allclose(layer[inner], other[inner], atol=1e-5)
        assert float((layer - other).abs().max()) > 1e-3


@pytest.mark.slow
def test_moments_match_autograd_in_both_layouts():
    torch.manual_seed(0)
    for layer in (torch.rand(2, 5, 6, 7, dtype=torch.float64),
                  torch.rand(2, 5, 6, 7, dtype=torch.float64).contiguous(memory_format=torch.channels_last)):
        mean, std, gram = moments(layer)
        plain_mean, plain_std = mean_std(layer)
        assert torch.allclose(mean, plain_mean) and torch.allclose(std, plain_std)
        assert torch.allclose(gram, gram_matrix(layer))
        assert torch.autograd.gradcheck(lambda x: [t.sum(0) for t in moments(x)], layer.requires_grad_(True))


def test_moments_of_bf16_channels_last_features_stay_close_and_keep_their_layout():
    torch.manual_seed(0)
    layer = torch.relu(torch.randn(1, 16, 40, 48)).contiguous(memory_format=torch.channels_last)
    reduced = layer.to(torch.bfloat16).requires_grad_(True)
    for exact, approximate in zip(moments(layer), moments(reduced), strict=True):
        assert approximate.dtype == torch.float32
        assert torch.allclose(approximate, exact, rtol=0.02, atol=1e-3)
    sum(t.sum() for t in moments(reduced)).backward()
    assert reduced.grad.dtype == torch.bfloat16 and reduced.grad.is_contiguous(memory_format=torch.channels_last)


def test_style_objective_in_bf16_agrees_with_float32():
    photo, style, output = ([torch.relu(picture(seed, 32, 32).repeat(1, 4, 1, 1) - 0.3),
                             torch.relu(picture(seed + 1, 16, 16).repeat(1, 8, 1, 1) - 0.4)] for seed in (1, 3, 5))
    objective = StyleObjective(photo, [style], weights=WEIGHTS)
    exact = objective(output)
    reduced = [layer.to(torch.bfloat16).contiguous(memory_format=torch.channels_last).requires_grad_(True)
               for layer in output]
    approximate = objective(reduced)
    assert torch.allclose(approximate, exact, rtol=0.02)
    approximate.sum().backward()
    assert all(layer.grad.dtype == torch.bfloat16 for layer in reduced)


@pytest.mark.slow
def test_lbfgs_sizes_its_first_step_converges_and_returns_the_best_point():
    torch.manual_seed(0)
    curvature = torch.logspace(0, 2, 4096)  # an ill-conditioned quadratic, minimum 0 at 0
    start = torch.randn(4096)

    def loss_and_gradient(x: torch.Tensor) -> tuple[float, torch.Tensor]:
        return float(0.5 * (curvature * x * x).sum()), curvature * x

    def torch_lbfgs(steps: int) -> float:
        x = start.clone().requires_grad_(True)
        optimiser = torch.optim.LBFGS([x], lr=1.0, max_iter=steps, max_eval=steps + 1, history_size=8)

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = 0.5 * (curvature * x * x).sum()
            loss.backward()
            return loss

        optimiser.step(closure)
        return loss_and_gradient(x.detach())[0]

    initial = loss_and_gradient(start)[0]
    first = lbfgs(start, loss_and_gradient, steps=1, first_step=0.5)
    assert abs(float((first - start).pow(2).mean().sqrt()) - 0.5) < 1e-3
    assert loss_and_gradient(first)[0] < 0.5 * initial < torch_lbfgs(1)  # torch's first step barely moves
    six = loss_and_gradient(lbfgs(start, loss_and_gradient, steps=6, first_step=0.5))[0]
    assert six < initial / 40 and six < 0.9 * torch_lbfgs(6)
    assert torch.equal(lbfgs(start, loss_and_gradient, steps=0, first_step=0.5), start)
    misled = lbfgs(start, lambda x: (loss_and_gradient(x)[0], -loss_and_gradient(x)[1]), steps=3, first_step=0.5)
    assert torch.equal(misled, start)  # every step raised the loss: the start was the best point
    with pytest.raises(ValueError, match="first_step"):
        lbfgs(start, loss_and_gradient, steps=3, first_step=0)


@pytest.mark.slow
def test_bf16_painting_on_fast_cpus_agrees_with_float32(model_path, monkeypatch):
    photo, style = picture(11, 44, 52), picture(12, 40, 40).flip(1)
    monkeypatch.setattr("patina.core.device.fast_cpu_bf16", lambda: True)
    reduced = StylizePipeline([style], model=model_path, device="cpu", tile=None, refine=3)
    monkeypatch.setattr("patina.core.device.fast_cpu_bf16", lambda: False)
    exact = StylizePipeline([style], model=model_path, device="cpu", tile=None, refine=3)
    assert reduced.autocast == torch.bfloat16 and exact.autocast is None
    assert float((reduced(photo) - exact(photo)).abs().mean()) < 0.01


# -- training helpers -----------------------------------------------------------------------------------
def test_style_split_keeps_an_artwork_and_its_crops_together():
    names = ["mondrian.jpg", "mondrian_cropped.jpg", "rain-princess.jpg", "rain-princess-cropped.jpg",
             "picasso_seated_nude_hr.jpg", "la_muse.jpg", "candy.jpg", "udnie.jpg", "sketch.png"]
    files = [Path("styles") / name for name in names]
    assert artwork_key(files[1]) == "mondrian" and artwork_key(files[3]) == "rain-princess"
    assert artwork_key(files[4]) == "picasso_seated_nude"
    train, held = split_styles(files)
    assert sorted(train + held) == sorted(files) and held
    for first, second in ((0, 1), (2, 3)):
        assert (files[first] in held) == (files[second] in held)
    assert split_styles(files[5:])[1] == [f for f in held if f in files[5:]]  # independent of the other files
    assert split_styles(files, every=1) == (files, [])


def test_photo_crops_shrink_and_crop(tmp_path):
    big = write_photo(tmp_path / "big.png", size=(300, 200), seed=1)
    small = write_photo(tmp_path / "small.png", size=(40, 30), seed=2)
    crops = PhotoCrops([big, small], crop=32, side=100)
    assert crops.pictures[0].shape == (67, 100, 3) and crops.pictures[1].shape == (32, 43, 3)
    rng = np.random.default_rng(0)
    crop = crops.random_crop(rng)
    assert crop.shape == (3, 32, 32) and crop.dtype == torch.float32 and 0 <= crop.min() and crop.max() <= 1


def test_diff_augment_changes_the_images_of_a_stack_alike():
    image = picture(7, 32, 32)
    torch.manual_seed(0)
    pair = diff_augment(torch.cat([image, image], dim=1).repeat(4, 1, 1, 1), channels_per_image=3)
    assert torch.equal(pair[:, :3], pair[:, 3:])
    with pytest.raises(ValueError, match="channels"):
        diff_augment(torch.rand(1, 5, 8, 8), channels_per_image=3)


def test_style_transfer_net_checks_its_parts():
    net = StyleTransferNet(encoder={"widths": [8, 8, 16]}, decoder={"widths": [8, 8, 16]})
    assert net(torch.rand(1, 3, 20, 28)).shape == (1, 3, 20, 28)
    with pytest.raises(ValueError, match="relu3_1"):
        StyleTransferNet(encoder={"widths": [8, 8, 16]}, decoder={"widths": [8, 8, 24]})


# -- pipeline -----------------------------------------------------------------------------------------
def test_pipeline_paints_depending_on_style_alpha_and_fusion(model_path):
    photo, style_a, style_b = picture(0), picture(1, 48, 48) * 0.5, picture(2, 40, 56).flip(1)
    painted = StylizePipeline([style_a], model=model_path, device="cpu", tile=None)(photo)
    assert painted.shape == photo.shape and painted.dtype == torch.float32
    other = StylizePipeline([style_b], model=model_path, device="cpu", tile=None)(photo)
    assert (painted - other).abs().mean() > 1e-3
    net = StylizePipeline([style_a], model=model_path, device="cpu", tile=None, alpha=0.0)
    with net.inference():  # the pipeline's precision (bf16 on CPUs that have it)
        own = net.net(net.to_model_input(photo)).float().clamp(0, 1)
    assert torch.allclose(net(photo), own, atol=1e-4)  # alpha 0: the photo's own features
    wct_out = StylizePipeline([style_a], model=model_path, device="cpu", tile=None, fusion="wct")(photo)
    assert (wct_out - painted).abs().mean() > 1e-4
    mixed = StylizePipeline([style_a, style_b], weights=[1, 0], model=model_path, device="cpu", tile=None)(photo)
    assert torch.allclose(mixed, painted, atol=1e-4)


def test_pipeline_tiles_seamlessly(model_path):
    photo = picture(3, 150, 170)
    whole = StylizePipeline([picture(4)], model=model_path, device="cpu", tile=None)(photo)
    tiled = StylizePipeline([picture(4)], model=model_path, device="cpu", tile=96)(photo)
    assert (whole - tiled).abs().max() < 0.02


def test_preserve_color_and_mask(model_path):
    photo = picture(5)
    pipeline = StylizePipeline([picture(6) * 0.3], model=model_path, device="cpu", tile=None, preserve_color=True)
    painted = pipeline(photo)
    (_, painted_ab), (_, photo_ab) = split_lab(painted), split_lab(photo)
    plain = StylizePipeline([picture(6) * 0.3], model=model_path, device="cpu", tile=None)(photo)
    assert (painted_ab - photo_ab).abs().mean() < 0.5 * (split_lab(plain)[1] - photo_ab).abs().mean()
    mask = torch.zeros(1, 1, 32, 40)
    mask[..., :, 20:] = 1
    masked = pipeline(photo, mask=mask)
    assert torch.equal(masked[..., :, :30], photo[..., :, :30])
    assert torch.allclose(masked[..., :, 50:], painted[..., :, 50:], atol=1e-6)
    with pytest.raises(ParameterError, match="shapes differ"):
        pipeline(photo, mask=torch.ones(1, 1, 64, 64))


def test_stylize_image_keeps_depth_alpha_exif_and_resizes(model_path):
    pixels = to_pixels(picture(7), np.uint16)
    alpha = np.full(pixels.shape[:2], 40000, np.uint16)
    image = Image(pixels=pixels, alpha=alpha, exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x00\x00")
    pipeline = StylizePipeline([Image(pixels=to_pixels(picture(8)))], model=model_path, device="cpu")
    out = pipeline.stylize_image(image)
    assert out.pixels.dtype == np.uint16 and out.pixels.shape == pixels.shape and out.exif == image.exif
    assert np.array_equal(out.alpha, alpha)
    smaller = pipeline.stylize_image(image, size=40)
    assert smaller.pixels.shape == (32, 40, 3) and smaller.alpha.shape == (32, 40)
    gray = pipeline.stylize_image(Image(pixels=to_pixels(picture(9))[..., :1]))
    assert gray.pixels.shape == (64, 80, 3)
    mask = Image(pixels=np.zeros((64, 80, 1), np.uint8))
    assert np.array_equal(pipeline.stylize_image(Image(pixels=to_pixels(picture(9))), mask=mask).pixels,
                          to_pixels(picture(9)))


def test_refinement_lowers_the_objective_and_keeps_mask_and_shape(model_path):
    photo, style = picture(11, 44, 52), picture(12, 40, 40).flip(1) * 0.6
    plain = StylizePipeline([style], model=model_path, device="cpu", tile=None)
    refined = StylizePipeline([style], model=model_path, device="cpu", tile=None, refine=8)
    once, polished = plain(photo), refined(photo)
    assert polished.shape == photo.shape and 0 <= float(polished.min()) and float(polished.max()) <= 1
    encoder = refined.net.encoder
    with torch.no_grad():
        objective = StyleObjective(encoder(photo), [encoder(style)], weights=WEIGHTS)
        before, after = float(objective(encoder(once))), float(objective(encoder(polished)))
    assert after < 0.9 * before
    assert torch.equal(refined(photo), polished)  # deterministic
    mask = torch.zeros(1, 1, 44, 52)
    mask[..., :22, :] = 1
    assert torch.equal(refined(photo, mask=mask)[..., 30:, :], photo[..., 30:, :])


def test_pipeline_rejects_bad_parameters(model_path):
    style = [picture(1)]
    for kwargs, message in (({"alpha": 1.5}, "alpha"), ({"fusion": "mean"}, "fusion"),
                            ({"weights": [1, 2]}, "weight"), ({"weights": [-1]}, "weights"),
                            ({"style_size": 10}, "size"), ({"model": "retro"}, "not a style"),
                            ({"refine": -1}, "refine"), ({"refine": 101}, "refine"), ({"refine": True}, "refine")):
        with pytest.raises(ParameterError, match=message):
            StylizePipeline(style, **{"model": model_path, "device": "cpu", **kwargs})
    with pytest.raises(ParameterError, match="list of one or more"):
        StylizePipeline([], model=model_path)
    with pytest.raises(ParameterError, match="16x16"):
        StylizePipeline([torch.rand(1, 3, 8, 8)], model=model_path)
    pipeline = StylizePipeline(style, model=model_path, device="cpu")
    with pytest.raises(ParameterError, match="size"):
        pipeline(picture(2), size=20)
    with pytest.raises(ParameterError, match="photo"):
        pipeline(torch.rand(3, 32, 32))
    refining = StylizePipeline(style, model=model_path, device="cpu", refine=2)
    with pytest.raises(ParameterError, match=f"up to {REFINE_MAX_SIDE} px"):
        refining(torch.rand(1, 3, 300, REFINE_MAX_SIDE + 4))
    assert refining(torch.rand(1, 3, 300, REFINE_MAX_SIDE + 4), size=64).shape[-1] == 64


# -- CLI and archive ------------------------------------------------------------------------------------
def test_cli_stylize_writes_results_and_leaves_inputs(tmp_path, model_path):
    photo = write_photo(tmp_path / "photos" / "a.png", size=(64, 48), seed=1)
    style = write_photo(tmp_path / "style.jpg", size=(50, 50), seed=2)
    before = sha256_of_file(photo)
    result = runner.invoke(app, ["stylize", str(photo.parent), "--style", str(style), "--style", str(style),
                                 "--weight", "1", "--weight", "2", "--alpha", "0.8", "--preserve-color",
                                 "--refine", "2", "--model", model_path, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "out" / "a.png").pixels.shape == (48, 64, 3)
    assert sha256_of_file(photo) == before
    missing = runner.invoke(app, ["stylize", str(photo), "--model", model_path, "-o", str(tmp_path / "o2")])
    assert missing.exit_code == 2 and "--style" in missing.output
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(style.read_bytes()[:60])
    bad = runner.invoke(app, ["stylize", str(photo), "--style", str(broken), "--model", model_path,
                              "-o", str(tmp_path / "o3")])
    assert bad.exit_code == 2 and "broken.jpg" in bad.output


def test_archive_records_style_items_and_reproduces(archive, tmp_path, model_path):
    report = archive.import_paths([write_photo(tmp_path / "photo.png", size=(48, 40), seed=3),
                                   write_photo(tmp_path / "painting.png", size=(40, 40), seed=4)])
    photo_id, style_id = report.imported
    master_sha = archive.item(photo_id).sha256
    result = archive.derive(photo_id, "stylize", {"style": style_id, "model": model_path, "alpha": 0.9, "tile": 0})
    parameters = result.event.detail["parameters"]
    assert parameters["style"] == [archive.item(style_id).sha256] and parameters["mask"] == []
    assert parameters["alpha"] == 0.9 and result.item.width == 48
    assert archive.reproduce(result.item.id).identical
    assert sha256_of_file(archive.store.path(master_sha)) == master_sha
    with pytest.raises(ParameterError, match="at least one|one or more"):
        archive.derive(photo_id, "stylize", {"model": model_path})
    with pytest.raises(ParameterError, match="archive items"):
        archive.derive(photo_id, "stylize", {"style": {"a": 1}, "model": model_path})
    assert get_recipe("stylize").references == ("style", "mask")


def test_shipped_stylize_configs_validate():
    from patina.core.config import load_yaml
    from patina.training.config import EncoderDistillConfig, StylizeTrainConfig

    encoder = load_yaml(EncoderDistillConfig, ROOT / "configs" / "stylize-encoder.yaml")
    scratch = load_yaml(StylizeTrainConfig, ROOT / "configs" / "stylize.yaml")
    finetune = load_yaml(StylizeTrainConfig, ROOT / "configs" / "stylize-finetune.yaml")
    assert scratch.init_from is None and finetune.init_from.endswith("stylize.safetensors")
    assert scratch.encoder == finetune.encoder == f"{encoder.out_dir}/export/{encoder.name}.safetensors"
    assert scratch.generator == finetune.generator  # the same network and objective as the eval's Gatys
    for weight in ("content", "statistics", "gram"):
        assert getattr(scratch.loss, weight) == getattr(finetune.loss, weight) == WEIGHTS[weight]


# -- training and evaluation (need the teacher) ----------------------------------------------------------
@pytest.mark.slow
@needs_teacher
def test_train_stylize_tiny_run_exports_a_loadable_model(tmp_path):
    from patina.core.config import load_yaml
    from patina.training.config import StylizeTrainConfig
    from patina.training.stylize_trainer import StylizeTrainer

    encoder_path = tmp_path / "encoder.safetensors"
    save_model(StyleEncoder(widths=(8, 8, 16)), encoder_path,
               ModelCard(name="encoder", arch="StyleEncoder", kwargs={"widths": [8, 8, 16]}, version="test"))
    for index in range(4):
        write_photo(tmp_path / "photos" / f"p{index}.png", size=(80, 72), seed=index)
        write_photo(tmp_path / "styles" / f"s{index}.png", size=(90, 70), seed=10 + index)
    cfg = load_yaml(StylizeTrainConfig, ROOT / "configs" / "stylize-tiny.yaml")
    cfg.encoder, cfg.out_dir, cfg.device = str(encoder_path), str(tmp_path / "run"), "cpu"
    cfg.data.roots, cfg.data.holdout_every, cfg.data.workers = [str(tmp_path / "photos")], 2, 0
    cfg.style_roots, cfg.style_holdout_every, cfg.teacher = [str(tmp_path / "styles")], 2, str(TEACHER)
    trainer = StylizeTrainer(cfg, progress=False)
    trainer.fit()
    model = tmp_path / "run" / "export" / "stylize-tiny.safetensors"
    card = ModelCard.read(model.with_suffix(".json"))
    assert card.arch == "StyleTransferNet" and card.steps == 6 and card.training["styles_train"]
    assert set(card.training["held_out"]) == {"val/content", "val/statistics", "val/gram"}
    out = StylizePipeline([picture(1)], model=str(model), device="cpu")(picture(2))
    assert out.shape == (1, 3, 64, 80) and torch.isfinite(out).all()

    cfg.init_from, cfg.out_dir = str(model), str(tmp_path / "again")  # a refined run starts from this decoder
    exported, _ = load_model(model)
    restarted = StylizeTrainer(cfg, progress=False).decoder.state_dict()
    assert all(torch.equal(restarted[key], value.float()) for key, value in exported.decoder.state_dict().items())
    cfg.init_from = str(encoder_path)
    with pytest.raises(ConfigError, match="not a StyleTransferNet"):
        StylizeTrainer(cfg, progress=False)


@pytest.mark.slow
@needs_teacher
def test_eval_stylize_scores_every_method(tmp_path, model_path):
    from patina.evaluation.stylize_eval import WEIGHTS, evaluate_stylize

    for index in range(2):
        write_photo(tmp_path / "set" / "content" / f"c{index}.png", size=(72, 64), seed=index)
    (tmp_path / "set" / "style").mkdir()
    for index, name in enumerate(("la_muse", "udnie", "mosaic")):
        tint = torch.tensor([1.0, 0.3 + 0.3 * index, 0.2])[None, :, None, None]
        write_image(tmp_path / "set" / "style" / f"{name}.png", Image(pixels=to_pixels(picture(10 + index) * tint)))
    report = evaluate_stylize(tmp_path / "set", teacher=TEACHER, inverter=INVERTER, model=model_path, size=64,
                              style_size=64, gatys_steps=10, progress=False)
    result = report.datasets[0]
    assert set(result.methods) == {"content", "gatys", "adain_teacher", "model", "model_wct", "model_refined"}
    assert all(len(m.images) == 2 * 2 for m in result.methods.values())  # 2 photos x 2 held-out styles (la_muse, udnie)
    means = {key: m.extra_means() for key, m in result.methods.items()}
    assert means["content"]["content_loss"] == 0
    objective = {key: sum(WEIGHTS[name] * m[f"{name}_loss" if name == "content" else
                                          {"statistics": "style_loss", "gram": "gram_loss"}[name]] for name in WEIGHTS)
                 for key, m in means.items()}
    assert objective["gatys"] < objective["content"]  # the optimisation lowers what it minimises
    assert means["gatys"]["style_loss"] < means["content"]["style_loss"]
    assert result.methods["model"].seconds_per_image > 0
    assert report.settings["refine_steps"] == REFINE_STEPS
    assert report.settings["device"] == str(select_device("auto"))
    assert report.settings["model_precision"] == ("bfloat16" if StylizePipeline([picture(1)], model=model_path,
                                                                                device="cpu").autocast else "float32")
    from patina.cli.eval import stylize as eval_stylize_command  # its --refine default is written out (no torch import)
    assert inspect.signature(eval_stylize_command).parameters["refine"].default == REFINE_STEPS
    with pytest.raises(ParameterError, match="size"):
        evaluate_stylize(tmp_path / "set", teacher=TEACHER, size=8)
    unrefined = evaluate_stylize(tmp_path / "set", teacher=TEACHER, model=model_path, size=64, style_size=64,
                                 gatys_steps=0, refine=0, limit=1, progress=False)
    assert set(unrefined.datasets[0].methods) == {"content", "model", "model_wct"}


@pytest.mark.skipif(not REGISTRY["stylize"].path.is_file() or not TEACHER.is_file() or not ADAIN.is_dir(),
                    reason="needs the shipped stylize model and ../shared")
@pytest.mark.slow
def test_shipped_model_transfers_style_like_plain_adain_and_refinement_beats_it():
    """Measured quality on held-out pairs. avril + asheville: the model is far closer to the style than the
    photo and within 1.2x of plain AdaIN with the teacher's own VGG19 on style and content loss (measured 0.90x,
    0.90x). That pair and avril + goeritz, refined: style loss under 0.75x the model's (measured 0.59x) and below
    plain AdaIN's (0.85x), content no worse (0.93x)."""
    from patina.evaluation.stylize_eval import evaluate_stylize

    report = evaluate_stylize(ADAIN, teacher=TEACHER, inverter=INVERTER, gatys_steps=0, limit=2, progress=False)
    methods = report.datasets[0].methods
    first = {key: m.images[0].extra for key, m in methods.items()}
    assert first["model"]["style_loss"] < 0.5 * first["content"]["style_loss"]
    assert first["model"]["style_loss"] < 1.2 * first["adain_teacher"]["style_loss"]
    assert first["model"]["content_loss"] < 1.2 * first["adain_teacher"]["content_loss"]
    means = {key: m.extra_means() for key, m in methods.items()}
    assert means["model_refined"]["style_loss"] < 0.75 * means["model"]["style_loss"]
    assert means["model_refined"]["style_loss"] < means["adain_teacher"]["style_loss"]
    assert means["model_refined"]["content_loss"] < 1.05 * means["model"]["content_loss"]
