"""The trainer kit: named loss terms, the Adversary's penalties, data sharding, every shipped config, and
2-process data-parallel training (torchrun, gloo) against one process with the same global batch."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image
from torch import nn

from patina.core.config import load_yaml, to_dict
from patina.training import config as configs
from patina.training.adversary import Adversary
from patina.training.backprop import Backprop
from patina.training.checkpoint import load_checkpoint
from patina.training.datasets import CountingSampler
from patina.training.distributed import ProcessGroup
from patina.training.loss_terms import LossTerms, loss_weights

ROOT = Path(__file__).resolve().parents[1]
CONFIG_CLASSES = {"restore": configs.RestoreTrainConfig, "restore-tone": configs.ToneTrainConfig,
                  "colorize": configs.ColorizeTrainConfig,
                  "upscale": configs.UpscaleTrainConfig, "retro": configs.RetroTrainConfig,
                  "stylize-encoder": configs.EncoderDistillConfig, "stylize": configs.StylizeTrainConfig,
                  "face-detector": configs.FaceDetectorTrainConfig, "face-verifier": configs.FaceVerifierTrainConfig,
                  "face-restore": configs.FaceRestoreTrainConfig,
                  "semantic-encoder": configs.SemanticEncoderTrainConfig}


def config_class(path: Path) -> type:
    """The config class of a configs/ file: the longest task name its name starts with."""
    task = max((name for name in CONFIG_CLASSES if path.stem.startswith(name)), key=len)
    return CONFIG_CLASSES[task]


def test_every_shipped_config_loads_into_its_class():
    paths = sorted(ROOT.glob("configs/*.yaml"))
    assert len(paths) >= 21
    for path in paths:
        cfg = load_yaml(config_class(path), path)
        assert cfg.optim.steps > 0 or cfg.init_from, path.name  # 0 steps: init_from exported as converted


def test_loss_terms_weight_sum_and_log_only_the_weighted_ones():
    def never() -> torch.Tensor:
        raise AssertionError("a zero-weight term was computed")

    terms = LossTerms({"pixel": 2.0, "ssim": 0.0, "perceptual": 0.5})
    losses: dict[str, float] = {}
    total = terms.total({"pixel": torch.tensor(0.25), "ssim": never, "perceptual": lambda: torch.tensor(3.0),
                         "unweighted": never}, losses)
    assert total.item() == pytest.approx(2.0 * 0.25 + 0.5 * 3.0)
    assert losses == {"g/pixel": 0.25, "g/perceptual": 3.0}
    with pytest.raises(ValueError, match="weight 0"):
        terms.total({"ssim": never}, {})


def test_loss_weights_are_the_numeric_fields_of_the_loss_config():
    weights = loss_weights(configs.LossConfig(pixel=1.5, ssim=0.0))
    assert weights["pixel"] == 1.5 and weights["ssim"] == 0.0 and weights["feature_matching"] == 0.0
    assert "gan" not in weights and "teacher" not in weights


def linear_adversary(**loss) -> Adversary:
    """A linear D (logit = w . x + b), whose input gradient is w for every sample."""
    torch.manual_seed(0)
    discriminator = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 1))
    backprop = Backprop(device=torch.device("cpu"), amp=False, grad_clip=0.0, group=ProcessGroup())
    return Adversary(discriminator, loss=configs.GanLossConfig(**loss), optim=configs.OptimConfig(lr_d=1e-3),
                     backprop=backprop)


@pytest.mark.slow
def test_adversary_adds_lazy_r1_every_n_steps_and_the_gradient_penalty():
    adversary = linear_adversary(gan="wgan", r1=0.5, r1_every=4, gradient_penalty=2.0)
    weight = adversary.discriminator[1].weight.detach().clone()
    real, fake = torch.rand(3, 3, 4, 4), torch.rand(3, 3, 4, 4)
    with torch.no_grad():
        wgan = (adversary.discriminator(fake).mean() - adversary.discriminator(real).mean()).item()
    norm_squared = weight.pow(2).sum().item()
    losses: dict[str, float] = {}
    adversary.update(adversary.discriminator, real, fake, step=8, losses=losses)
    assert losses["d/r1"] == pytest.approx(norm_squared, rel=1e-5)
    assert losses["d/gp"] == pytest.approx((norm_squared**0.5 - 1) ** 2, rel=1e-5)
    assert losses["d/loss"] == pytest.approx(wgan + 0.5 * 4 * losses["d/r1"] + 2.0 * losses["d/gp"], rel=1e-5)
    assert not torch.equal(weight, adversary.discriminator[1].weight)
    losses = {}
    adversary.update(adversary.discriminator, real, fake, step=9, losses=losses)
    assert "d/r1" not in losses and "d/gp" in losses


@pytest.mark.slow
def test_adversary_switches_on_at_gan_start_and_its_generator_term_leaves_d_frozen():
    adversary = linear_adversary(gan="hinge", gan_start=3, adversarial=0.1)
    assert not adversary.active(2) and adversary.active(3)
    assert not linear_adversary(adversarial=0.0).active(10)
    fake = torch.rand(2, 3, 4, 4, requires_grad=True)
    adversary.generator_loss(adversary.discriminator, fake).backward()
    assert fake.grad is not None and all(p.grad is None for p in adversary.discriminator.parameters())


def test_processes_draw_distinct_samples_that_together_make_one_process_batches():
    def first(sampler: CountingSampler, count: int) -> list[int]:
        iterator = iter(sampler)
        return [next(iterator) for _ in range(count)]

    assert first(CountingSampler(3, batch_size=4), 8) == list(range(12, 20))
    rank0 = first(CountingSampler(3, batch_size=2, rank=0, world_size=2), 4)
    rank1 = first(CountingSampler(3, batch_size=2, rank=1, world_size=2), 4)
    assert rank0 == [12, 13, 16, 17] and rank1 == [14, 15, 18, 19]


# -- data-parallel training ---------------------------------------------------------------------------------

def logged_scalars(out_dir: Path) -> dict[str, list[float]]:
    """The scalars of the run's single TensorBoard events file, by tag, in step order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = list((out_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert len(files) == 1, files
    events = EventAccumulator(str(files[0]))
    events.Reload()
    return {tag: [event.value for event in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


LEAVING_SCRIPT = """
import os, sys, torch
from patina.training.distributed import ProcessGroup
group = ProcessGroup.from_environment()
group.start(torch.device("cpu"))
import torch.distributed.nn  # what torch's compiler stack imports mid-run (its defaults hold group.WORLD)
group.barrier()
group.end()
names = [open(f"/proc/self/task/{task}/comm").read() for task in os.listdir("/proc/self/task")]
with open(f"{sys.argv[1]}/rank{os.environ['RANK']}.txt", "w") as report:  # one file each: shared stdout interleaves
    report.write(str(sum("gloo" in name for name in names)))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="lists threads through /proc")
def test_leaving_the_process_group_stops_its_threads(tmp_path):
    """After `ProcessGroup.end` no gloo thread is left to free tensors while the interpreter shuts down (which
    aborted a process now and then), even when a module holding ``group.WORLD`` is imported after the start."""
    script = tmp_path / "leave.py"
    script.write_text(LEAVING_SCRIPT)
    env = {**{k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")},
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
                             str(script), str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [(tmp_path / f"rank{rank}.txt").read_text() for rank in (0, 1)] == ["0", "0"]  # gloo threads left


@pytest.mark.slow
def test_two_processes_train_like_one_with_the_same_global_batch(tmp_path):
    """torchrun with 2 CPU processes (gloo), batch 2 each, logs the losses one process with batch 4 logs
    (same samples; gradients averaged), within 1e-5 relative, and rank 0 alone writes the run's files."""
    from patina.training.upscale_trainer import UpscaleTrainer

    folder = tmp_path / "clean"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(6):
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(folder / f"img{index}.png")
    cfg = load_yaml(configs.UpscaleTrainConfig, ROOT / "configs/upscale-tiny.yaml")
    cfg.data.roots, cfg.data.crop, cfg.data.batch_size, cfg.data.holdout_every = [str(folder)], 32, 2, 3
    cfg.degradation, cfg.sharpen_target, cfg.generator = "bicubic", False, {"channels": 8, "convs": 2}
    cfg.discriminator = {"width": 8}
    cfg.loss.perceptual, cfg.loss.gan_start, cfg.loss.r1, cfg.loss.r1_every = 0.0, 1, 1.0, 2
    cfg.log_every, cfg.checkpoint_every, cfg.validate_every, cfg.image_every = 1, 2, 100, 100
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(to_dict(cfg)))
    env = {**{k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")},
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
                             "-m", "patina", "train", "upscale", "--config", str(config),
                             "--out-dir", str(tmp_path / "two"), "--no-progress"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("done at step 4") == 1 and result.stdout.count("step 3 (") == 1  # rank 0 alone

    cfg.data.batch_size, cfg.out_dir = 4, str(tmp_path / "one")
    UpscaleTrainer(cfg, progress=False).fit()
    one, two = logged_scalars(tmp_path / "one"), logged_scalars(tmp_path / "two")
    losses = [tag for tag in one if tag.startswith(("g/", "d/"))]
    assert {"g/pixel", "g/adversarial", "d/loss", "d/r1"} <= set(losses) and set(losses) <= set(two)
    for tag in losses:
        assert np.allclose(two[tag], one[tag], rtol=1e-5, atol=1e-7), (tag, one[tag], two[tag])
    checkpoint = load_checkpoint(tmp_path / "two/checkpoint.pt")
    reference = load_checkpoint(tmp_path / "one/checkpoint.pt")
    assert checkpoint["step"] == 4 and not list((tmp_path / "two").glob("*.tmp"))
    for key, value in reference["ema_generator"].items():
        assert torch.allclose(checkpoint["ema_generator"][key], value, rtol=1e-4, atol=1e-6), key
    assert (tmp_path / "two/export/upscale-tiny.safetensors").is_file()
