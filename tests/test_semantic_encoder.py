"""The semantic encoder: its network, its distillation from EfficientNet-Lite0 (`patina train semantic-encoder`),
and the colorizer that reads it (``semantic_width`` / ``semantic_encoder``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_colorize import assert_starts_as_plain, scene, scene_folder, tiny_colorize_config, to_tensor

from patina.core.errors import ConfigError
from patina.networks import ColorizeGenerator
from patina.networks.efficientnet import EfficientNetLite0
from patina.networks.semantic import SemanticEncoder
from patina.ops.color import gray_rgb, split_lab
from patina.pipelines.colorize import ColorizePipeline
from patina.weights import ModelCard, save_model


def test_the_encoder_predicts_the_teachers_maps_at_its_strides() -> None:
    encoder = SemanticEncoder(width=0.25).eval()
    shapes = {stride: tuple(features.shape) for stride, features in encoder(torch.rand(2, 1, 64, 96)).items()}
    assert shapes == {8: (2, 40, 8, 12), 16: (2, 112, 4, 6), 32: (2, 320, 2, 3)}
    odd = encoder(torch.rand(1, 1, 70, 50))
    assert tuple(odd[32].shape[-2:]) == (3, 2)  # sizes round up, as the teacher's do
    assert sum(p.numel() for p in SemanticEncoder(width=0.75).parameters()) < 2_000_000
    with pytest.raises(ValueError, match="width"):
        SemanticEncoder(width=0)


def test_semantic_inputs_start_at_zero_so_a_plain_model_is_unchanged() -> None:
    """A generator with a semantic encoder, given a plain generator's weights, colours exactly as that one did
    until its zero-started inputs learn; the encoder is frozen, stays in eval mode (its batch norms keep their
    statistics) and is saved with the weights."""
    torch.manual_seed(0)
    plain = ColorizeGenerator(widths=(8, 16, 16, 16), blocks=(1, 1, 1, 1), bin_step=10)
    torch.nn.init.normal_(plain.tail.weight, std=0.2)
    with_semantic = ColorizeGenerator(widths=(8, 16, 16, 16), blocks=(1, 1, 1, 1), bin_step=10, semantic_width=0.25)
    light = torch.rand(2, 1, 64, 96)
    assert_starts_as_plain(plain, with_semantic, "semantic", light)
    with_semantic.train()
    assert not with_semantic.semantic.training and with_semantic.body.training
    statistics = {k: v.clone() for k, v in with_semantic.semantic.state_dict().items() if "running" in k}
    with_semantic.logits(light).sum().backward()
    assert all(torch.equal(with_semantic.semantic.state_dict()[k], v) for k, v in statistics.items())
    for conv in with_semantic.semantic_inputs.values():
        torch.nn.init.normal_(conv.weight, std=0.5)
    with_semantic.eval()
    assert not torch.allclose(with_semantic(light), plain(light))


def random_teacher(path: Path) -> Path:
    """An untrained EfficientNet-Lite0 whose features do not vanish with depth (He-initialised convs)."""
    torch.manual_seed(0)
    teacher = EfficientNetLite0()
    for module in teacher.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight)
    save_file({k: v.contiguous() for k, v in teacher.state_dict().items()}, path)
    return path


def tiny_encoder_config(photos: Path, out_dir: Path, teacher: Path, steps: int):  # noqa: ANN201 - a config
    from patina.training.config import SemanticEncoderTrainConfig

    config = SemanticEncoderTrainConfig(teacher=str(teacher), out_dir=str(out_dir), generator={"width": 0.25})
    config.data.roots, config.data.holdout_every, config.data.crop = [str(photos)], 3, 64
    config.data.batch_size, config.data.workers = 4, 0
    config.optim.steps, config.optim.warmup, config.optim.lr_g = steps, 1, 3e-3
    config.log_every = config.validate_every = config.checkpoint_every = config.image_every = 1000
    return config


@pytest.fixture
def colour_photos(tmp_path: Path) -> Path:
    return scene_folder(tmp_path / "train", 6, 80, 96)


@pytest.fixture
def teacher(tmp_path: Path) -> Path:
    return random_teacher(tmp_path / "lite0.safetensors")


@pytest.mark.slow
def test_distillation_learns_the_teachers_features_and_exports_the_encoder_alone(
        colour_photos: Path, teacher: Path, tmp_path: Path) -> None:
    from patina.training.colorize_trainer import colour_split
    from patina.training.semantic_distill import feature_loss, teach
    from patina.training.semantic_encoder_trainer import SemanticEncoderTrainer

    config = tiny_encoder_config(colour_photos, tmp_path / "run", teacher, 40)
    trainer = SemanticEncoderTrainer(config, progress=False)
    train, held_out, _, _ = colour_split(config)
    assert (trainer.train_files, trainer.val_files) == (train, held_out)  # the colorizer's split, gray left out
    colour = next(iter(trainer.data_loader()))["target"]

    def feature_error() -> float:  # the encoder against the teacher on the first training batch
        with torch.no_grad():
            predicted = trainer.encoder.eval()(split_lab(colour)[0])
        trainer.encoder.train()
        return float(feature_loss(predicted, teach(trainer.teacher, colour)[0]))

    before = feature_error()
    result = trainer.train_step({"target": colour})
    assert {"g/features", "g/classes", "g/class_agreement"} <= set(result.losses)
    trainer.fit()
    assert feature_error() < 0.8 * before
    after = trainer.validate()
    exported = tmp_path / "run/export/semantic-encoder.safetensors"
    assert set(load_file(exported)) == set(SemanticEncoder(width=0.25).state_dict())  # no class head
    card = ModelCard.read(exported.with_suffix(".json"))
    assert card.arch == "SemanticEncoder" and card.kwargs == {"width": 0.25}
    assert [entry["file"] for entry in card.teachers] == ["lite0.safetensors"]
    assert card.training["held_out"]["val/features"] == pytest.approx(after["val/features"], rel=1e-4)


def semantic_encoder_file(folder: Path, width: float) -> Path:
    """A SemanticEncoder (random) saved as `patina train semantic-encoder` exports one, teacher named."""
    torch.manual_seed(1)
    path = folder / f"semantic-{width}.safetensors"
    save_model(SemanticEncoder(width=width), path, ModelCard(
        name="semantic-encoder", arch="SemanticEncoder", kwargs={"width": width}, version="0.1.0",
        task="semantic-encoder", teachers=[{"name": "EfficientNet-Lite0", "licence": "Apache-2.0",
                                            "sha256": "ab" * 32, "file": "lite0.safetensors"}]))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("trained", [False, True])
def test_colorize_training_copies_the_semantic_encoder_trains_it_only_when_asked_and_names_its_teacher(
        colour_photos: Path, tmp_path: Path, trained: bool) -> None:
    from patina.training.colorize_trainer import ColorizeTrainer
    from patina.weights.files import load_model

    encoder_path = semantic_encoder_file(tmp_path, 0.25)
    encoder = load_model(encoder_path)[0].state_dict()
    plain = ColorizeGenerator(widths=(8, 16, 16, 16), blocks=(1, 1, 1, 1), bin_step=10)
    source = tmp_path / "plain.safetensors"
    save_model(plain, source, ModelCard(name="colorize", arch="ColorizeGenerator", version="0.1.0", task="colorize",
                                        kwargs={"widths": [8, 16, 16, 16], "blocks": [1, 1, 1, 1], "bin_step": 10}))
    config = tiny_colorize_config(colour_photos, tmp_path / "run", 4)
    config.data.crop = 64
    config.init_from, config.semantic_encoder = str(source), str(encoder_path)
    config.generator = {"widths": [8, 16, 16, 16], "blocks": [1, 1, 1, 1], "bin_step": 10, "semantic_width": 0.25}
    config.train_semantic_encoder = trained
    trainer = ColorizeTrainer(config, progress=False)
    saved = load_model(source)[0].state_dict()
    assert all(torch.equal(trainer.generator.state_dict()[k], v) for k, v in saved.items())
    trainer.fit()
    generator = trainer.generator
    unchanged = {k: torch.equal(generator.semantic.state_dict()[k], v) for k, v in encoder.items()}
    statistics = [k for k in unchanged if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert statistics and all(unchanged[k] for k in statistics)  # its batch norms stay in eval mode either way
    assert all(unchanged.values()) != trained  # frozen unless asked
    assert any(conv.weight.abs().sum() > 0 for conv in generator.semantic_inputs.values())
    path = tmp_path / "run/export/colorize.safetensors"
    card = ModelCard.read(path.with_suffix(".json"))
    assert card.kwargs["semantic_width"] == 0.25
    assert "lite0.safetensors" in [entry["file"] for entry in card.teachers]
    pipeline = ColorizePipeline(model=str(path), device="cpu")
    exported = trainer.ema_generator.shadow.semantic.state_dict()  # the original encoder unless trained
    assert all(torch.allclose(pipeline.generator.semantic.state_dict()[k].float(), v.float(), rtol=1e-3, atol=1e-5)
               for k, v in exported.items())  # the file holds float16
    coloured = pipeline(gray_rgb(to_tensor(scene())))
    assert coloured.shape == (1, 3, 64, 80) and torch.isfinite(coloured).all()


@pytest.mark.parametrize("semantic_width, encoder, message", [
    (0.25, None, "needs semantic_encoder"),
    (None, "train", "train_semantic_encoder needs"),
    (None, "encoder", "no semantic_width"),
    (0.5, "encoder", "width 0.25"),
    (0.25, "colorize", "not a SemanticEncoder"),
])
@pytest.mark.slow
def test_semantic_settings_that_cannot_work_are_refused(colour_photos: Path, tmp_path: Path, semantic_width,
                                                        encoder, message: str) -> None:
    from patina.training.colorize_trainer import ColorizeTrainer

    config = tiny_colorize_config(colour_photos, tmp_path / "run", 2)
    config.semantic_encoder = str(semantic_encoder_file(tmp_path, 0.25)) if encoder == "encoder" else encoder
    if encoder == "train":
        config.semantic_encoder, config.train_semantic_encoder = None, True
    if semantic_width:
        config.generator = {**config.generator, "semantic_width": semantic_width}
    with pytest.raises(ConfigError, match=message):
        ColorizeTrainer(config, progress=False)


def test_distillation_goes_on_from_an_exported_encoder_and_refuses_one_of_another_width(
        colour_photos: Path, teacher: Path, tmp_path: Path) -> None:
    from patina.training.semantic_encoder_trainer import SemanticEncoderTrainer

    exported = semantic_encoder_file(tmp_path, 0.25)
    config = tiny_encoder_config(colour_photos, tmp_path / "run", teacher, 2)
    config.init_from = str(exported)
    trainer = SemanticEncoderTrainer(config, progress=False)
    for name, value in load_file(exported).items():
        assert torch.equal(trainer.encoder.state_dict()[name].to(value.dtype), value), name

    config.init_from = str(semantic_encoder_file(tmp_path, 0.5))
    with pytest.raises(ConfigError, match="do not fit the configured semantic encoder"):
        SemanticEncoderTrainer(config, progress=False)
