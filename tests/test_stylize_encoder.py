"""The compact style encoder and its distillation from the VGG19 relu3_1 teacher (`patina train stylize-encoder`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from patina.cli.app import app
from patina.core.config import load_yaml
from patina.imageio import Image, write_image
from patina.networks import StyleEncoder
from patina.networks.stylize import FeatureAdapters
from patina.training.config import EncoderDistillConfig
from patina.training.stylize_encoder_trainer import (EncoderDistiller, channel_statistics, distillation_losses,
                                                     jitter_colour)

ROOT = Path(__file__).resolve().parents[1]
TEACHER = ROOT.parent / "shared" / "weights" / "vgg19_relu3_1" / "vgg_normalised_conv3_1.pth"
needs_teacher = pytest.mark.skipif(not TEACHER.is_file(), reason="../shared teacher weights are absent")
runner = CliRunner()


def test_encoder_features_have_the_teacher_layout():
    encoder = StyleEncoder(widths=(8, 16, 24))
    features = encoder(torch.rand(2, 3, 64, 48))
    assert [tuple(f.shape) for f in features] == [(2, 8, 64, 48), (2, 16, 32, 24), (2, 24, 16, 12)]
    assert all((f >= 0).all() for f in features)  # ReLU outputs
    adapted = FeatureAdapters(widths=(8, 16, 24))(features)
    assert [f.shape[1] for f in adapted] == [64, 128, 256]


def test_distillation_losses_are_zero_only_for_a_perfect_student():
    torch.manual_seed(0)
    teacher = [torch.rand(2, 4, 8, 8), torch.rand(2, 6, 4, 4)]
    feature, statistics = distillation_losses(teacher, teacher)
    assert all(float(v) < 1e-6 for v in feature + statistics)
    feature, statistics = distillation_losses([t * 1.5 for t in teacher], teacher)
    assert all(float(v) > 0.05 for v in feature + statistics)
    mean, std = channel_statistics(teacher[0])
    assert mean.shape == std.shape == (2, 4)


def test_colour_jitter_changes_saturation_within_range():
    torch.manual_seed(0)
    images = torch.rand(8, 3, 16, 16)
    jittered = jitter_colour(images, 1.0)
    assert jittered.shape == images.shape and 0 <= jittered.min() and jittered.max() <= 1
    assert (jittered - images).abs().mean() > 0.01
    assert torch.equal(jitter_colour(images, 0.0), images)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("encoder-photos")
    rng = np.random.default_rng(0)
    for index in range(5):
        y, x = np.mgrid[0:64, 0:64] / 64
        rgb = np.stack([np.sin(x * (3 + index)), np.cos(y * 5), x * y], axis=-1) * 0.4 + 0.5
        rgb += rng.normal(0, 0.05, rgb.shape)
        write_image(root / f"p{index}.png", Image(pixels=(np.clip(rgb, 0, 1) * 255).astype(np.uint8)))
    return root


def _config(tmp_path: Path, photos: Path) -> Path:
    path = tmp_path / "encoder.yaml"
    path.write_text((ROOT / "configs" / "stylize-encoder-tiny.yaml").read_text()
                    .replace("../shared/data/train/T91", str(photos))
                    .replace("../shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth", str(TEACHER))
                    .replace("holdout_every: 10", "holdout_every: 5"))
    return path


@pytest.mark.slow
@needs_teacher
def test_distillation_brings_the_student_closer_to_the_teacher(tmp_path, photos):
    config = load_yaml(EncoderDistillConfig, _config(tmp_path, photos))
    config.out_dir, config.optim.steps, config.optim.lr_g = str(tmp_path / "run"), 60, 3e-3
    config.validate_every = config.checkpoint_every = config.image_every = 1000
    trainer = EncoderDistiller(config, progress=False)
    before = trainer.validate(limit=2)
    trainer.fit()
    after = trainer.validate(limit=2)
    assert after["val/feature_relu1_1"] < before["val/feature_relu1_1"]
    assert after["val/statistics_relu1_1"] < before["val/statistics_relu1_1"]


@pytest.mark.slow
@needs_teacher
def test_cli_train_stylize_encoder_exports_a_card(tmp_path, photos):
    result = runner.invoke(app, ["train", "stylize-encoder", "--config", str(_config(tmp_path, photos)),
                                 "--out-dir", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "run" / "export" / "stylize-encoder.json").read_text())
    assert card["arch"] == "StyleEncoder" and card["steps"] == 6 and card["kwargs"]["widths"] == [8, 8, 16]
    assert set(card["training"]["held_out"]) == {f"val/{kind}_{layer}" for kind in ("feature", "statistics")
                                                 for layer in ("relu1_1", "relu2_1", "relu3_1")}
