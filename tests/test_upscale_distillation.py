"""Upscaler distillation: the teacher cache, the distillation run, the degraded evaluation, the denoise control."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage
from safetensors.torch import save_file
from torch import nn
from typer.testing import CliRunner

from patina.cli.app import app
from patina.core.config import load_yaml
from patina.core.options import OptionError
from patina.networks.upscale import CompactUpscaler
from patina.ops.resize import imresize
from patina.training import teacher_cache
from patina.training.teacher_cache import CacheSpec, DistillationCrops, TeacherCache

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def photo(seed: int, height: int = 96, width: int = 80) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([x, y, 1 - (x + y) / 2], axis=-1) * 0.8 + 0.1 + rng.normal(0, 0.05, (height, width, 3))
    return (np.clip(base + 0.15 * (np.sin(x * 50) > 0)[..., None], 0, 1) * 255).astype(np.uint8)


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(6):
        PILImage.fromarray(photo(index)).save(folder / f"img{index}.png")
    return sorted(folder.iterdir())


def outside_teacher(folder: Path, *, scale: int = 4, name: str = "teacher") -> Path:
    """A small random x``scale`` compact net saved as an outside checkpoint (SRVGGNetCompact keys, no card)."""
    torch.manual_seed(1)
    net = CompactUpscaler(channels=8, convs=2, scale=scale)
    path = folder / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
    return path


def teacher_net(path: Path) -> nn.Module:
    from patina.weights.external import load_external

    return load_external(path)[0]


def test_the_cache_holds_inputs_ground_truth_and_teacher_outputs(photos, tmp_path):
    spec = CacheSpec(tuple(photos), crops=10, input_size=16, scale=4, real_share=0.5, seed=3)
    cache = TeacherCache(tmp_path / "cache", spec)
    teacher = teacher_net(outside_teacher(tmp_path))
    outputs = np.load(cache.teacher_outputs(teacher, "ab" * 32))
    inputs, targets = np.load(cache.file("inputs")), np.load(cache.file("targets"))
    has_target = np.load(cache.file("has_target"))
    assert inputs.shape == (10, 16, 16, 3) and targets.shape == outputs.shape == (10, 64, 64, 3)
    assert 0 < has_target.sum() < 10 and not targets[~has_target].any() and targets[has_target].any()
    with torch.inference_mode():
        expected = teacher(torch.from_numpy(inputs).permute(0, 3, 1, 2).float() / 255).clamp(0, 1)
    assert np.abs(outputs.astype(int) - np.round(expected.permute(0, 2, 3, 1).numpy() * 255)).max() <= 1
    assert cache.folder == TeacherCache(tmp_path / "cache", spec).folder
    assert cache.folder != TeacherCache(tmp_path / "cache", CacheSpec(tuple(photos), 10, 16, 4, 0.5, 4)).folder


def test_a_stopped_teacher_pass_resumes_where_it_stopped(photos, tmp_path, monkeypatch):
    monkeypatch.setattr(teacher_cache, "CHUNK", 4)
    spec = CacheSpec(tuple(photos), crops=10, input_size=16, scale=4, real_share=0.0, seed=0)
    teacher = teacher_net(outside_teacher(tmp_path))
    reference = np.load(TeacherCache(tmp_path / "whole", spec).teacher_outputs(teacher, "cd" * 32))
    calls = []

    def failing(batch: torch.Tensor) -> torch.Tensor:
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return teacher(batch)

    stopped = TeacherCache(tmp_path / "stopped", spec)
    with pytest.raises(KeyboardInterrupt):
        stopped.teacher_outputs(failing, "cd" * 32)  # type: ignore[arg-type]
    assert not stopped.teacher_file("cd" * 32).exists()
    calls.clear()
    resumed = np.load(stopped.teacher_outputs(lambda batch: calls.append(len(batch)) or teacher(batch),  # type: ignore[arg-type]
                                              "cd" * 32))
    assert calls == [4, 2] and np.array_equal(resumed, reference)


def test_an_x2_cache_holds_the_x4_teacher_downscaled(photos, tmp_path):
    spec = CacheSpec(tuple(photos), crops=3, input_size=16, scale=2, real_share=0.0, seed=0)
    cache = TeacherCache(tmp_path / "cache", spec)
    teacher = teacher_net(outside_teacher(tmp_path))
    outputs = np.load(cache.teacher_outputs(teacher, "ef" * 32))
    inputs = torch.from_numpy(np.load(cache.file("inputs"))).permute(0, 3, 1, 2).float() / 255
    with torch.inference_mode():
        expected = imresize(teacher(inputs).clamp(0, 1), 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    assert outputs.shape == (3, 32, 32, 3) and np.load(cache.file("targets")).shape == (3, 32, 32, 3)
    assert np.abs(outputs.astype(int) - np.round(expected * 255)).max() <= 1


def test_distillation_crops_turn_input_teacher_and_target_together(photos, tmp_path):
    spec = CacheSpec(tuple(photos), crops=4, input_size=16, scale=4, real_share=0.0, seed=0)
    cache = TeacherCache(tmp_path / "cache", spec)
    nearest = lambda batch: torch.nn.functional.interpolate(batch, scale_factor=4, mode="nearest")  # noqa: E731
    crops = DistillationCrops(cache, [cache.teacher_outputs(nearest, "00" * 32)], seed=0)  # type: ignore[arg-type]
    for index in range(8):
        item = crops[index]
        assert item["teacher"].shape == item["target"].shape == (3, 64, 64) and bool(item["has_target"])
        upsampled = torch.nn.functional.interpolate(item["input"][None], scale_factor=4, mode="nearest")[0]
        assert torch.allclose(item["teacher"], upsampled, atol=1 / 255)  # the same flip and turn
    assert torch.equal(crops[5]["input"], crops[5]["input"])


def test_detail_is_the_mean_gradient_and_zero_on_flat_images():
    flat = np.full((1, 32, 32, 3), 90, np.uint8)
    ramp = np.repeat(np.repeat(np.arange(32, dtype=np.uint8)[None, :, None] * 4, 32, axis=0)[None], 3, axis=3)
    scores = teacher_cache.detail(np.concatenate([flat, ramp, ramp // 2]), chunk=2)
    assert scores[0] == 0.0
    assert scores[1] == pytest.approx(4.0, rel=0.1)  # 4 gray levels a pixel, less at the borders
    assert scores[2] == pytest.approx(scores[1] / 2, rel=0.05)


def test_detail_power_draws_detailed_samples_more_often(photos, tmp_path):
    """With ``detail_power`` a sample's share of the draws follows its detail; without, every sample is drawn
    alike. The teacher here returns flat gray for the first half of the samples and the input for the rest."""
    spec = CacheSpec(tuple(photos), crops=8, input_size=16, scale=4, real_share=0.0, seed=0)
    cache = TeacherCache(tmp_path / "cache", spec)

    def half_flat(batch: torch.Tensor) -> torch.Tensor:  # the 8 samples come in one call (CHUNK is 32)
        out = torch.nn.functional.interpolate(batch, scale_factor=4, mode="nearest")
        out[:4] = 0.5
        return out

    outputs = [cache.teacher_outputs(half_flat, "11" * 32)]  # type: ignore[arg-type]

    def flat_draws(power: float) -> int:
        crops = DistillationCrops(cache, outputs, seed=1, detail_power=power)
        teachers = (crops[index]["teacher"] for index in range(800))
        return sum(bool(teacher.std() == 0) for teacher in teachers)

    assert 300 < flat_draws(0.0) < 500  # about half the draws are flat samples
    assert flat_draws(2.0) < 50  # flat samples weigh 1 against (detail + 1) ** 2 for the others


def test_the_perceptual_terms_see_one_random_square_of_each_sample():
    """``loss.perceptual_crop``: the same square of student and teacher, inside the image, varying with the
    step's draws; 0, or a side as large as the image, means all of it."""
    from patina.training.upscale_trainer import _random_square

    image = torch.arange(2 * 3 * 12 * 10, dtype=torch.float32).view(2, 3, 12, 10)
    rng = np.random.default_rng(0)
    windows = [_random_square(image.shape[-2:], 4, rng) for _ in range(20)]
    assert all(image[window].shape == (2, 3, 4, 4) for window in windows)
    assert len({(window[1].start, window[2].start) for window in windows}) > 5
    for side in (0, 10):
        assert image[_random_square(image.shape[-2:], side, rng)].shape == image.shape


