"""The trainer kit: one :class:`Trainer` runs every task's training (data, steps, schedule, autocast,
clipping, EMA, an optional :class:`~patina.training.adversary.Adversary`, named loss terms, checkpoints,
exact resume, logging, data-parallel processes under torchrun).

A task subclasses it and, in its constructor, builds its networks, registers those the generator
optimiser trains with :meth:`Trainer.train_generator` (which starts them from ``init_from`` and gives
them EMAs) and, for a GAN, sets ``self.adversary``. Its hooks: :meth:`generate` (one generator pass:
named loss terms, what D compares, images to log), :meth:`validate` and :meth:`export`; optionally
:meth:`training_set`, :meth:`list_training_files` and :meth:`initialise_from`.
"""

from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from patina import __version__
from patina.core.config import to_dict
from patina.core.device import precision_name
from patina.core.errors import ConfigError
from patina.data import list_images, split_holdout
from patina.losses import PerceptualLoss, VGGTeacher
from patina.training.adversary import Adversary, Discriminate
from patina.training.backprop import Backprop
from patina.training.checkpoint import load_checkpoint, save_checkpoint
from patina.training.datasets import CleanCrops, CountingSampler, sample_seed, single_threaded_worker
from patina.training.distributed import ProcessGroup
from patina.training.ema import EMA
from patina.training.loss_terms import LossTerm, LossTerms, loss_weights
from patina.training.teachers import teacher_entry
from patina.training.tracking import TrainingLog, progress_bar
from patina.weights import ModelCard, card_path, load_model, save_model

CHECKPOINT_NAME = "checkpoint.pt"


def warmup_cosine(step: int, *, warmup: int, total: int) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to 10%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def kwargs_of(model: nn.Module, given: dict) -> dict:
    """The constructor kwargs a checkpoint must store: the defaults of the architecture overridden by ``given``."""
    defaults = {name: p.default for name, p in inspect.signature(type(model).__init__).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in {**defaults, **given}.items()}


def init_source(path: Path, arch: str) -> nn.Module:
    """The network an ``init_from`` file holds, checked to be an ``arch``."""
    source, card = load_model(path)
    if card.arch != arch:
        raise ConfigError(f"init_from {path}: a {card.arch}, not a {arch}")
    return source


def load_init_state(network: nn.Module, state: dict[str, torch.Tensor], path: Path, what: str) -> None:
    """Load ``state`` (from the ``init_from`` file ``path``) into ``network``, the configured ``what``."""
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(f"init_from {path}: weights do not fit the configured {what} ({exc})") from None


@dataclass
class Generated:
    """One generator pass of a task: its named loss terms (weighted by the config, see :class:`LossTerms`),
    images worth showing side by side (``label`` names them), values only logged, and what the adversary
    compares: ``real`` and ``fake`` (not detached) samples through ``discriminate`` (D with the task's
    condition). ``adversarial_terms`` are further terms using D, computed after the adversarial one."""

    terms: dict[str, LossTerm]
    images: list[torch.Tensor]
    label: str
    real: torch.Tensor | None = None
    fake: torch.Tensor | None = None
    discriminate: Discriminate | None = None
    adversarial_terms: dict[str, LossTerm] = field(default_factory=dict)
    logged: dict[str, float] = field(default_factory=dict)


@dataclass
class StepResult:
    """Losses of one training step, and image batches worth showing side by side (``label`` names them)."""

    losses: dict[str, float]
    images: list[torch.Tensor]
    label: str


