"""Super-resolution: networks, outside checkpoints, MATLAB resize, degradations, training, pipeline, CLI, eval."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from torch.nn import functional as F
from typer.testing import CliRunner

from patina.cli.app import app
from patina.core.config import load_yaml
from patina.core.errors import ConfigError, ModelNotFoundError, ParameterError
from patina.imageio import Image, read_image, write_image
from patina.networks import ARCHITECTURES, UNetDiscriminator
from patina.networks.upscale import CompactUpscaler, ResidualUpscaler, RRDBNet, divide_scale, fold_unshuffle
from patina.ops.resize import imresize
from patina.pipelines.tiling import tiled_apply
from patina.pipelines.upscale import UpscalePipeline
from patina.weights import ModelCard, load, save_model
from patina.weights.external import load_external

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SET5 = SHARED / "data/sr/Set5"
PEER = SHARED / "peers/4xLSDIRCompactN3.safetensors"
runner = CliRunner()
needs_set5 = pytest.mark.skipif(not SET5.is_dir(), reason="../shared/data/sr/Set5 is not present")


def texture_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A gradient with seeded texture and a few hard edges: what tiles must join without seams."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([x, y, 1 - (x + y) / 2], axis=-1) * 0.8 + 0.1
    base += rng.normal(0, 0.06, base.shape) + 0.15 * (np.sin(x * 60) > 0)[..., None]
    return (np.clip(base, 0, 1) * 255).astype(np.uint8)


def random_compact(folder: Path, *, scale: int = 2, unshuffle: int = 1, name: str = "tiny") -> Path:
    """A small random CompactUpscaler saved as a Patina model (non-trivial output)."""
    torch.manual_seed(0)
    model = CompactUpscaler(channels=8, convs=2, scale=scale, unshuffle=unshuffle)
    path = folder / f"{name}.safetensors"
    save_model(model, path, ModelCard(name=name, arch="CompactUpscaler", task="upscale", version="0.0.0-test",
                                      kwargs={"channels": 8, "convs": 2, "scale": scale, "unshuffle": unshuffle}))
    return path


# -- networks ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "scale"), [
    (lambda: CompactUpscaler(channels=8, convs=2, scale=4), 4),
    (lambda: CompactUpscaler(channels=8, convs=2, scale=2, unshuffle=2), 2),
    (lambda: ResidualUpscaler(channels=8, blocks=1, scale=4), 4),
    (lambda: ResidualUpscaler(channels=8, blocks=1, scale=3), 3),
    (lambda: RRDBNet(channels=8, blocks=1, growth=4, scale=4), 4),
    (lambda: RRDBNet(channels=8, blocks=1, growth=4, scale=2), 2),
])
def test_upscalers_scale_their_input(make, scale):
    model = make().eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 12, 16)).shape == (2, 3, 12 * scale, 16 * scale)


def test_shipped_architectures_fit_the_parameter_budget():
    for name in ("upscale-x2", "upscale-x4", "upscale-x2-fidelity", "upscale-x4-fidelity"):
        loaded = load(name)
        model, card = loaded.network, loaded.card
        parameters = sum(p.numel() for p in model.parameters())
        assert parameters == card.parameters and parameters <= 1_500_000, name
        assert card.task == "upscale" and model.scale == int(name[9])


def test_unet_discriminator_judges_every_pixel():
    disc = UNetDiscriminator(width=8)
    assert disc(torch.rand(2, 3, 32, 48)).shape == (2, 1, 32, 48)
    from torch.nn.utils import parametrize

    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert sum(parametrize.is_parametrized(m, "weight") for m in convs) == len(convs) - 2  # not first and last


def test_folding_a_x2_net_gives_the_same_x4_function():
    torch.manual_seed(1)
    x2 = CompactUpscaler(channels=8, convs=2, scale=2, unshuffle=2).eval()
    x4 = fold_unshuffle(x2).eval()
    low = torch.rand(1, 3, 10, 14)
    with torch.no_grad():
        expected = x2(F.interpolate(low, scale_factor=2, mode="nearest"))
        assert torch.allclose(x4(low), expected, atol=1e-5)
    with pytest.raises(ValueError, match="unshuffle"):
        fold_unshuffle(x4)


def test_dividing_a_x4_net_gives_its_output_averaged_in_2x2_blocks():
    torch.manual_seed(2)
    x4 = CompactUpscaler(channels=8, convs=2, scale=4, activation="leakyrelu").eval()
    x2 = divide_scale(x4, 2).eval()
    low = torch.rand(1, 3, 9, 13)
    with torch.no_grad():
        assert x2.scale == 2 and torch.allclose(x2(low), F.avg_pool2d(x4(low), 2), atol=1e-5)
    with pytest.raises(ValueError, match="cannot divide"):
        divide_scale(x4, 3)
    with pytest.raises(ValueError, match="unshuffle"):
        divide_scale(CompactUpscaler(channels=8, convs=2, scale=2, unshuffle=2), 2)


# -- outside checkpoints -------------------------------------------------------------------------------

def _same_function(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x), atol=1e-6)


def test_real_esrgan_rrdbnet_checkpoint_is_detected_and_loaded(tmp_path):
    torch.manual_seed(2)
    source = RRDBNet(channels=8, blocks=2, growth=4, scale=2)
    torch.save({"params_ema": source.state_dict(), "params": {}}, tmp_path / "RealESRGAN_x2.pth")
    loaded = load(str(tmp_path / "RealESRGAN_x2.pth"))
    model, card = loaded.network, loaded.card
    assert card.arch == "RRDBNet" and card.kwargs == {"channels": 8, "blocks": 2, "growth": 4, "scale": 2}
    assert _same_function(model, source)


def test_old_esrgan_keys_are_renamed(tmp_path):
    torch.manual_seed(3)
    source = RRDBNet(channels=8, blocks=2, growth=4, scale=4)
    old = {}
    for key, value in source.state_dict().items():
        block = re.match(r"body\.(\d+)\.rdb(\d)\.conv(\d)\.(\w+)$", key)
        if block:
            old[f"model.1.sub.{block[1]}.RDB{block[2]}.conv{block[3]}.0.{block[4]}"] = value
            continue
        layer, param = key.rsplit(".", 1)
        index = {"conv_first": "0", "conv_body": "1.sub.2", "conv_up1": "3", "conv_up2": "6", "conv_hr": "8",
                 "conv_last": "10"}[layer]
        old[f"model.{index}.{param}"] = value
    torch.save(old, tmp_path / "RRDB_ESRGAN_x4.pth")
    model, card = load_external(tmp_path / "RRDB_ESRGAN_x4.pth")
    assert card.kwargs["scale"] == 4 and card.kwargs["blocks"] == 2
    assert _same_function(model, source)


def test_srvgg_compact_checkpoint_is_detected_and_loaded(tmp_path):
    torch.manual_seed(4)
    source = CompactUpscaler(channels=8, convs=3, scale=4)
    torch.save({"params": source.state_dict()}, tmp_path / "realesr-general-x4v3.pth")
    loaded = load(str(tmp_path / "realesr-general-x4v3.pth"))
    model, card = loaded.network, loaded.card
    assert (card.arch, card.kwargs) == ("CompactUpscaler", {"channels": 8, "convs": 3, "scale": 4,
                                                            "activation": "prelu"})
    assert _same_function(model, source)


def test_bad_outside_checkpoints_get_clear_errors(tmp_path):
    (tmp_path / "broken.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ParameterError, match="not a readable checkpoint"):
        load_external(tmp_path / "broken.pth")
    torch.save({"encoder.weight": torch.zeros(3, 3)}, tmp_path / "other.pth")
    with pytest.raises(ParameterError, match="unrecognised"):
        load_external(tmp_path / "other.pth")
    with pytest.raises(ModelNotFoundError):
        load(str(tmp_path / "missing.pth"))


@pytest.mark.skipif(not PEER.is_file(), reason="../shared/peers is not present")
def test_lsdir_peer_loads_as_a_compact_net():
    loaded = load(str(PEER))
    model, card = loaded.network, loaded.card
    assert card.kwargs == {"channels": 64, "convs": 16, "scale": 4, "activation": "prelu"}
    assert model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)


# -- MATLAB bicubic ------------------------------------------------------------------------------------

def test_imresize_keeps_constants_and_sizes():
    flat = torch.full((1, 3, 20, 30), 0.4)
    assert torch.allclose(imresize(flat, 0.25), torch.full((1, 3, 5, 8), 0.4), atol=1e-6)
    assert imresize(flat, 3.0).shape == (1, 3, 60, 90)
    assert imresize(flat, size=(7, 11)).shape == (1, 3, 7, 11)


@needs_set5
def test_imresize_matches_the_benchmark_low_resolution_files():
    for path in sorted((SET5 / "HR").glob("*.png")):
        high = torch.from_numpy(np.asarray(PILImage.open(path).convert("RGB"), np.float32) / 255).permute(2, 0, 1)
        low_file = next((SET5 / "LR_bicubic/X4").glob(f"{path.stem}*"))
        expected = np.asarray(PILImage.open(low_file).convert("RGB"), np.float32) / 255
        height, width = (high.shape[1] // 4) * 4, (high.shape[2] // 4) * 4
        ours = torch.round(imresize(high[None, :, :height, :width], 0.25).clamp(0, 1) * 255) / 255
        difference = np.abs(ours[0].permute(1, 2, 0).numpy() - expected)
        # measured: ~10% of pixels differ by one 8-bit level (the files' own rounding), one by two levels
        assert difference.max() <= 2.5 / 255 and difference.mean() < 0.15 / 255, path.name


# -- second-order degradation --------------------------------------------------------------------------

def test_second_order_degradation_is_seeded():
    from patina.degradations.realesrgan import second_order

    clean = texture_image(64, 64).astype(np.float32) / 255
    first, again = second_order(clean, scale=4, seed=7), second_order(clean, scale=4, seed=7)
    assert first.shape == (16, 16, 3) and first.dtype == np.float32
    assert np.array_equal(first, again) and 0 <= first.min() and first.max() <= 1
    assert not np.array_equal(first, second_order(clean, scale=4, seed=8))


# -- training ------------------------------------------------------------------------------------------

@pytest.fixture
def clean_images(tmp_path) -> Path:
    folder = tmp_path / "clean"
    folder.mkdir()
    for index in range(6):
        PILImage.fromarray(texture_image(96, 80, seed=index)).save(folder / f"img{index}.png")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("fidelity", [False, True])
def test_tiny_upscale_training_exports_a_loadable_upscaler(clean_images, tmp_path, fidelity):
    from patina.training.config import UpscaleTrainConfig
    from patina.training.upscale_trainer import UpscaleTrainer

    cfg = load_yaml(UpscaleTrainConfig, ROOT / "configs/upscale-tiny.yaml")
    cfg.data.roots, cfg.data.holdout_every, cfg.out_dir = [str(clean_images)], 3, str(tmp_path / "run")
    if fidelity:
        cfg.degradation, cfg.loss.adversarial, cfg.loss.perceptual = "bicubic", 0.0, 0.0
    trainer = UpscaleTrainer(cfg, progress=False)
    assert (trainer.discriminator is None) == fidelity
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    trainer.fit()
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters(), strict=True))
    metrics = trainer.validate(limit=2)
    assert set(metrics) == {"val/psnr_y_model", "val/psnr_y_bicubic"}
    pipe = UpscalePipeline(model=str(tmp_path / "run/export/upscale-tiny.safetensors"), device="cpu")
    assert pipe.scale == 4 and pipe(torch.rand(1, 3, 10, 12)).shape == (1, 3, 40, 48)


def test_upscale_config_rejects_bad_crops_and_inits(clean_images, tmp_path):
    from patina.training.config import UpscaleTrainConfig
    from patina.training.upscale_trainer import UpscaleTrainer

    from patina.core.config import from_dict

    with pytest.raises((ValueError, ConfigError), match="multiple"):
        from_dict(UpscaleTrainConfig, {"scale": 4, "data": {"crop": 72}})
    cfg = load_yaml(UpscaleTrainConfig, ROOT / "configs/upscale-tiny.yaml")
    cfg.data.roots, cfg.out_dir = [str(clean_images)], str(tmp_path / "run")
    cfg.init_from = str(random_compact(tmp_path, scale=2, unshuffle=1))
    with pytest.raises(ConfigError, match="do not fit"):
        UpscaleTrainer(cfg, progress=False)


def test_x4_training_can_start_from_a_folded_x2_net(clean_images, tmp_path):
    from patina.training.config import UpscaleTrainConfig
    from patina.training.upscale_trainer import UpscaleTrainer

    cfg = load_yaml(UpscaleTrainConfig, ROOT / "configs/upscale-tiny.yaml")
    cfg.data.roots, cfg.out_dir = [str(clean_images)], str(tmp_path / "run")
    cfg.generator = {"channels": 8, "convs": 2}
    cfg.init_from = str(random_compact(tmp_path, scale=2, unshuffle=2))
    trainer = UpscaleTrainer(cfg, progress=False)
    loaded = load(cfg.init_from)
    x2, _ = loaded.network, loaded.card
    low = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(trainer.generator(low), x2(F.interpolate(low, scale_factor=2)), atol=1e-5)


def test_x2_training_can_start_from_a_x4_net(clean_images, tmp_path):
    from patina.training.config import UpscaleTrainConfig
    from patina.training.upscale_trainer import UpscaleTrainer

    cfg = load_yaml(UpscaleTrainConfig, ROOT / "configs/upscale-tiny.yaml")
    cfg.data.roots, cfg.out_dir, cfg.scale = [str(clean_images)], str(tmp_path / "run"), 2
    cfg.generator = {"channels": 8, "convs": 2}
    cfg.init_from = str(random_compact(tmp_path, scale=4))
    trainer = UpscaleTrainer(cfg, progress=False)
    x4 = load(cfg.init_from).network
    low = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(trainer.generator(low), F.avg_pool2d(x4(low), 2), atol=1e-5)
    cfg.optim.steps = 0  # a run of no steps exports the conversion as it is
    trainer.fit()
    exported = load(tmp_path / "run" / "export" / f"{cfg.name}.safetensors").network.float()
    with torch.no_grad():
        assert exported.scale == 2 and torch.allclose(exported(low), F.avg_pool2d(x4(low), 2), atol=3e-3)


# -- pipeline ------------------------------------------------------------------------------------------

def test_sixteen_bit_gray_with_alpha_and_exif(tmp_path):
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 65536, (30, 26, 1), dtype=np.uint16)
    alpha = np.zeros((30, 26), np.uint16)
    alpha[:, 13:] = 65535
    exif = PILImage.Exif()
    exif[0x010E] = "a test scan"
    image = Image(pixels=pixels, alpha=alpha, exif=exif.tobytes())
    result = UpscalePipeline(model=str(random_compact(tmp_path)), device="cpu").upscale_image(image)
    assert result.pixels.shape == (60, 52, 1) and result.pixels.dtype == np.uint16
    assert result.alpha.shape == (60, 52) and result.alpha[:, :24].max() == 0 and result.alpha[:, 28:].min() == 65535
    assert result.exif == image.exif
    assert len(np.unique(result.pixels)) > 256  # real 16-bit output, not 8 bit scaled up


def test_outscale_resizes_the_result(tmp_path):
    image = Image(pixels=texture_image(21, 17))
    pipe = UpscalePipeline(model=str(random_compact(tmp_path)), device="cpu", outscale=3)
    assert pipe.upscale_image(image).pixels.shape == (63, 51, 3)
    # a x2 model asked for scale 4 resizes its result to x4
    pipe = UpscalePipeline(model=str(random_compact(tmp_path)), scale=4, device="cpu")
    assert pipe.upscale_image(image).pixels.shape == (84, 68, 3)


@pytest.mark.parametrize("bad", [{"scale": 3}, {"outscale": 0}, {"outscale": float("nan")}, {"outscale": 100},
                                 {"model": "no-such-model"}, {"model": "restore"}])
def test_bad_parameters_are_rejected(bad):
    with pytest.raises((ParameterError, ModelNotFoundError)):
        UpscalePipeline(device="cpu", **bad)


def test_band_sink_gives_the_same_result_as_the_full_output():
    image = torch.from_numpy(texture_image(70, 90)).permute(2, 0, 1)[None]
    net = CompactUpscaler(channels=8, convs=2, scale=2).eval()
    rows = []
    with torch.no_grad():
        full = tiled_apply(net, image, tile=32, overlap=8, multiple=1, scale=2, context=8)
        tiled_apply(net, image, tile=32, overlap=8, multiple=1, scale=2, context=8,
                    sink=lambda top, band: rows.append((top, band.clone())))
    assert [top for top, _ in rows] == sorted(top for top, _ in rows) and rows[0][0] == 0
    assert torch.equal(torch.cat([band for _, band in rows], dim=-2), full)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["upscale-x2", "upscale-x2-fidelity"])
def test_shipped_x2_models_tile_without_seams(model):
    image = Image(pixels=texture_image(200, 232))
    tiled = UpscalePipeline(model=model, device="cpu", tile=64).upscale_image(image)
    whole = UpscalePipeline(model=model, device="cpu", tile=0).upscale_image(image)
    difference = np.abs(tiled.pixels.astype(int) - whole.pixels.astype(int))
    assert tiled.pixels.shape == (400, 464, 3) and difference.max() <= 1


@pytest.mark.slow
@needs_set5
def test_fidelity_x4_beats_the_bar_on_set5():
    from patina.evaluation.upscale_eval import evaluate_upscale

    network = load("upscale-x4-fidelity", task="upscale").network
    report = evaluate_upscale([SET5 / "HR"], scale=4, models={"fidelity": network}, progress=False)
    methods = report.datasets[0].methods
    assert report.datasets[0].name == "Set5"
    assert methods["bicubic"].psnr == pytest.approx(28.42, abs=0.05)  # the published bicubic number
    assert methods["fidelity"].psnr >= 31.5 and methods["fidelity"].ssim > methods["bicubic"].ssim


def test_restore_and_upscale_in_one_pass(tmp_path):
    from patina.pipelines.restore import RestorePipeline

    pixels = torch.rand(1, 3, 32, 48)  # a multiple of the networks' size multiple: no padding to differ
    both = RestorePipeline(device="cpu", tile=0, upscale=2, ensemble=False)
    restored = RestorePipeline(device="cpu", tile=0, ensemble=False)(pixels)
    upscaled = UpscalePipeline(model="upscale-x2", device="cpu", tile=0)(restored)
    assert both.scale == 2 and torch.allclose(both(pixels), upscaled, atol=1e-4)
    image = Image(pixels=texture_image(40, 36))
    assert both.restore_image(image).pixels.shape == (80, 72, 3)
    assert both.detect_damage(pixels).shape == (1, 1, 32, 48)


# -- command line, recipe, eval ------------------------------------------------------------------------

def test_cli_upscale_writes_bigger_images_and_reports_bad_files(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    write_image(folder / "a.png", Image(pixels=texture_image(20, 24)))
    write_image(folder / "b.tif", Image(pixels=(texture_image(16, 16)[..., :1].astype(np.uint16) * 257)))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    model = random_compact(tmp_path)
    result = runner.invoke(app, ["upscale", str(folder), "-o", str(tmp_path / "out"), "--model", str(model),
                                 "--scale", "2"])
    assert result.exit_code == 1, result.output
    assert "broken.jpg" in result.output
    assert read_image(tmp_path / "out/a.png").pixels.shape == (40, 48, 3)
    sixteen = read_image(tmp_path / "out/b.tif")
    assert sixteen.pixels.shape == (32, 32, 1) and sixteen.bit_depth == 16
    assert (folder / "broken.jpg").read_bytes() == b"\xff\xd8\xff\xe0 truncated"


@pytest.mark.parametrize("args", [["--scale", "3"], ["--model", "nowhere.pth"], ["--fidelity", "--model", "x"],
                                  ["--outscale", "-1"], ["--denoise", "2"], ["--denoise", "0.5", "--fidelity"]])
def test_cli_upscale_rejects_bad_options(tmp_path, args):
    write_image(tmp_path / "a.png", Image(pixels=texture_image(8, 8)))
    result = runner.invoke(app, ["upscale", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2 and not (tmp_path / "out/a.png").exists()


def test_upscale_recipe_records_what_it_used(tmp_path):
    from patina.pipelines.recipes import get_recipe

    recipe = get_recipe("upscale")
    params = recipe.parameters({"model": str(random_compact(tmp_path)), "outscale": 1.5})
    result = recipe.execute(Image(pixels=texture_image(20, 20)), params, "cpu", None)
    assert result.image.pixels.shape == (30, 30, 3)
    assert isinstance(result.parameters["tile"], int) and result.models[0]["role"] == "upscaler"
    assert len(result.models[0]["sha256"]) == 64


def test_eval_upscale_scores_bicubic_models_and_writes_the_card(tmp_path):
    data = tmp_path / "HR"
    data.mkdir()
    for index in range(2):
        write_image(data / f"{index}.png", Image(pixels=texture_image(40, 44, seed=index)))
    model = random_compact(tmp_path, scale=2)
    result = runner.invoke(app, ["eval", "upscale", "--data", str(data), "--scale", "2", "--model", str(model),
                                 "--peers", str(tmp_path / "none"), "--update-card", "--no-progress",
                                 "--json", str(tmp_path / "scores.json")])
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "scores.json").read_text())["datasets"][0]
    assert scores["name"] == tmp_path.name and scores["protocol"] == "upscale_eval_x2"
    assert set(scores["methods"]) == {"bicubic", str(model)}
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["metrics"][f"upscale_eval_x2/{tmp_path.name}"]["bicubic"]["psnr"] > 20
    wrong = runner.invoke(app, ["eval", "upscale", "--data", str(data), "--scale", "4", "--model", str(model)])
    assert isinstance(wrong.exception, ParameterError) and "not x4" in str(wrong.exception)


@pytest.mark.slow
def test_cli_restore_upscales_in_the_same_run(tmp_path):
    write_image(tmp_path / "old.png", Image(pixels=texture_image(24, 28)))
    result = runner.invoke(app, ["restore", str(tmp_path / "old.png"), "-o", str(tmp_path / "out"), "--upscale", "2",
                                 "--no-ensemble", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "out/old.png").pixels.shape == (48, 56, 3)
    bad = runner.invoke(app, ["restore", str(tmp_path / "old.png"), "-o", str(tmp_path / "bad"), "--upscale", "3"])
    assert bad.exit_code == 2 and "scale must be one of 2, 4" in bad.output


def test_models_command_lists_the_upscalers():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for name in ("upscale-x2", "upscale-x4", "upscale-x2-fidelity", "upscale-x4-fidelity"):
        assert name in result.output


def test_shipped_upscale_configs_validate():
    from patina.training.config import UpscaleTrainConfig

    configs = sorted(ROOT.glob("configs/upscale-*.yaml"))
    assert len(configs) == 34
    for path in configs:
        cfg = load_yaml(UpscaleTrainConfig, path)
        assert path.stem.startswith(cfg.name) and cfg.arch in ARCHITECTURES
        distilled = cfg.teachers is not None
        if distilled:  # the teacher's output leads; an adversary, if any, only adds a little
            assert cfg.loss.adversarial <= 0.01
        else:
            assert (cfg.loss.adversarial == 0) == (cfg.degradation == "bicubic" or cfg.name.endswith("-net"))
        assert (cfg.loss.teacher_pixel > 0) == distilled