def tiny_distillation(photos: list[Path], tmp_path: Path, teacher: Path, **loss: float):
    """A distillation trainer of a tiny student on ``photos``, with the loss weights ``loss`` (others 0)."""
    from patina.training.config import DistillConfig, UpscaleTrainConfig
    from patina.training.upscale_trainer import UpscaleTrainer

    cfg = load_yaml(UpscaleTrainConfig, ROOT / "configs/upscale-tiny.yaml")
    cfg.data.roots, cfg.data.holdout_every, cfg.out_dir = [str(photos[0].parent)], 3, str(tmp_path / "run")
    cfg.generator = {"channels": 8, "convs": 2}
    cfg.teachers = DistillConfig(files=[str(teacher)], cache=str(tmp_path / "cache"), crops=16, val_crops=4,
                                 input_size=16, real_share=0.25)
    cfg.loss.pixel = cfg.loss.perceptual = cfg.loss.adversarial = 0.0
    for name, weight in loss.items():
        setattr(cfg.loss, name, weight)
    cfg.optim.steps, cfg.optim.lr_g, cfg.optim.ema_decay, cfg.data.batch_size = 40, 3e-3, 0.5, 4
    cfg.log_every = cfg.validate_every = cfg.image_every = 1000
    return UpscaleTrainer(cfg, progress=False)


