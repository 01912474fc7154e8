from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from patina.core.config import from_dict, load_yaml
from patina.core.errors import ConfigError
from patina.training.config import RestoreTrainConfig
from patina.data import list_images
from patina.training.datasets import DegradationPairs
from patina.training.restore_trainer import RestoreTrainer
from patina.weights import load_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_images(tmp_path) -> Path:
    folder = tmp_path / "clean"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(6):
        y, x = np.mgrid[0:96, 0:80] / 96.0
        base = np.stack([x, y, (x + y) / 2], axis=-1) + rng.normal(0, 0.1, (96, 80, 3))
        Image.fromarray((np.clip(base, 0, 1) * 255).astype(np.uint8)).save(folder / f"img{index}.png")
    return folder


def tiny_config(clean_images: Path, out_dir: Path, steps: int = 4) -> RestoreTrainConfig:
    cfg = load_yaml(RestoreTrainConfig, ROOT / "configs/restore-tiny.yaml")
    cfg.data.roots = [str(clean_images)]
    cfg.data.holdout_every = 3
    cfg.out_dir = str(out_dir)
    cfg.optim.steps = steps
    return cfg


def test_shipped_configs_validate():
    full = load_yaml(RestoreTrainConfig, ROOT / "configs/restore.yaml")
    assert full.data.crop == 192 and full.loss.gan == "hinge" and full.optim.betas == (0.9, 0.99)
    load_yaml(RestoreTrainConfig, ROOT / "configs/restore-tiny.yaml")


@pytest.mark.parametrize("bad", [
    {"optim": {"stepz": 3}},
    {"optim": {"steps": "many"}},
    {"loss": {"gan": "vanilla"}},
    {"data": {"crop": 100}},
    {"data": {"betas": [1, 2, 3]}},
])
def test_invalid_configs_are_rejected(bad):
    with pytest.raises(ConfigError):
        from_dict(RestoreTrainConfig, bad)


def test_dataset_samples_are_deterministic(clean_images):
    cfg = tiny_config(clean_images, Path("unused"))
    from patina.degradations.chain import TRAIN_CONFIG

    data = DegradationPairs(list_images([clean_images]), crop=64, scale_range=(0.6, 1.0), degradation=TRAIN_CONFIG,
                            seed=3)
    first, again, other = data[5], data[5], data[6]
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["degraded"], other["degraded"])
    assert first["degraded"].shape == (3, 64, 64) and first["mask"].shape == (1, 64, 64)
    assert cfg.data.crop == 64


@pytest.mark.slow
def test_tiny_training_logs_checkpoints_and_exports(clean_images, tmp_path):
    trainer = RestoreTrainer(tiny_config(clean_images, tmp_path / "run", steps=6), progress=False)
    trainer.fit()
    assert trainer.step == 6
    assert (tmp_path / "run/checkpoint.pt").is_file()
    assert list((tmp_path / "run/tensorboard").glob("events.out.tfevents.*"))
    generator, card = load_model(tmp_path / "run/export/restore.safetensors")
    assert card.steps == 6 and card.arch == "RestoreGenerator" and card.kwargs["widths"] == [8, 16]
    mask_net, _ = load_model(tmp_path / "run/export/damage-mask.safetensors")
    image = torch.rand(1, 3, 32, 32)
    assert generator(image, torch.sigmoid(mask_net(image))).shape == image.shape
    assert torch.isfinite(generator(image, torch.zeros(1, 1, 32, 32))).all()


@pytest.mark.slow
def test_training_changes_the_generator(clean_images, tmp_path):
    trainer = RestoreTrainer(tiny_config(clean_images, tmp_path / "run", steps=3), progress=False)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    trainer.fit()
    assert any(not torch.equal(before[k], v) for k, v in trainer.generator.state_dict().items())


@pytest.mark.slow
@pytest.mark.parametrize("native_bf16", [True, False])
def test_amp_on_the_cpu_is_bf16_only_where_the_cpu_computes_it(clean_images, tmp_path, monkeypatch, native_bf16):
    monkeypatch.setattr("patina.core.device.fast_cpu_bf16", lambda: native_bf16)
    cfg = tiny_config(clean_images, tmp_path / "run", steps=3)
    cfg.optim.amp = True
    trainer = RestoreTrainer(cfg, progress=False)
    assert trainer.amp_dtype == (torch.bfloat16 if native_bf16 else None)
    precision = trainer.card_fields("restore", data=[])["training"]["precision"]
    assert precision == ("bfloat16" if native_bf16 else "float32")
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    trainer.fit()
    after = trainer.generator.state_dict()
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in after.values())
    assert any(not torch.equal(before[k], v) for k, v in after.items())


