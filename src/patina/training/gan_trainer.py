"""What every GAN trainer shares: schedule, AMP, clipping, the fit loop, checkpoints, exact resume, export cards.

A task's trainer subclasses :class:`GanTrainer`, builds its networks and optimisers ``opt_g`` / ``opt_d``
(``opt_d`` None for a run without a discriminator),
lists in ``state_names`` the attributes a checkpoint holds, and implements :meth:`train_step`,
:meth:`data_loader`, :meth:`validate` and :meth:`export`.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from patina import __version__
from patina.core.config import to_dict
from patina.core.device import autocast_dtype, precision_name, select_device
from patina.core.errors import ConfigError
from patina.losses import discriminator_loss, gradient_penalty, r1_penalty
from patina.training.checkpoint import load_checkpoint, save_checkpoint
from patina.training.datasets import CountingSampler, single_threaded_worker
from patina.training.tracking import TrainingLog, progress_bar
from patina.weights import ModelCard, load_model

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
class StepResult:
    """Losses of one training step, and image batches worth showing side by side (``label`` names them)."""

    losses: dict[str, float]
    images: list[torch.Tensor]
    label: str


class GanTrainer:
    """Alternating D and G steps with autocast (``optim.amp``: on CUDA, and bf16 on CPUs that compute it natively),
    gradient clipping, a warm-up + cosine schedule and exact resume.

    ``config`` needs: name, seed, out_dir, device, optim (lr_g, lr_d, steps, warmup, grad_clip, amp),
    loss (a GanLossConfig), log_every, image_every, validate_every and checkpoint_every.
    """

    state_names: tuple[str, ...] = ()
    discriminator: nn.Module | None = None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None = None

    def __init__(self, config: Any, *, progress: bool = True) -> None:
        self.config = config
        self.progress = progress
        self.device = select_device(config.device)
        torch.manual_seed(config.seed)
        self.amp_dtype = autocast_dtype(self.device, cpu_bf16=True) if config.optim.amp else None
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        self.step = 0

    # -- hooks ---------------------------------------------------------------------------------------
    def train_step(self, batch: dict[str, torch.Tensor]) -> StepResult:
        raise NotImplementedError

    def data_loader(self) -> DataLoader:
        raise NotImplementedError

    def validate(self) -> dict[str, float]:
        raise NotImplementedError

    def export(self, folder: str | Path) -> list[ModelCard]:
        raise NotImplementedError

    def resuming_loader(self, dataset: Dataset) -> DataLoader:
        """A loader over an endless, index-seeded dataset that resumes at the first sample this step has not seen."""
        data = self.config.data
        return DataLoader(dataset, batch_size=data.batch_size, sampler=CountingSampler(self.step * data.batch_size),
                          num_workers=data.workers, pin_memory=self.device.type == "cuda",
                          persistent_workers=data.workers > 0, prefetch_factor=4 if data.workers else None,
                          worker_init_fn=single_threaded_worker)

    # -- shared step plumbing ------------------------------------------------------------------------
    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp_dtype is not None)

    def _set_learning_rates(self) -> None:
        """Warm-up + cosine schedule, a pure function of the step (so resume needs no scheduler state)."""
        optim = self.config.optim
        factor = warmup_cosine(self.step, warmup=optim.warmup, total=optim.steps)
        for optimizer, base in ((self.opt_g, optim.lr_g), (self.opt_d, optim.lr_d)):
            for group in optimizer.param_groups if optimizer is not None else ():
                group["lr"] = base * factor

    def discriminator_step(self, discriminate: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                           fake: torch.Tensor, losses: dict[str, float]) -> None:
        """One D update on real vs (detached) generated samples, with the R1 / WGAN-GP penalties the
        config's ``loss`` asks for; records ``d/*`` in ``losses``. ``discriminate`` adds any condition."""
        loss_cfg = self.config.loss
        assert self.discriminator is not None and self.opt_d is not None
        self.discriminator.requires_grad_(True)
        with self._autocast():
            d_loss = discriminator_loss(loss_cfg.gan, discriminate(real), discriminate(fake.detach()))
        if loss_cfg.r1 and self.step % loss_cfg.r1_every == 0:
            penalty = r1_penalty(lambda x: discriminate(x).float(), real)
            d_loss = d_loss + loss_cfg.r1 * loss_cfg.r1_every * penalty
            losses["d/r1"] = penalty.item()
        if loss_cfg.gradient_penalty:
            penalty = gradient_penalty(lambda x: discriminate(x).float(), real, fake)
            d_loss = d_loss + loss_cfg.gradient_penalty * penalty
            losses["d/gp"] = penalty.item()
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(d_loss).backward()
        self._clip_and_step(self.opt_d, self.discriminator.parameters())
        losses["d/loss"] = d_loss.item()

    def update_generator(self, g_loss: torch.Tensor, losses: dict[str, float], parameters,
                         emas: list[tuple[Any, nn.Module]]) -> None:
        """Backward ``g_loss``, clip and step the G optimiser over ``parameters``, update each (EMA, network)
        pair, record ``g/loss`` and count the step."""
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(g_loss).backward()
        self._clip_and_step(self.opt_g, parameters)
        self.scaler.update()
        for ema, network in emas:
            ema.update(network)
        losses["g/loss"] = g_loss.item()
        self.step += 1

    def _clip_and_step(self, optimizer: torch.optim.Optimizer, params) -> None:
        self.scaler.unscale_(optimizer)
        if self.config.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(list(params), self.config.optim.grad_clip)
        self.scaler.step(optimizer)

    def card_fields(self, task: str, *, data: list[str], **training: Any) -> dict[str, Any]:
        """The ModelCard fields every exported network of this run shares (``training.precision``: the
        autocast dtype the run used, since ``optim.amp`` alone does not say whether this CPU had bf16)."""
        device_name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu"
        return dict(version=__version__, task=task, data=list(data), steps=self.step, device=device_name,
                    training={"config": to_dict(self.config), "precision": precision_name(self.amp_dtype), **training})

    # -- checkpoints -----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        state = {"step": self.step, "config": to_dict(self.config), "version": __version__,
                 "scaler": self.scaler.state_dict()}
        state.update({name: getattr(self, name).state_dict() for name in self.state_names})
        return state

    def load_state_dict(self, state: dict) -> None:
        self.step = state["step"]
        for name in (*self.state_names, "scaler"):
            getattr(self, name).load_state_dict(state[name])

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
        """Checkpoint for resume, plus the exported (EMA) networks in ``out_dir/export``."""
        save_checkpoint(self.state_dict(), self.checkpoint_path)
        self.export(Path(self.config.out_dir) / "export")

    # -- the loop --------------------------------------------------------------------------------------
    def fit(self, max_minutes: float | None = None) -> None:
        """Train until ``optim.steps`` (or ``max_minutes`` of wall time), logging, validating and checkpointing."""
        cfg = self.config
        log = TrainingLog(cfg.out_dir)
        started, start_step = time.monotonic(), self.step
        batches = iter(self.data_loader())
        try:
            with progress_bar(self.progress) as bar:
                task = bar.add_task(f"train {cfg.name}", total=cfg.optim.steps, completed=self.step, status="")
                while self.step < cfg.optim.steps:
                    result = self.train_step(next(batches))
                    bar.update(task, completed=self.step, status=f"G {result.losses['g/loss']:.4f}")
                    if self.step % cfg.log_every == 0 or self.step == cfg.optim.steps:
                        log.scalars({**result.losses, "lr/g": self.opt_g.param_groups[0]["lr"]}, self.step)
                        if not self.progress:
                            rate = (self.step - start_step) / max(1e-9, time.monotonic() - started)
                            print(f"step {self.step} ({rate:.2f} it/s) "
                                  + " ".join(f"{k} {v:.4f}" for k, v in result.losses.items()), flush=True)
                    if self.step % cfg.image_every == 0:
                        log.images(result.label, result.images, self.step)
                    if self.step % cfg.validate_every == 0:
                        metrics = self.validate()
                        log.scalars(metrics, self.step)
                        if metrics:
                            bar.console.print(f"step {self.step}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
                    if self.step % cfg.checkpoint_every == 0:
                        self.save()
                    if max_minutes is not None and time.monotonic() - started > max_minutes * 60:
                        break
        finally:
            log.close()
        self.save()