def test_a_distillation_run_learns_the_teacher_and_names_it(photos, tmp_path):
    teacher = outside_teacher(tmp_path)
    trainer = tiny_distillation(photos, tmp_path, teacher, teacher_pixel=1.0, pixel=0.1, teacher_ssim=0.5)
    before = trainer.validate()
    assert set(before) == {"val/psnr_y_model", "val/psnr_y_teacher", "val/psnr_y_bicubic",
                           "val/psnr_y_model_to_teacher", "val/ssim_y_model_to_teacher"}
    trainer.fit()
    after = trainer.validate()
    assert after["val/psnr_y_model_to_teacher"] > before["val/psnr_y_model_to_teacher"] + 1.0
    assert after["val/ssim_y_model_to_teacher"] > before["val/ssim_y_model_to_teacher"] + 0.05
    card = json.loads((tmp_path / "run/export/upscale-tiny.json").read_text())
    import hashlib

    assert [t["sha256"] for t in card["teachers"]] == [hashlib.sha256(teacher.read_bytes()).hexdigest()]


def test_a_fine_tuned_student_names_the_teachers_of_the_weights_it_started_from(photos, tmp_path):
    from patina.training.teachers import teacher_entry
    from patina.weights import ModelCard, save_model

    teacher = outside_teacher(tmp_path)
    trainer = tiny_distillation(photos, tmp_path, teacher, teacher_pixel=1.0)
    earlier = {"name": "an earlier teacher", "licence": "MIT", "sha256": "ab" * 32, "file": "earlier.pth"}
    start = tmp_path / "start.safetensors"
    save_model(CompactUpscaler(channels=8, convs=2), start,
               ModelCard(name="start", arch="CompactUpscaler", kwargs={"channels": 8, "convs": 2}, version="0",
                         teachers=[earlier, teacher_entry(teacher)]))
    own = teacher_entry(teacher)["sha256"]
    assert [entry["sha256"] for entry in trainer.teachers()] == [own]
    trainer.config.init_from = str(start)
    assert [entry["sha256"] for entry in trainer.teachers()] == [own, earlier["sha256"]]


def test_the_ground_truth_terms_see_only_the_samples_that_have_one(photos, tmp_path):
    """``loss.ssim`` and ``loss.perceptual`` compare the student with the ground truth of the samples that have
    one (the real photos have none), on the perceptual terms' square; without any, the terms are left out."""
    trainer = tiny_distillation(photos, tmp_path, outside_teacher(tmp_path), teacher_pixel=1.0, ssim=0.5,
                                perceptual=0.1, perceptual_crop=32)
    trainer.perceptual = lambda image, reference: (image - reference).abs().mean()  # a stand-in for VGG
    batch = torch.utils.data.default_collate([trainer.training_set()[index] for index in range(4)])
    batch["has_target"] = torch.tensor([True, False, True, False])
    batch["target"][1::2] = float("nan")  # what has no ground truth must not reach a loss
    terms = trainer.distill(batch, np.random.default_rng(0)).terms
    values = {name: float(term().detach()) for name, term in terms.items()}  # type: ignore[operator]
    assert np.isfinite(values["pixel"]) and np.isfinite(values["ssim"]) and np.isfinite(values["perceptual"])
    student = trainer.generator(batch["input"]).float().detach()
    from patina.losses import ssim_loss

    assert values["ssim"] == pytest.approx(float(ssim_loss(student[0::2], batch["target"][0::2])), rel=1e-4)
    batch["has_target"][:] = False
    assert {"pixel", "ssim", "perceptual"}.isdisjoint(trainer.distill(batch, np.random.default_rng(0)).terms)


def test_degraded_inputs_are_seeded_and_really_degraded():
    from patina.evaluation.upscale_eval import degraded_low_resolution, low_resolution

    image = torch.from_numpy(photo(0, 64, 72).transpose(2, 0, 1))[None].float() / 255
    high, low = degraded_low_resolution(image, 4, seed=0)
    _, clean = low_resolution(image, 4)
    assert high.shape == (1, 3, 64, 72) and low.shape == clean.shape == (1, 3, 16, 18)
    assert torch.equal(low, degraded_low_resolution(image, 4, seed=0)[1])
    assert not torch.equal(low, degraded_low_resolution(image, 4, seed=1)[1])
    assert 0.005 < float((low - clean).abs().mean()) < 0.1
    assert torch.equal(low, torch.round(low * 255) / 255)