@pytest.mark.slow
def test_resume_is_exact(clean_images, tmp_path):
    straight = RestoreTrainer(tiny_config(clean_images, tmp_path / "straight", steps=4), progress=False)
    straight.fit()
    first = RestoreTrainer(tiny_config(clean_images, tmp_path / "resumed", steps=2), progress=False)
    first.fit()
    second = RestoreTrainer(tiny_config(clean_images, tmp_path / "resumed", steps=4), progress=False)
    assert second.resume_if_possible() and second.step == 2
    second.fit()
    for name in ("generator", "mask_net", "discriminator"):
        expected, got = getattr(straight, name).state_dict(), getattr(second, name).state_dict()
        for key in expected:
            assert torch.equal(expected[key], got[key]), f"{name}.{key} differs after resume"
    for key, value in straight.emas["generator"].state_dict().items():
        assert torch.equal(value, second.emas["generator"].state_dict()[key])


def test_cli_train_restore(clean_images, tmp_path):
    from patina.cli.app import app

    config = tmp_path / "tiny.yaml"
    text = (ROOT / "configs/restore-tiny.yaml").read_text().replace("../shared/data/train/T91", str(clean_images))
    config.write_text(text.replace("holdout_every: 10", "holdout_every: 3"))
    result = CliRunner().invoke(app, ["train", "restore", "--config", str(config), "--out-dir", str(tmp_path / "cli"),
                                      "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "done at step 2" in result.output
    assert (tmp_path / "cli/export/restore.safetensors").is_file()


@pytest.mark.slow
def test_fine_tune_adds_the_context_branch_to_exported_weights(clean_images, tmp_path):
    """init_from: a run exported without the whole-photo branch seeds one that has it, unchanged at step 0."""
    first = RestoreTrainer(tiny_config(clean_images, tmp_path / "stage1", steps=2), progress=False)
    first.fit()
    cfg = tiny_config(clean_images, tmp_path / "stage2", steps=2)
    cfg.init_from = str(tmp_path / "stage1/export")
    cfg.generator = {**cfg.generator, "global_context": True}
    second = RestoreTrainer(cfg, progress=False)
    image, mask = torch.rand(1, 3, 64, 64), torch.zeros(1, 1, 64, 64)
    exported, _ = load_model(tmp_path / "stage1/export/restore.safetensors")
    with torch.no_grad():
        assert torch.allclose(second.generator(image, mask), exported(image, mask), atol=1e-6)
    second.fit()
    model, card = load_model(tmp_path / "stage2/export/restore.safetensors")
    assert card.kwargs["global_context"] is True and model.uses_context

    cfg.generator = {"widths": [16, 32], "blocks": [1, 1], "unshuffle": 2}  # a different network
    with pytest.raises(ConfigError, match="do not fit"):
        RestoreTrainer(cfg, progress=False)


@pytest.mark.slow
def test_mask_only_fine_tune_trains_the_mask_net_behind_a_tone_model(clean_images, tmp_path):
    """train_generator off: G stays as initialised, the mask net learns, no D; a tone model travels with the
    export (the pipeline finds it beside the generator)."""
    from patina.networks import ToneCorrector
    from patina.weights import ModelCard, save_model

    first = RestoreTrainer(tiny_config(clean_images, tmp_path / "stage1", steps=2), progress=False)
    first.fit()
    tone_path = tmp_path / "tone/restore-tone.safetensors"
    tone_path.parent.mkdir()
    save_model(ToneCorrector(knots=4, width=8), tone_path, ModelCard(name="restore-tone", arch="ToneCorrector",
                                                                     kwargs={"knots": 4, "width": 8}, version="0"))
    cfg = tiny_config(clean_images, tmp_path / "masks", steps=3)
    cfg.init_from, cfg.train_generator, cfg.tone_model = str(tmp_path / "stage1/export"), False, str(tone_path)
    trainer = RestoreTrainer(cfg, progress=False)
    assert trainer.adversary is None and set(trainer.networks) == {"mask_net"}
    generator_before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    mask_before = {k: v.clone() for k, v in trainer.mask_net.state_dict().items()}
    trainer.fit()
    assert all(torch.equal(v, trainer.generator.state_dict()[k]) for k, v in generator_before.items())
    assert any(not torch.equal(v, trainer.mask_net.state_dict()[k]) for k, v in mask_before.items())
    export = tmp_path / "masks/export"
    assert {path.name for path in export.iterdir()} >= {"restore.safetensors", "damage-mask.safetensors",
                                                        "restore-tone.safetensors", "restore-tone.json"}
    exported, _ = load_model(export / "restore.safetensors")
    stage1, _ = load_model(tmp_path / "stage1/export/restore.safetensors")
    assert all(torch.equal(v, stage1.state_dict()[k]) for k, v in exported.state_dict().items())


@pytest.mark.slow
def test_cli_train_restore_tone(clean_images, tmp_path):
    from patina.cli.app import app

    config = tmp_path / "tone.yaml"
    text = (ROOT / "configs/restore-tone-tiny.yaml").read_text().replace("../shared/data/train/T91", str(clean_images))
    config.write_text(text.replace("holdout_every: 10", "holdout_every: 3"))
    result = CliRunner().invoke(app, ["train", "restore-tone", "--config", str(config), "--out-dir",
                                      str(tmp_path / "tone"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "val/l1_corrected" in result.output or "done at step 4" in result.output
    assert "g/passthrough" in result.output  # the tiny config weighs the clean photos' pass-through
    model, card = load_model(tmp_path / "tone/export/restore-tone.safetensors")
    assert card.arch == "ToneCorrector" and card.task == "restore-tone" and card.teachers == []
    assert model(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 64, 64)).shape == (1, 3, 32, 32)


@pytest.mark.slow
def test_a_gridded_tone_run_starts_from_a_corrector_without_the_grid(clean_images, tmp_path):
    """init_from a flat tone corrector: the gridded one corrects as it did at step 0 (its cells start unchanged)."""
    from patina.networks import ToneCorrector
    from patina.training.config import ToneTrainConfig
    from patina.training.tone_trainer import ToneTrainer
    from patina.weights import ModelCard, save_model

    flat = ToneCorrector(knots=8, width=16)
    torch.nn.init.normal_(flat.mlp[-1].weight, std=0.3)
    save_model(flat, tmp_path / "flat/restore-tone.safetensors",
               ModelCard(name="restore-tone", arch="ToneCorrector", kwargs={"knots": 8, "width": 16},
                         version="0.0.0-test", dtype="float32"))
    cfg = load_yaml(ToneTrainConfig, ROOT / "configs/restore-tone-tiny.yaml")
    cfg.data.roots, cfg.data.holdout_every, cfg.out_dir = [str(clean_images)], 3, str(tmp_path / "gridded")
    cfg.init_from, cfg.generator = str(tmp_path / "flat/restore-tone.safetensors"), {"knots": 8, "width": 16, "grid": 2}
    gridded = ToneTrainer(cfg, progress=False).corrector
    image, thumb = torch.rand(1, 3, 40, 48), torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(gridded(image, thumb), flat(image, thumb), atol=1e-5)
        assert not torch.allclose(flat(image, thumb), image, atol=1e-2)  # a correction, not the identity


def test_degradation_overrides_change_one_run_s_preset():
    from patina.degradations.chain import TRAIN_CONFIG
    from patina.training.datasets import degradation_preset

    assert degradation_preset("train") == TRAIN_CONFIG
    changed = degradation_preset("train", {"p_fine_detail": 0.8})
    assert changed.p_fine_detail == 0.8 and changed.p_cracks == TRAIN_CONFIG.p_cracks
    with pytest.raises(ConfigError, match="degradation must be one of"):
        degradation_preset("sepia")
    with pytest.raises(ConfigError, match="degradation_overrides"):
        degradation_preset("train", {"p_nonsense": 1.0})
    with pytest.raises(ConfigError, match="degradation_overrides"):
        degradation_preset("train", {"p_cracks": 3.0})


def test_hard_negatives_are_mined_listed_and_read_back_as_training_photos_only(clean_images, tmp_path):
    from patina.training.hard_negatives import mine, read_list, write_list

    files = list_images([clean_images])
    train, held_out = files[1:], files[:1]
    shares = {path: 0.002 * i for i, path in enumerate(files)}  # img0 (held out) 0, img5 the most flagged
    negatives = mine(train, shares.__getitem__, min_flagged=0.005)
    assert [path.name for path, _ in negatives] == ["img5.png", "img4.png", "img3.png"]
    listed = tmp_path / "lists/hard.txt"
    write_list(listed, [*negatives, (held_out[0], 0.5)], [clean_images], header="mined\nfor a test")
    text = listed.read_text()
    assert text.startswith("# mined\n# for a test\n") and "img5.png\t0.0100" in text
    assert [train[i].name for i in read_list(listed, train, [clean_images])] == ["img3.png", "img4.png", "img5.png"]
    with pytest.raises(ConfigError, match="names none"):
        read_list(listed, [train[0]], [clean_images])
    with pytest.raises(ConfigError, match="does not exist"):
        read_list(tmp_path / "missing.txt", train, [clean_images])


def test_a_share_of_samples_comes_from_the_hard_negatives_and_the_rest_stays_as_it_was(clean_images):
    from patina.degradations.chain import TRAIN_CONFIG

    files = list_images([clean_images])
    args = {"crop": 64, "scale_range": (0.6, 1.0), "degradation": TRAIN_CONFIG, "seed": 3}
    plain, none_hard = DegradationPairs(files, **args), DegradationPairs(files, **args, hard=[2], p_hard=0.0)
    assert all(torch.equal(plain[i]["degraded"], none_hard[i]["degraded"]) for i in range(4))
    only_hard = DegradationPairs(files, **args, hard=[2], p_hard=1.0)
    reference = DegradationPairs([files[2]] * len(files), **args)  # the same draws, always from img2
    assert all(torch.equal(only_hard[i]["target"], reference[i]["target"]) for i in range(4))
    half = DegradationPairs(files, **args, hard=[2], p_hard=0.5)
    from_hard = [torch.equal(half[i]["target"], reference[i]["target"]) for i in range(40)]
    assert 8 <= sum(from_hard) <= 32
    with pytest.raises(ConfigError, match="needs a list"):
        DegradationPairs(files, **args, p_hard=0.5)
    with pytest.raises(ConfigError, match="needs hard_negatives"):
        from_dict(RestoreTrainConfig, {"data": {"p_hard_negative": 0.3}})


@pytest.mark.slow
def test_cli_mine_negatives_lists_training_photos_the_mask_net_flags(clean_images, tmp_path):
    """A training photo with scratch-like lines is listed first; a held-out one with the same lines never."""
    from patina.cli.app import app
    from patina.data import split_holdout
    from patina.training.hard_negatives import read_list

    for name in ("img0.png", "img4.png"):  # img0 is held out (every 3rd), img4 is a training photo
        photo = np.asarray(Image.open(clean_images / name)).copy()
        for offset in (10, 30, 50):
            rows = np.arange(offset, 96)
            photo[rows, np.clip(rows - offset, 0, 79)] = photo[rows, np.clip(rows - offset + 1, 0, 79)] = 255
        Image.fromarray(photo).save(clean_images / name)
    config = tmp_path / "mine.yaml"
    config.write_text(f"name: restore\ndata:\n  roots: [{clean_images}]\n  holdout_every: 3\n")
    out = tmp_path / "hard.txt"
    result = CliRunner().invoke(app, ["train", "mine-negatives", "--config", str(config), "--out", str(out),
                                      "--min-flagged", "0.005", "--no-progress"])
    assert result.exit_code == 0, result.output
    train, held_out = split_holdout(list_images([clean_images]), 3)
    assert f"of {len(train)} training photos" in result.output
    rows = [line.split("\t") for line in out.read_text().splitlines() if not line.startswith("#")]
    assert rows and rows[0][0] == "img4.png" and float(rows[0][1]) > 0.005
    assert "img0.png" not in {name for name, _ in rows} and held_out[0].name == "img0.png"
    assert [float(share) for _, share in rows] == sorted((float(share) for _, share in rows), reverse=True)
    assert [train[i].name for i in read_list(out, train, [clean_images])] == sorted(name for name, _ in rows)