class Trainer:
    """Generator steps (after a D step when the adversary is on) with autocast, gradient clipping, a warm-up
    + cosine schedule, EMAs, exact resume and, under torchrun, data-parallel processes.

    ``config`` needs: name, seed, out_dir, device, init_from, data, optim (lr_g, lr_d, betas, steps, warmup,
    grad_clip, ema_decay, amp), log_every, image_every, validate_every, checkpoint_every, and for loss
    terms ``loss`` (its numeric fields are the terms' weights).
    """

    task: str = ""
    """The ``task`` of the exported model cards."""

    def __init__(self, config: Any, *, progress: bool = True) -> None:
        self.config = config
        self.progress = progress
        self.group = ProcessGroup.from_environment()
        self.device = self.group.device(config.device)
        self.group.start(self.device)
        torch.manual_seed(config.seed)
        self.backprop = Backprop(device=self.device, amp=config.optim.amp, grad_clip=config.optim.grad_clip,
                                 group=self.group)
        self.amp_dtype, self.scaler = self.backprop.amp_dtype, self.backprop.scaler
        self.step = 0
        self.networks: dict[str, nn.Module] = {}
        self.emas: dict[str, EMA] = {}
        self.adversary: Adversary | None = None
        self.loss_terms = LossTerms(loss_weights(config.loss) if hasattr(config, "loss") else {})
        self.train_files, self.val_files = self.list_training_files()

    # -- task hooks ------------------------------------------------------------------------------------
    def generate(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> Generated:
        """One generator pass on ``batch`` (torch's generator and ``rng`` are seeded for this step)."""
        raise NotImplementedError

    def validate(self) -> dict[str, float]:
        raise NotImplementedError

    def export(self, folder: str | Path) -> list[ModelCard]:
        raise NotImplementedError

    def list_training_files(self) -> tuple[list[Path], list[Path]]:
        """Training and held-out images: every ``data.holdout_every``-th file of ``data.roots`` is held out."""
        return split_holdout(list_images(self.config.data.roots), self.config.data.holdout_every)

    def training_set(self) -> Dataset:
        """The endless, index-seeded training samples: clean crops of the training images by default."""
        data = self.config.data
        return CleanCrops(self.train_files, crop=data.crop, scale_range=data.scale_range, seed=self.config.seed)

    def initialise_from(self, path: Path) -> None:
        """Start the registered networks from the ``init_from`` weights at ``path``."""
        raise ConfigError(f"init_from is not supported by {type(self).__name__}")

    def initialise(self) -> None:
        """Prepare the registered networks before their EMAs copy them: load ``init_from`` when set."""
        if self.config.init_from:
            self.initialise_from(Path(self.config.init_from))

    # -- set-up helpers ------------------------------------------------------------------------------
    def train_generator(self, networks: dict[str, nn.Module], *, ema: bool = True) -> list[EMA]:
        """Register the networks the generator optimiser trains (checkpointed under their names), start
        them (:meth:`initialise`), give each an EMA (``ema_<name>``) unless not ``ema``; returns the EMAs."""
        self.networks = networks
        self.initialise()
        if ema:
            self.emas = {name: EMA(network, self.config.optim.ema_decay) for name, network in networks.items()}
        optim = self.config.optim
        self.opt_g = torch.optim.Adam(self.generator_parameters(), lr=optim.lr_g, betas=optim.betas)
        return list(self.emas.values())

    def make_adversary(self, discriminator: nn.Module) -> Adversary:
        """An :class:`Adversary` around ``discriminator`` (moved to the device), from the config's loss and optim."""
        return Adversary(discriminator.to(self.device), loss=self.config.loss, optim=self.config.optim,
                         backprop=self.backprop)

    def perceptual_loss(self, weight: float | None = None) -> PerceptualLoss | None:
        """The VGG perceptual loss when ``weight`` (default ``loss.perceptual``) is not 0 and ``loss.teacher``
        exists, else None."""
        teacher = self.config.loss.teacher
        weight = self.config.loss.perceptual if weight is None else weight
        if not weight or not teacher or not Path(teacher).is_file():
            return None
        return PerceptualLoss(VGGTeacher.from_file(teacher)).to(self.device)

    def generator_parameters(self) -> list[nn.Parameter]:
        return [p for network in self.networks.values() for p in network.parameters()]

    @property
    def discriminator(self) -> nn.Module | None:
        return self.adversary.discriminator if self.adversary else None

    @property
    def gan(self) -> Adversary:
        """The adversary of a task that always has one (its ``generate`` hooks use it while it is active)."""
        if self.adversary is None:
            raise RuntimeError(f"{type(self).__name__} has no adversary")
        return self.adversary

    @property
    def is_main(self) -> bool:
        """Whether this process logs, validates, checkpoints and exports (always, without torchrun)."""
        return self.group.is_main

    def data_loader(self) -> DataLoader:
        """This process's share of :meth:`training_set`, resuming at the first sample the current step has not seen."""
        data = self.config.data
        sampler = CountingSampler(self.step, batch_size=data.batch_size, rank=self.group.rank,
                                  world_size=self.group.world_size)
        return DataLoader(self.training_set(), batch_size=data.batch_size, sampler=sampler,
                          num_workers=data.workers, pin_memory=self.device.type == "cuda",
                          persistent_workers=data.workers > 0, prefetch_factor=4 if data.workers else None,
                          worker_init_fn=single_threaded_worker)

    def autocast(self) -> torch.autocast:
        return self.backprop.autocast()

    # -- one step ------------------------------------------------------------------------------------
    def _set_learning_rates(self) -> None:
        """Warm-up + cosine schedule, a pure function of the step (so resume needs no scheduler state)."""
        optim = self.config.optim
        factor = warmup_cosine(self.step, warmup=optim.warmup, total=optim.steps)
        optimizers = [(self.opt_g, optim.lr_g)] + ([(self.adversary.optimizer, optim.lr_d)] if self.adversary else [])
        for optimizer, base in optimizers:
            for group in optimizer.param_groups:
                group["lr"] = base * factor

    def train_step(self, batch: dict[str, torch.Tensor]) -> StepResult:
        """One D step (when the adversary is on) then one generator step, its EMAs updated."""
        seed = sample_seed(self.config.seed, self.step, self.group.rank)
        torch.manual_seed(seed)
        self._set_learning_rates()
        out = self.generate(batch, np.random.default_rng(seed))
        losses: dict[str, float] = {}
        terms = dict(out.terms)
        adversary = self.adversary
        if adversary is not None and adversary.active(self.step):
            discriminate, real, fake = out.discriminate, out.real, out.fake
            if discriminate is None or real is None or fake is None:
                raise ValueError(f"{type(self).__name__}.generate gave no discriminate, real and fake "
                                 "for the adversary")
            adversary.update(discriminate, real, fake, step=self.step, losses=losses)
            terms["adversarial"] = lambda: adversary.generator_loss(discriminate, fake)
            terms.update(out.adversarial_terms)
        g_loss = self.loss_terms.total(terms, losses)
        losses.update(out.logged)
        self.backprop.step(self.opt_g, g_loss, self.generator_parameters())
        self.scaler.update()
        for name, ema in self.emas.items():
            ema.update(self.networks[name])
        losses["g/loss"] = g_loss.item()
        self.step += 1
        return StepResult(losses, out.images, out.label)

    # -- export ----------------------------------------------------------------------------------------
    def card_fields(self, task: str, *, data: list[str], **training: Any) -> dict[str, Any]:
        """The ModelCard fields every exported network of this run shares (``training.precision``: the
        autocast dtype the run used, since ``optim.amp`` alone does not say whether this CPU had bf16)."""
        device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"
        return dict(version=__version__, task=task, data=list(data), steps=self.step, device=device_name,
                    teachers=self.teachers(),
                    training={"config": to_dict(self.config), "precision": precision_name(self.amp_dtype), **training})

    def teachers(self) -> list[dict[str, str]]:
        """The card entries of this run's teachers, then those of :meth:`inherited_cards`, each teacher once."""
        entries = [teacher_entry(path) for path in self.teacher_files()]
        for path in self.inherited_cards():
            if path.is_file():
                entries += ModelCard.read(path).teachers
        unique: dict[str, dict[str, str]] = {}
        for entry in entries:
            unique.setdefault(entry["sha256"], entry)
        return list(unique.values())

    def inherited_cards(self) -> list[Path]:
        """Cards of trained weights this run starts from, whose teachers its networks inherit: the ``init_from``
        weights' (what a fine-tuned network learnt before this run); a task that copies in more adds them."""
        init_from = self.config.init_from
        return [card_path(init_from)] if init_from else []

    def teacher_files(self) -> list[Path]:
        """The teacher networks' files this run learns from (its perceptual loss's teacher, when it has one);
        a task with other teachers adds them."""
        if getattr(self, "perceptual", None) is not None:
            return [Path(self.config.loss.teacher)]
        return []

    def save_network(self, network: nn.Module, folder: str | Path, *, name: str, arch: str, kwargs: dict,
                     data: list[str] | None = None, **training: Any) -> ModelCard:
        """Write ``network`` as ``folder/<name>.safetensors`` with its card (``data``: ``data.roots`` when None)."""
        common = self.card_fields(self.task, data=self.config.data.roots if data is None else data, **training)
        card = ModelCard(name=name, arch=arch, kwargs=kwargs, **common)
        return save_model(network, Path(folder) / f"{name}.safetensors", card)

    # -- checkpoints -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        state = {"step": self.step, "config": to_dict(self.config), "version": __version__,
                 "scaler": self.scaler.state_dict(), "opt_g": self.opt_g.state_dict()}
        state.update({name: network.state_dict() for name, network in self.networks.items()})
        state.update({f"ema_{name}": ema.state_dict() for name, ema in self.emas.items()})
        if self.adversary is not None:
            state.update(self.adversary.state_dict())
        return state

    def load_state_dict(self, state: dict) -> None:
        self.step = state["step"]
        self.scaler.load_state_dict(state["scaler"])
        self.opt_g.load_state_dict(state["opt_g"])
        for name, network in self.networks.items():
            network.load_state_dict(state[name])
        for name, ema in self.emas.items():
            ema.load_state_dict(state[f"ema_{name}"])
        if self.adversary is not None:
            self.adversary.load_state_dict(state)

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.config.out_dir) / CHECKPOINT_NAME

    def resume_if_possible(self) -> bool:
        """Load ``out_dir/checkpoint.pt`` if it exists; True if it did."""
        if not self.checkpoint_path.is_file():
            return False
        self.load_state_dict(load_checkpoint(self.checkpoint_path))
        return True

    def save(self) -> None:
        """Checkpoint for resume, plus the exported (EMA) networks in ``out_dir/export`` (rank 0 only)."""
        if self.is_main:
            save_checkpoint(self.state_dict(), self.checkpoint_path)
            self.export(Path(self.config.out_dir) / "export")
        self.group.barrier()

    # -- the loop --------------------------------------------------------------------------------------
    def fit(self, max_minutes: float | None = None) -> None:
        """Train until ``optim.steps`` (or ``max_minutes`` of wall time), logging, validating and checkpointing."""
        cfg, main = self.config, self.is_main
        self.group.broadcast([*self.networks.values(), *(ema.shadow for ema in self.emas.values()),
                              *([self.adversary.discriminator] if self.adversary else [])])
        log = TrainingLog(cfg.out_dir) if main else None
        started, start_step = time.monotonic(), self.step
        batches = iter(self.data_loader())
        try:
            with progress_bar(self.progress and main) as bar:
                task = bar.add_task(f"train {cfg.name}", total=cfg.optim.steps, completed=self.step, status="")
                while self.step < cfg.optim.steps:
                    result = self.train_step(next(batches))
                    bar.update(task, completed=self.step, status=f"G {result.losses['g/loss']:.4f}")
                    if self.step % cfg.log_every == 0 or self.step == cfg.optim.steps:
                        losses = self.group.average(result.losses, self.device)
                        if log is not None:
                            log.scalars({**losses, "lr/g": self.opt_g.param_groups[0]["lr"]}, self.step)
                        if main and not self.progress:
                            rate = (self.step - start_step) / max(1e-9, time.monotonic() - started)
                            print(f"step {self.step} ({rate:.2f} it/s) "
                                  + " ".join(f"{k} {v:.4f}" for k, v in losses.items()), flush=True)
                    if log is not None and self.step % cfg.image_every == 0:
                        log.images(result.label, result.images, self.step)
                    if log is not None and self.step % cfg.validate_every == 0:
                        metrics = self.validate()
                        log.scalars(metrics, self.step)
                        if metrics:
                            shown = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
                            bar.console.print(f"step {self.step}: {shown}")
                    if self.step % cfg.checkpoint_every == 0:
                        self.save()
                    out_of_time = max_minutes is not None and time.monotonic() - started > max_minutes * 60
                    if max_minutes is not None and self.group.any(out_of_time, self.device):
                        break
        finally:
            if log is not None:
                log.close()
        self.save()
        self.group.end()