def test_feature_distance_is_zero_for_the_same_image_only():
    from patina.evaluation.common import feature_distance

    features = lambda x: [x, torch.nn.functional.avg_pool2d(x, 2)]  # noqa: E731
    image = torch.rand(1, 3, 16, 16)
    assert feature_distance(features, image, features(image)) == 0.0  # type: ignore[arg-type]
    assert feature_distance(features, image * 0.5, features(image)) > 0.05  # type: ignore[arg-type]


def random_vgg(path: Path) -> Path:
    """Random weights in the VGG19 relu3_1 teacher's layout (a plain Sequential state dict)."""
    from patina.losses import VGGTeacher

    names = {"normalise": "0", "conv1_1": "2", "conv1_2": "5", "conv2_1": "9", "conv2_2": "12", "conv3_1": "16"}
    state = {f"{names[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in VGGTeacher().state_dict().items()}
    torch.save(state, path)
    return path


def test_eval_upscale_degraded_scores_the_teachers_and_leaves_their_folder_alone(tmp_path):
    from patina.imageio import Image, write_image

    data, teachers = tmp_path / "HR", tmp_path / "teachers"
    data.mkdir(), teachers.mkdir(), (teachers / "sub").mkdir()
    for index in range(2):
        write_image(data / f"{index}.png", Image(pixels=photo(index, 40, 44)))
    outside_teacher(teachers / "sub", scale=2, name="twice")
    outside_teacher(teachers, scale=4, name="fourfold")  # x4: scored with its output halved
    save_file({"classifier.weight": torch.zeros(3, 3)}, teachers / "classifier.safetensors")  # not an upscaler
    result = runner.invoke(app, ["eval", "upscale", "--data", str(data), "--scale", "2", "--degraded",
                                 "--model", str(outside_teacher(tmp_path, scale=2, name="student")),
                                 "--teachers", str(teachers), "--peers", str(tmp_path / "none"),
                                 "--features", str(random_vgg(tmp_path / "vgg.pth")), "--update-card", "--no-progress",
                                 "--json", str(tmp_path / "scores.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "scores.json").read_text())
    scores = report["datasets"][0]
    assert scores["protocol"] == "upscale_eval_degraded_x2" and scores["seeds"] == "0..1"
    assert set(scores["methods"]) == {"bicubic", str(tmp_path / "student.safetensors"), "teacher:twice",
                                      "teacher:fourfold-to-x2"}
    assert "--degraded" in report["command"]
    assert all(method["feature_distance"] > 0 for method in scores["methods"].values())
    assert sorted(p.name for p in teachers.rglob("*")) == ["classifier.safetensors", "fourfold.safetensors",
                                                           "sub", "twice.safetensors"]


@pytest.mark.parametrize("bad", [{"denoise": 1.5}, {"denoise": -0.1}, {"denoise": 0.5, "fidelity": True},
                                 {"denoise": 0.5, "model": "upscale-x4-fidelity"},
                                 {"denoise": 0.5, "model": "upscale-x2"}])  # not the default of x4
def test_bad_denoise_settings_are_refused(bad):
    from patina.pipelines.upscale import UpscaleOptions

    with pytest.raises(OptionError):
        UpscaleOptions(**bad)


def test_denoise_is_refused_for_a_model_without_a_weak_denoise_twin(monkeypatch):
    from patina.pipelines.upscale import UpscaleOptions
    from patina.weights.registry import REGISTRY

    monkeypatch.delitem(REGISTRY, "upscale-x2-wdn")
    with pytest.raises(OptionError, match="no weak-denoise twin"):
        UpscaleOptions(denoise=0.5, scale=2)


@pytest.mark.parametrize("scale", [2, 4])
def test_denoise_blends_the_default_model_with_its_weak_denoise_twin(scale):
    from patina.pipelines.upscale import UpscalePipeline
    from patina.weights import load

    names = [f"upscale-x{scale}", f"upscale-x{scale}-wdn"]
    strong, weak = (load(name).network.state_dict() for name in names)
    pipe = UpscalePipeline(denoise=0.25, scale=scale, device="cpu")
    blended = pipe.network.state_dict()
    assert all(torch.allclose(blended[k], 0.25 * strong[k] + 0.75 * weak[k], atol=1e-6) for k in strong)
    assert [m["name"] for m in pipe.models()] == names
    assert pipe.resolved_options().denoise == 0.25
    plain = UpscalePipeline(denoise=1.0, scale=scale, device="cpu").network.state_dict()
    assert all(torch.equal(plain[k], strong[k]) for k in strong)
